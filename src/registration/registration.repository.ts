import type { Selectable } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ContactKind, RegistrationFlowsTable } from './registration.table.ts';

export type RegistrationFlow = Selectable<RegistrationFlowsTable>;

export interface NewRegistrationFlow {
  lastName: string;
  firstName: string;
  middleName: string | null;
  contactKind: ContactKind;
  contactValue: string;
  passwordHash: string;
  interactionUid: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export async function insertRegistrationFlow(db: DbOrTrx, input: NewRegistrationFlow): Promise<RegistrationFlow> {
  return db
    .insertInto('registration_flows')
    .values({
      last_name: input.lastName,
      first_name: input.firstName,
      middle_name: input.middleName,
      contact_kind: input.contactKind,
      contact_value: input.contactValue,
      password_hash: input.passwordHash,
      interaction_uid: input.interactionUid,
      created_at: input.createdAt,
      expires_at: input.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findRegistrationFlow(db: DbOrTrx, id: string): Promise<RegistrationFlow | undefined> {
  return db.selectFrom('registration_flows').selectAll().where('id', '=', id).executeTakeFirst();
}

/** SELECT … FOR UPDATE: the confirming request holds the flow until it commits. */
export async function lockRegistrationFlow(db: DbOrTrx, id: string): Promise<RegistrationFlow | undefined> {
  return db.selectFrom('registration_flows').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/**
 * A finished flow forgets the password hash: the citizen's row has it now, and a copy left here
 * would outlive the next password change.
 */
export async function completeRegistrationFlow(db: DbOrTrx, id: string, citizenOid: string): Promise<void> {
  await db.updateTable('registration_flows').set({ state: 'completed', citizen_oid: citizenOid, password_hash: '' }).where('id', '=', id).execute();
}

/** The only way a registration fails: the contact turned out to belong to an account already. */
export async function failRegistrationFlow(db: DbOrTrx, id: string): Promise<void> {
  await db.updateTable('registration_flows').set({ state: 'failed', password_hash: '' }).where('id', '=', id).where('state', '=', 'awaiting_code').execute();
}

/**
 * Flows past their expiry by more than `graceSeconds` (a failed flow, one abandoned while waiting for
 * its code), except completed ones that opened an account: for the prune job. The grace keeps an
 * expired flow's page saying "expired" rather than "not found" for a citizen who comes back soon after.
 */
export async function pruneEndedRegistrationFlows(db: DbOrTrx, now: Date, graceSeconds: number): Promise<number> {
  // A completed flow that opened an account stays (its password hash is already wiped): it is the
  // account's record of the contact it proved at registration, which linking duplicate accounts
  // (src/merge) and account deletion read. One row per account: bounded, not growing with logins.
  const result = await db
    .deleteFrom('registration_flows')
    .where('expires_at', '<', new Date(now.getTime() - graceSeconds * 1000))
    .where((eb) => eb.or([eb('state', '!=', 'completed'), eb('citizen_oid', 'is', null)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
