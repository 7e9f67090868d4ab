import { withETag } from '../rest/etag.ts';
import type { Item } from '../rest/person.presenter.ts';
import { formatDateRu, formatSnils } from '../shared/validators.ts';
import type { Child } from './family.tables.ts';

/**
 * ESIA's shapes of a citizen's children (/rs/prns/{oid}/kids): each field only with its scope.
 * `kid_*` scopes release no claims (src/oidc/claims.ts); they are read here, from the token's scopes.
 */
export const KID_SCOPES = ['kid_fullname', 'kid_birthdate', 'kid_gender', 'kid_snils', 'kid_birth_cert_doc'] as const;

export interface KidAccess {
  /** Any kid_* scope: the list and each child's id. */
  any: boolean;
  names: boolean;
  birthDate: boolean;
  gender: boolean;
  snils: boolean;
  /** The birth certificate: /kids/{kidId}/docs. */
  certificate: boolean;
}

export function kidAccess(scopes: Set<string>): KidAccess {
  return {
    any: KID_SCOPES.some((scope) => scopes.has(scope)),
    names: scopes.has('kid_fullname'),
    birthDate: scopes.has('kid_birthdate'),
    gender: scopes.has('kid_gender'),
    snils: scopes.has('kid_snils'),
    certificate: scopes.has('kid_birth_cert_doc'),
  };
}

export function presentKid(child: Child, access: KidAccess): Item {
  return withETag({
    id: Number(child.id),
    stateFacts: ['Identifiable'],
    ...(access.names && {
      firstName: child.first_name,
      lastName: child.last_name,
      ...(child.middle_name && { middleName: child.middle_name }),
    }),
    ...(access.birthDate && { birthDate: formatDateRu(child.birth_date) }),
    ...(access.gender && { gender: child.gender }),
    ...(access.snils && child.snils && { snils: formatSnils(child.snils) }),
  });
}

/**
 * The birth certificate as a document of the child. A record holds one certificate, so the
 * document's id is the child's id. Only verified children reach the API, hence VERIFIED.
 */
export function presentBirthCertificate(child: Child): Item {
  return withETag({
    id: Number(child.id),
    stateFacts: ['Identifiable'],
    type: 'BRTH_CERT',
    series: child.cert_series,
    number: child.cert_number,
    issueDate: formatDateRu(child.cert_issue_date),
    issuedBy: child.cert_issued_by,
    vrfStu: child.check_status === 'verified' ? 'VERIFIED' : 'NOT_VERIFIED',
  });
}
