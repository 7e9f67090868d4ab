import { SCOPE_CLAIMS } from '../oidc/claims.ts';

/**
 * What a token may read from the person API. Derived from the claims its scopes release
 * (oidc/claims.ts SCOPE_CLAIMS), so the API and /me follow one rule: `profile` gives what
 * fullname + birthdate + gender give, `phone` what `mobile` gives, `address` what `addresses` gives.
 */
export interface PersonAccess {
  /** firstName, lastName, middleName, citizenship. */
  names: boolean;
  birthDate: boolean;
  gender: boolean;
  birthPlace: boolean;
  snils: boolean;
  inn: boolean;
  /** rIdDoc and the documents collection. */
  documents: boolean;
  /** Contacts of type MBT / EML: `contacts` gives both. */
  mobile: boolean;
  email: boolean;
  addresses: boolean;
}

export function personAccess(scopes: Set<string>): PersonAccess {
  const claims = new Set<string>();
  for (const scope of scopes) {
    if (Object.hasOwn(SCOPE_CLAIMS, scope)) for (const claim of SCOPE_CLAIMS[scope as keyof typeof SCOPE_CLAIMS]) claims.add(claim);
  }
  const allContacts = claims.has('urn:esia:contacts');
  return {
    names: claims.has('family_name'),
    birthDate: claims.has('birthdate'),
    gender: claims.has('gender'),
    birthPlace: claims.has('place_of_birth'),
    snils: claims.has('urn:esia:snils'),
    inn: claims.has('urn:esia:inn'),
    documents: claims.has('urn:esia:id_doc'),
    mobile: allContacts || claims.has('phone_number'),
    email: allContacts || claims.has('email'),
    addresses: claims.has('address'),
  };
}

export const COLLECTIONS = ['contacts', 'addresses', 'documents'] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

export function mayReadCollection(access: PersonAccess, collection: CollectionName): boolean {
  if (collection === 'contacts') return access.mobile || access.email;
  return access[collection];
}

/** The ESIA scope to name in `WWW-Authenticate: … scope="…"` when a collection is refused. */
export const COLLECTION_SCOPE: Record<CollectionName, string> = { contacts: 'contacts', addresses: 'addresses', documents: 'id_doc' };
