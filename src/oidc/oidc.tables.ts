import type { ColumnType, Generated } from 'kysely';

export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: Record<string, unknown>;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: Date | null;
  consumed_at: Date | null;
}

export interface OidcClientsTable {
  client_id: string;
  name: string;
  metadata: Record<string, unknown>;
  secret_sealed: string | null;
  created_at: Generated<Date>;
}

export type SigningKeyStatus = 'next' | 'current' | 'retired';

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk_sealed: string;
  status: ColumnType<SigningKeyStatus, SigningKeyStatus | undefined, SigningKeyStatus>;
  activated_at: Date | null;
  retired_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface InstanceSecretsTable {
  name: string;
  value: string;
  created_at: Generated<Date>;
}

/** When each consent (grant) was last used to issue tokens: shown under «Связанные сервисы». */
export interface GrantActivityTable {
  grant_id: string;
  citizen_oid: string;
  client_id: string;
  last_used_at: Date;
}
