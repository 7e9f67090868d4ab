import type { DbOrTrx } from '../db/database.ts';
import type { Citizen, CitizenAddress, CitizenDocument } from '../citizens/citizen.table.ts';
import { findPassportAndAddresses } from '../citizens/citizens.repository.ts';

/**
 * Which claims each scope releases. ESIA scope names sit beside the standard OIDC scopes, which
 * are accepted as aliases (`profile`, `phone`, `address`; `email` is both). ESIA data that has no
 * OIDC claim travels in `urn:esia:*` claims.
 */
export const SCOPE_CLAIMS = {
  openid: ['sub', 'acr', 'amr', 'urn:esia:sbj', 'urn:esia:sid', 'urn:esia:amd', 'urn:esia:org', 'act', 'urn:esia:acting_for', 'merged_oids'],
  fullname: ['name', 'family_name', 'given_name', 'middle_name'],
  birthdate: ['birthdate'],
  gender: ['gender'],
  birthplace: ['place_of_birth'],
  snils: ['urn:esia:snils'],
  inn: ['urn:esia:inn'],
  id_doc: ['urn:esia:id_doc'],
  email: ['email', 'email_verified'],
  mobile: ['phone_number', 'phone_number_verified'],
  contacts: ['urn:esia:contacts'],
  addresses: ['address', 'urn:esia:addresses'],
  // The citizen's children: REST only (/rs/prns/{oid}/kids, src/family), no claims.
  kid_fullname: [],
  kid_birthdate: [],
  kid_gender: [],
  kid_snils: [],
  kid_birth_cert_doc: [],
  // The organisation chosen at login (src/acting): each org_* scope adds its field to urn:esia:org;
  // usr_org lists every organisation the citizen belongs to.
  usr_org: ['urn:esia:usr_org'],
  org_fullname: ['urn:esia:org'],
  org_shortname: ['urn:esia:org'],
  org_type: ['urn:esia:org'],
  org_ogrn: ['urn:esia:org'],
  org_inn: ['urn:esia:org'],
  org_kpp: ['urn:esia:org'],
  // Standard OIDC scopes, as aliases of the ESIA ones.
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'birthdate', 'gender'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
} as const;

export type SupportedScope = keyof typeof SCOPE_CLAIMS | 'offline_access';
export const SUPPORTED_SCOPES: string[] = [...Object.keys(SCOPE_CLAIMS), 'offline_access'];

/** Claims that only the `claims` request parameter can ask for (OpenID Connect for Identity Assurance). */
export const STANDALONE_CLAIMS = ['verified_claims'] as const;

/** The citizen's data a claim set may draw on; documents and addresses are loaded only when a scope needs them. */
export interface CitizenRecord {
  citizen: Citizen;
  passport?: CitizenDocument;
  addresses?: CitizenAddress[];
  /** OIDs of duplicate accounts linked into this one (src/merge), as strings like `sub`. */
  mergedOids?: string[];
}

export function scopesNeedDocuments(scopes: Set<string>): boolean {
  return scopes.has('id_doc');
}

export function scopesNeedAddresses(scopes: Set<string>): boolean {
  return scopes.has('addresses') || scopes.has('address');
}

export async function loadCitizenRecord(db: DbOrTrx, citizen: Citizen, needs: { documents: boolean; addresses: boolean }): Promise<CitizenRecord> {
  // Both (userinfo with id_doc and addresses): one round trip instead of two.
  if (needs.documents && needs.addresses) {
    return { citizen, ...(await findPassportAndAddresses(db, citizen.oid)) };
  }
  const [passport, addresses] = await Promise.all([
    needs.documents
      ? db.selectFrom('citizen_documents').selectAll().where('citizen_oid', '=', citizen.oid).where('type', '=', 'RF_PASSPORT').executeTakeFirst()
      : undefined,
    needs.addresses ? db.selectFrom('citizen_addresses').selectAll().where('citizen_oid', '=', citizen.oid).orderBy('type').execute() : undefined,
  ]);
  return { citizen, passport, addresses };
}

