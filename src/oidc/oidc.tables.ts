import type { Generated } from 'kysely';

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

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk_sealed: string;
  created_at: Generated<Date>;
}

export interface InstanceSecretsTable {
  name: string;
  value: string;
  created_at: Generated<Date>;
}
