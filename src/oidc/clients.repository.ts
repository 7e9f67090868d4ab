import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { SecretBox } from '../shared/secret-box.ts';

export interface StoredClient {
  clientId: string;
  name: string;
  metadata: Record<string, unknown>;
  hasSecret: boolean;
  createdAt: Date;
}

/** The metadata oidc-provider loads for a client, with the secret opened. */
export async function findClientMetadata(db: DbOrTrx, secretBox: SecretBox, clientId: string): Promise<Record<string, unknown> | undefined> {
  const row = await db.selectFrom('oidc_clients').select(['metadata', 'secret_sealed']).where('client_id', '=', clientId).executeTakeFirst();
  if (!row) return undefined;
  return row.secret_sealed ? { ...row.metadata, client_secret: secretBox.open(row.secret_sealed) } : row.metadata;
}

export async function insertClient(
  db: DbOrTrx,
  secretBox: SecretBox,
  input: { clientId: string; name: string; metadata: Record<string, unknown>; secret?: string },
): Promise<void> {
  await db
    .insertInto('oidc_clients')
    .values({
      client_id: input.clientId,
      name: input.name,
      metadata: input.metadata,
      secret_sealed: input.secret ? secretBox.seal(input.secret) : null,
    })
    .execute();
}

export async function listClients(db: DbOrTrx): Promise<StoredClient[]> {
  const rows = await db.selectFrom('oidc_clients').select(['client_id', 'name', 'metadata', 'secret_sealed', 'created_at']).orderBy('created_at').execute();
  return rows.map((r) => ({ clientId: r.client_id, name: r.name, metadata: r.metadata, hasSecret: r.secret_sealed !== null, createdAt: r.created_at }));
}

export async function clientExists(db: DbOrTrx, clientId: string): Promise<boolean> {
  return (await db.selectFrom('oidc_clients').select('client_id').where('client_id', '=', clientId).executeTakeFirst()) !== undefined;
}

/** Removes the client and every artifact issued to it (grants, tokens, codes). Call inside a transaction. */
export async function deleteClient(db: DbOrTrx, clientId: string): Promise<boolean> {
  const deleted = await db.deleteFrom('oidc_clients').where('client_id', '=', clientId).executeTakeFirst();
  if (deleted.numDeletedRows === 0n) return false;
  await db.deleteFrom('oidc_payloads').where(sql<string>`payload->>'clientId'`, '=', clientId).execute();
  return true;
}