/** ESIA writes verification status as VERIFIED / NOT_VERIFIED. */
export function esiaVerificationStatus(status: CitizenDocument['vrf_status']): 'VERIFIED' | 'NOT_VERIFIED' {
  return status === 'verified' ? 'VERIFIED' : 'NOT_VERIFIED';
}

export function formatSnilsPrinted(snils: string): string {
  return `${snils.slice(0, 3)}-${snils.slice(3, 6)}-${snils.slice(6, 9)} ${snils.slice(9)}`;
}

/**
 * Every claim we can state about the citizen; oidc-provider releases only those the granted scopes
 * (or the `claims` parameter) ask for. Session-bound claims (`urn:esia:sid`, `urn:esia:amd`) are
 * added by the caller, which knows the session.
 */
export function citizenClaims({ citizen, passport, addresses, mergedOids }: CitizenRecord): Record<string, unknown> {
  const name = [citizen.last_name, citizen.first_name, citizen.middle_name].filter(Boolean).join(' ');
  const claims: Record<string, unknown> = {
    sub: citizen.oid,
    'urn:esia:sbj': {
      'urn:esia:sbj:typ': 'P',
      'urn:esia:sbj:oid': Number(citizen.oid),
      'urn:esia:sbj:nam': `OID.${citizen.oid}`,
      // ESIA states is_tru only for confirmed accounts.
      ...(citizen.trust_level === 'confirmed' ? { 'urn:esia:sbj:is_tru': true } : {}),
    },
    name,
    family_name: citizen.last_name,
    given_name: citizen.first_name,
  };
  // Strings, as `sub` is: an RP that stored the OID of a now-linked account finds it here unchanged.
  if (mergedOids?.length) claims.merged_oids = [...mergedOids];
  if (citizen.middle_name) claims.middle_name = citizen.middle_name;
  if (citizen.birth_date) claims.birthdate = citizen.birth_date;
  if (citizen.gender) claims.gender = citizen.gender === 'M' ? 'male' : 'female';
  if (citizen.birth_place) claims.place_of_birth = { locality: citizen.birth_place };
  if (citizen.snils) claims['urn:esia:snils'] = formatSnilsPrinted(citizen.snils);
  if (citizen.inn) claims['urn:esia:inn'] = citizen.inn;
  // Contacts on the account were proved with a code (or by an operator): verified by construction.
  if (citizen.email) Object.assign(claims, { email: citizen.email, email_verified: true });
  if (citizen.phone) Object.assign(claims, { phone_number: `+${citizen.phone}`, phone_number_verified: true });
  claims['urn:esia:contacts'] = [
    ...(citizen.phone ? [{ type: 'MBT', value: `+${citizen.phone}`, vrfStu: 'VERIFIED' }] : []),
    ...(citizen.email ? [{ type: 'EML', value: citizen.email, vrfStu: 'VERIFIED' }] : []),
  ];
  if (passport) {
    claims['urn:esia:id_doc'] = {
      type: 'RF_PASSPORT',
      series: passport.series,
      number: passport.number,
      issueDate: passport.issue_date,
      issueId: passport.issue_id,
      issuedBy: passport.issued_by,
      vrfStu: esiaVerificationStatus(passport.vrf_status),
    };
  }
  if (addresses?.length) {
    const registration = addresses.find((a) => a.type === 'PRG') ?? addresses[0];
    claims.address = {
      formatted: registration.address_str,
      ...(registration.zip_code ? { postal_code: registration.zip_code } : {}),
      ...(registration.region ? { region: registration.region } : {}),
      ...(registration.city ? { locality: registration.city } : {}),
      ...(registration.street ? { street_address: [registration.street, registration.house, registration.flat].filter(Boolean).join(', ') } : {}),
      country: 'RU',
    };
    claims['urn:esia:addresses'] = addresses.map((a) => ({
      type: a.type,
      addressStr: a.address_str,
      ...(a.zip_code ? { zipCode: a.zip_code } : {}),
      ...(a.region ? { region: a.region } : {}),
      ...(a.city ? { city: a.city } : {}),
      ...(a.street ? { street: a.street } : {}),
      ...(a.house ? { house: a.house } : {}),
      ...(a.flat ? { flat: a.flat } : {}),
    }));
  }
  return claims;
}
