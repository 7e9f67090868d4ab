import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ActingChoicesTable } from './acting.tables.ts';

/** One stored choice: what the citizen acts as at this client in this session. */
export type StoredChoice =
  | { kind: 'person' }
  | { kind: 'organisation'; organisationOid: string }
  | { kind: 'representative'; powerId: string };

export interface ChoiceKey {
  sessionUid: string;
  clientId: string;
}

/** The choice for (session, client), only if it was made by this citizen (a session never changes hands, but a token names its account). */
export async function findChoice(db: DbOrTrx, key: ChoiceKey, citizenOid: string): Promise<StoredChoice | undefined> {
  const row = await db
    .selectFrom('acting_choices')
    .select(['kind', 'organisation_oid', 'power_id'])
    .where('session_uid', '=', key.sessionUid)
    .where('client_id', '=', key.clientId)
    .where('citizen_oid', '=', citizenOid)
    .executeTakeFirst();
  return row && toChoice(row);
}

/** Stores the choice, replacing the one an earlier authorization of this client in this session made. */
export async function saveChoice(db: DbOrTrx, key: ChoiceKey, citizenOid: string, choice: StoredChoice, now: Date): Promise<void> {
  const row = {
    session_uid: key.sessionUid,
    client_id: key.clientId,
    citizen_oid: citizenOid,
    kind: choice.kind,
    organisation_oid: choice.kind === 'organisation' ? choice.organisationOid : null,
    power_id: choice.kind === 'representative' ? choice.powerId : null,
    chosen_at: now,
  };
  await db
    .insertInto('acting_choices')
    .values(row)
    .onConflict((oc) => oc.columns(['session_uid', 'client_id']).doUpdateSet({
      citizen_oid: row.citizen_oid, kind: row.kind, organisation_oid: row.organisation_oid, power_id: row.power_id, chosen_at: row.chosen_at,
    }))
    .execute();
}

/** Forgets the choice: the citizen acts as themselves again at this client in this session. */
export async function clearChoice(db: DbOrTrx, key: ChoiceKey): Promise<void> {
  await db.deleteFrom('acting_choices').where('session_uid', '=', key.sessionUid).where('client_id', '=', key.clientId).execute();
}

/**
 * Deletes choices nothing can use any more: their session is gone and no refresh token of it is
 * left (offline refresh tokens outlive the session and still need the choice). Access tokens carry
 * their own copy of the context, so they do not keep a choice alive. `graceSeconds` spares a choice
 * made a moment ago, before its session was saved.
 */
export async function pruneStaleChoices(db: DbOrTrx, now: Date, graceSeconds = 600): Promise<number> {
  const cutoff = new Date(now.getTime() - graceSeconds * 1000);
  const result = await db
    .deleteFrom('acting_choices as c')
    .where('c.chosen_at', '<', cutoff)
    .where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('oidc_payloads as p')
        .select(sql`1`.as('one'))
        .where((eb) => eb.or([
          eb.and([eb('p.model', '=', 'Session'), eb('p.uid', '=', eb.ref('c.session_uid'))]),
          eb.and([eb('p.model', '=', 'RefreshToken'), eb(sql<string>`p.payload->>'sessionUid'`, '=', eb.ref('c.session_uid'))]),
        ])),
    )))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A stored row as a choice; exported for readers that fetch the row together with other data (oidc/account.ts). */
export function toChoice(row: Pick<ActingChoicesTable, 'kind' | 'organisation_oid' | 'power_id'>): StoredChoice {
  if (row.kind === 'organisation') return { kind: 'organisation', organisationOid: String(row.organisation_oid) };
  if (row.kind === 'representative') return { kind: 'representative', powerId: String(row.power_id) };
  return { kind: 'person' };
}
