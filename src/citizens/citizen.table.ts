import type { ColumnType, Generated, Selectable } from 'kysely';

export const TRUST_LEVELS = ['simplified', 'standard', 'confirmed'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

/** A `date` column: pg returns it as a Date at local midnight unless told otherwise; we read it as 'yyyy-MM-dd'. */
export type DateColumn = ColumnType<string, string, string>;

export interface CitizensTable {
  /** ESIA-like numeric OID; bigint comes back from pg as a string. */
  oid: ColumnType<string, string | undefined, never>;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  /** The confirmed login contacts: set only after a code proved them (or by an operator). */
  phone: string | null;
  email: string | null;
  password_hash: string;
  trust_level: ColumnType<TrustLevel, TrustLevel | undefined, TrustLevel>;
  snils: string | null;
  inn: string | null;
  birth_date: ColumnType<string | null, string | null | undefined, string | null>;
  gender: 'M' | 'F' | null;
  birth_place: string | null;
  citizenship: string | null;
  /**
   * Set on an alias: a duplicate account linked into this primary one (src/merge). Logins with the
   * alias's phone, e-mail or SNILS land in the primary; the alias is never a session's account.
   */
  merged_into_oid: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type Citizen = Selectable<CitizensTable>;

export type DocumentStatus = 'not_verified' | 'verifying' | 'verified' | 'rejected';

export interface CitizenDocumentsTable {
  id: Generated<string>;
  citizen_oid: string;
  type: 'RF_PASSPORT';
  series: string;
  number: string;
  issue_date: DateColumn;
  /** Division code, NNN-NNN. */
  issue_id: string;
  issued_by: string;
  vrf_status: ColumnType<DocumentStatus, DocumentStatus | undefined, DocumentStatus>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type CitizenDocument = Selectable<CitizenDocumentsTable>;

export type AddressType = 'PRG' | 'PLV';

export interface CitizenAddressesTable {
  id: Generated<string>;
  citizen_oid: string;
  type: AddressType;
  address_str: string;
  zip_code: string | null;
  region: string | null;
  city: string | null;
  street: string | null;
  house: string | null;
  flat: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type CitizenAddress = Selectable<CitizenAddressesTable>;
