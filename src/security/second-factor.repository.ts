import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { Updateable } from 'kysely';
import type { PendingLogin, SecondFactors, SecondFactorsTable } from './security.tables.ts';

export async function findSecondFactors(db: DbOrTrx, citizenOid: string): Promise<SecondFactors | undefined> {
  return db.selectFrom('second_factors').selectAll().where('citizen_oid', '=', citizenOid).executeTakeFirst();
}

/** Locks (creating it if needed) the citizen's row, so changes to their factors happen one at a time. */
export async function lockSecondFactors(trx: DbOrTrx, citizenOid: string, now: Date): Promise<SecondFactors> {
  await trx.insertInto('second_factors').values({ citizen_oid: citizenOid, updated_at: now }).onConflict((oc) => oc.column('citizen_oid').doNothing()).execute();
  return trx.selectFrom('second_factors').selectAll().where('citizen_oid', '=', citizenOid).forUpdate().executeTakeFirstOrThrow();
}

type FactorChanges = Omit<Updateable<SecondFactorsTable>, 'citizen_oid' | 'updated_at'>;

export async function updateSecondFactors(trx: DbOrTrx, citizenOid: string, changes: FactorChanges, now: Date): Promise<void> {
  await trx.updateTable('second_factors').set({ ...changes, updated_at: now }).where('citizen_oid', '=', citizenOid).execute();
}

/**
 * Accepts a TOTP time step only if it is later than the last one accepted — atomically, so two
 * requests racing with the same code cannot both pass.
 */
export async function advanceTotpStep(trx: DbOrTrx, citizenOid: string, step: number, now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('second_factors')
    .set({ totp_last_step: step, updated_at: now })
    .where('citizen_oid', '=', citizenOid)
    .where('totp_enabled_at', 'is not', null)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', String(step))]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function countUnusedRecoveryCodes(db: DbOrTrx, citizenOid: string): Promise<number> {
  const row = await db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<string>().as('n')).where('citizen_oid', '=', citizenOid).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function replaceRecoveryCodes(trx: DbOrTrx, citizenOid: string, hashes: string[], now: Date): Promise<void> {
  await trx.deleteFrom('recovery_codes').where('citizen_oid', '=', citizenOid).execute();
  await trx.insertInto('recovery_codes').values(hashes.map((code_hash) => ({ citizen_oid: citizenOid, code_hash, created_at: now }))).execute();
}

export async function deleteRecoveryCodes(trx: DbOrTrx, citizenOid: string): Promise<void> {
  await trx.deleteFrom('recovery_codes').where('citizen_oid', '=', citizenOid).execute();
}

/** Marks a code used; true for exactly one of any number of racing uses of the same code. */
export async function useRecoveryCode(trx: DbOrTrx, citizenOid: string, codeHash: string, now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('citizen_oid', '=', citizenOid)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** A fresh pending login for the interaction (an earlier one, and the SMS codes sent for it, stop working). */
export async function createPendingLogin(
  trx: DbOrTrx,
  input: { interactionUid: string; citizenOid: string; throttleKey: string | null; attempts: number; now: Date; ttlSeconds: number },
): Promise<PendingLogin> {
  await trx.deleteFrom('pending_logins').where('interaction_uid', '=', input.interactionUid).execute();
  return trx
    .insertInto('pending_logins')
    .values({
      interaction_uid: input.interactionUid,
      citizen_oid: input.citizenOid,
      throttle_key: input.throttleKey,
      attempts_left: input.attempts,
      created_at: input.now,
      expires_at: new Date(input.now.getTime() + input.ttlSeconds * 1000),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findPendingLogin(db: DbOrTrx, interactionUid: string, now: Date): Promise<PendingLogin | undefined> {
  return db.selectFrom('pending_logins').selectAll().where('interaction_uid', '=', interactionUid).where('expires_at', '>', now).executeTakeFirst();
}

/** The live pending login, locked: submissions for one interaction are checked one at a time. */
export async function lockPendingLogin(trx: DbOrTrx, interactionUid: string, now: Date): Promise<PendingLogin | undefined> {
  return trx.selectFrom('pending_logins').selectAll().where('interaction_uid', '=', interactionUid).where('expires_at', '>', now).forUpdate().executeTakeFirst();
}

export async function spendPendingAttempt(trx: DbOrTrx, id: string): Promise<number> {
  const row = await trx.updateTable('pending_logins').set({ attempts_left: sql`attempts_left - 1` }).where('id', '=', id).returning('attempts_left').executeTakeFirstOrThrow();
  return row.attempts_left;
}

export async function deletePendingLogin(trx: DbOrTrx, id: string): Promise<void> {
  await trx.deleteFrom('pending_logins').where('id', '=', id).execute();
}

export async function prunePendingLogins(db: DbOrTrx, now: Date): Promise<number> {
  const result = await db.deleteFrom('pending_logins').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
