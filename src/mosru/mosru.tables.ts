import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';

/**
 * Mos.ru's own tables, in the PostgreSQL schema `mosru` (created by its own migrations, logged in
 * `mosru.kysely_migration`). They share the IdP's server but nothing else: no foreign key, no
 * query, no type crosses over. Table names carry the schema so every query says where it goes.
 */
export interface MosruDatabase {
  'mosru.accounts': AccountsTable;
  'mosru.sessions': SessionsTable;
  'mosru.login_transactions': LoginTransactionsTable;
  'mosru.pending_registrations': PendingRegistrationsTable;
  'mosru.bindings': BindingsTable;
  'mosru.synced_profiles': SyncedProfilesTable;
}

export type MosruDb = Kysely<MosruDatabase>;

/** `date` columns stay `yyyy-MM-dd` strings (the pool's type parser does not make Dates of them). */
type DateColumn = ColumnType<string, string, string>;
type Timestamp = ColumnType<Date, Date | undefined, Date>;
/** jsonb: written as JSON text (pg would turn a JS array into a PostgreSQL array), read as parsed. */
type Json<T> = ColumnType<T, string, string>;

export interface AccountsTable {
  id: Generated<string>;
  /** Lower case (a check constraint says so); unique. */
  email: string;
  /** argon2id. */
  password_hash: string;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  birth_date: DateColumn;
  /** 11 digits, no separators. */
  snils: string | null;
  created_at: Timestamp;
}
export type Account = Selectable<AccountsTable>;

export interface SessionsTable {
  /** SHA-256 of the cookie value: a leaked table does not sign anybody in. */
  id: string;
  account_id: string;
  /** Set when the session began with «Войти через Госуслуги»: back-channel logout names it by these. */
  oidc_sub: string | null;
  oidc_sid: string | null;
  /** For `id_token_hint` when signing out at the IdP too. */
  id_token: string | null;
  created_at: Timestamp;
  expires_at: Date;
}

export type LoginPurpose = 'bind' | 'login';

export interface LoginTransactionsTable {
  /** SHA-256 of the `mosru_login` cookie value. */
  id: string;
  purpose: LoginPurpose;
  state: string;
  code_verifier: string;
  nonce: string;
  /** The account being bound (purpose `bind`). */
  account_id: string | null;
  expires_at: Date;
}

/** What the IdP told us about a citizen Mos.ru does not know yet, while they fill in the registration form. */
export interface PendingRegistrationsTable {
  /** SHA-256 of the `mosru_register` cookie value. */
  id: string;
  oid: string;
  oidc_sid: string | null;
  id_token: string;
  profile: Json<PendingProfile>;
  expires_at: Date;
}

export interface PendingProfile {
  lastName: string;
  firstName: string;
  middleName?: string;
  birthDate?: string;
  email?: string;
  snils?: string;
}

export type BindingStatus = 'connected' | 'disconnected';

export interface BindingsTable {
  account_id: string;
  oid: string;
  scopes: string;
  bound_at: Date;
  /** AES-256-GCM sealed (token-sealer.ts); null once revoked or when the IdP gave none. */
  refresh_token_sealed: string | null;
  status: BindingStatus;
  disconnected_reason: string | null;
  disconnected_at: Date | null;
  last_synced_at: Date | null;
  /** While set and in the future, one request is refreshing the tokens: the others must not (rotation). */
  refresh_lease_until: Date | null;
}
export type Binding = Selectable<BindingsTable>;

export interface SyncedPassport {
  series: string;
  number: string;
  /** `yyyy-MM-dd`. */
  issueDate?: string;
  issueId?: string;
  issuedBy?: string;
  verified: boolean;
}

export interface SyncedAddress {
  /** ESIA's PRG (registration) or PLV (residence). */
  type: string;
  addressStr: string;
  zipCode?: string;
}

export interface SyncedMedicalPolicy {
  series?: string;
  number: string;
}

export interface SyncedProfilesTable {
  account_id: string;
  /** As the IdP has them: the names may differ from the account's in case or «ё» (they matched). */
  last_name: string | null;
  first_name: string | null;
  middle_name: string | null;
  birth_date: ColumnType<string | null, string | null, string | null>;
  snils: string | null;
  phone: string | null;
  email: string | null;
  passport: Json<SyncedPassport | null>;
  addresses: Json<SyncedAddress[]>;
  medical_policy: Json<SyncedMedicalPolicy | null>;
  synced_at: Date;
}
export type SyncedProfile = Selectable<SyncedProfilesTable>;
