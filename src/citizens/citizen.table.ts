import type { ColumnType, Generated, Selectable } from 'kysely';

export const TRUST_LEVELS = ['simplified', 'standard', 'confirmed'] as const;
export type TrustLevel = (typeof TRUST_LEVELS)[number];

export interface CitizensTable {
  /** ESIA-like numeric OID; bigint comes back from pg as a string. */
  oid: ColumnType<string, string | undefined, never>;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  phone: string | null;
  email: string | null;
  password_hash: string;
  trust_level: ColumnType<TrustLevel, TrustLevel | undefined, TrustLevel>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type Citizen = Selectable<CitizensTable>;
