import type { Membership, OrganisationSummary } from '../organisations/memberships.ts';
import type { ActingContext, StoredChoice } from './acting.service.ts';

/**
 * How the acting context reads in tokens.
 *
 * Access tokens speak for the subject whose data they open: a representative's token names the
 * principal as `sub` and the representative in RFC 8693's `act` claim, with the power's id and
 * rights in `urn:esia:poa`; an employee's token carries the organisation in `urn:esia:org`.
 *
 * ID tokens and userinfo describe the person who authenticated (OpenID Connect Core §2, and
 * oidc-provider ties their `sub` to the session's account), so a representative stays `sub` there
 * and the principal appears in `urn:esia:acting_for` instead of `act`.
 */

/** ESIA's organisation types: ЮЛ is LEGAL, ИП is BUSINESS. */
export function esiaOrganisationType(kind: OrganisationSummary['kind']): 'LEGAL' | 'BUSINESS' {
  return kind === 'legal' ? 'LEGAL' : 'BUSINESS';
}

/** ESIA's subject types: P a person, O an organisation. */
function principalType(kind: 'citizen' | 'organisation'): 'P' | 'O' {
  return kind === 'citizen' ? 'P' : 'O';
}

/** Claims the access token adds for its acting context (merged over the ESIA defaults; `sub` replaces the subject). */
export function accessTokenActingClaims(context: ActingContext, signedInOid: string): Record<string, unknown> {
  if (context.kind === 'organisation') {
    const { organisation, roles } = context.membership;
    return { 'urn:esia:org': { oid: Number(organisation.oid), ogrn: organisation.ogrn, roles } };
  }
  if (context.kind === 'representative') {
    const { power } = context;
    return {
      sub: power.principal.oid,
      'urn:esia:sbj_id': Number(power.principal.oid),
      act: { sub: signedInOid },
      'urn:esia:poa': { id: power.id, rights: power.rights, principal_type: principalType(power.principal.kind) },
    };
  }
  return {};
}

/** The choice an access token was issued for, read back from its claims (JWT payload or opaque token's extra). */
export function choiceFromTokenClaims(claims: Record<string, unknown> | undefined): StoredChoice {
  const poa = claims?.['urn:esia:poa'] as { id?: unknown } | undefined;
  if (poa && (typeof poa.id === 'string' || typeof poa.id === 'number')) return { kind: 'representative', powerId: String(poa.id) };
  const org = claims?.['urn:esia:org'] as { oid?: unknown } | undefined;
  if (org && (typeof org.oid === 'string' || typeof org.oid === 'number')) return { kind: 'organisation', organisationOid: String(org.oid) };
  return { kind: 'person' };
}

/** Which org_* scope releases which field of `urn:esia:org`; `oid` and `roles` always go. */
const ORGANISATION_FIELDS: Array<[scope: string, field: string, value: (o: OrganisationSummary) => unknown]> = [
  ['org_fullname', 'fullName', (o) => o.fullName],
  ['org_shortname', 'shortName', (o) => o.shortName ?? undefined],
  ['org_type', 'type', (o) => esiaOrganisationType(o.kind)],
  ['org_ogrn', 'ogrn', (o) => o.ogrn],
  ['org_inn', 'inn', (o) => o.inn],
  ['org_kpp', 'kpp', (o) => o.kpp ?? undefined],
];

/** Claims of the ID token and userinfo for the acting context, fields filtered by the granted scopes. */
export function identityActingClaims(context: ActingContext, grantedScopes: Set<string>): Record<string, unknown> {
  if (context.kind === 'organisation') {
    const { organisation, roles } = context.membership;
    const described: Record<string, unknown> = { oid: Number(organisation.oid) };
    for (const [scope, field, value] of ORGANISATION_FIELDS) {
      const v = grantedScopes.has(scope) ? value(organisation) : undefined;
      if (v !== undefined) described[field] = v;
    }
    described.roles = roles;
    return { 'urn:esia:org': described };
  }
  if (context.kind === 'representative') {
    const { power } = context;
    return { 'urn:esia:acting_for': { sub: power.principal.oid, type: principalType(power.principal.kind), poa_id: power.id, rights: power.rights } };
  }
  return {};
}

/** `urn:esia:usr_org`: every organisation the citizen belongs to, with their roles. */
export function membershipsClaim(memberships: Membership[]): Array<Record<string, unknown>> {
  return memberships.map(({ organisation, roles }) => ({
    oid: Number(organisation.oid),
    fullName: organisation.fullName,
    ...(organisation.shortName ? { shortName: organisation.shortName } : {}),
    ogrn: organisation.ogrn,
    type: esiaOrganisationType(organisation.kind),
    roles,
  }));
}
