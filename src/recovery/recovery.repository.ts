import { sql, type Selectable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ContactKind } from '../registration/registration.table.ts';
import type { RecoveryFlowsTable } from './recovery.table.ts';

export type RecoveryFlow = Selectable<RecoveryFlowsTable>;

export async function insertRecoveryFlow(
  db: DbOrTrx,
  input: { contactKind: ContactKind; contactValue: string; citizenOid: string | null; createdAt: Date; expiresAt: Date },
): Promise<RecoveryFlow> {
  return db
    .insertInto('recovery_flows')
    .values({ contact_kind: input.contactKind, contact_value: input.contactValue, citizen_oid: input.citizenOid, created_at: input.createdAt, expires_at: input.expiresAt })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findRecoveryFlow(db: DbOrTrx, id: string): Promise<RecoveryFlow | undefined> {
  return db.selectFrom('recovery_flows').selectAll().where('id', '=', id).executeTakeFirst();
}

/** SELECT … FOR UPDATE: one request at a time moves a flow on. */
export async function lockRecoveryFlow(db: DbOrTrx, id: string): Promise<RecoveryFlow | undefined> {
  return db.selectFrom('recovery_flows').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function setRecoveryFlowState(db: DbOrTrx, id: string, state: 'code_verified' | 'completed'): Promise<void> {
  await db.updateTable('recovery_flows').set({ state }).where('id', '=', id).execute();
}

export async function setCitizenPasswordHash(db: DbOrTrx, oid: string, passwordHash: string, now: Date): Promise<void> {
  await db.updateTable('citizens').set({ password_hash: passwordHash, updated_at: now }).where('oid', '=', oid).execute();
}

/**
 * Ends the citizen's single sign-on sessions on every device: deletes oidc-provider's Session rows
 * for the account, so the next request there finds no session and asks to sign in again. Tokens
 * already issued to RPs run out on their own TTLs. (This reads oidc-provider's storage and would
 * sit better in oidc/ next to the adapter; it is here until that area offers it.)
 */
export async function endCitizenSessions(db: DbOrTrx, oid: string): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('model', '=', 'Session')
    .where(sql<string>`payload->>'accountId'`, '=', oid)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Flows past their expiry by more than `graceSeconds`, whatever their state: for the prune job.
 * The grace keeps an expired flow's page saying "expired" rather than "not found" for a while.
 */
export async function pruneEndedRecoveryFlows(db: DbOrTrx, now: Date, graceSeconds: number): Promise<number> {
  const result = await db.deleteFrom('recovery_flows').where('expires_at', '<', new Date(now.getTime() - graceSeconds * 1000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
