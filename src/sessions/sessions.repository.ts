import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';

/**
 * The citizen's single sign-on sessions as oidc-provider stores them (oidc_payloads, model
 * 'Session'), and the device rows we keep beside them (session_devices, by Session uid).
 */

/** What a Session payload says about where the citizen signed in with it. */
export type SessionAuthorizations = Record<string, { sid?: string; grantId?: string }>;

export interface StoredSession {
  /** The Session's id: the value of the browser's session cookie. Never shown or sent anywhere. */
  id: string;
  /** Stable for the session's life; what pages and forms name a session by. */
  uid: string;
  loginTs: number | null;
  authorizations: SessionAuthorizations;
  expiresAt: Date | null;
}

const sessionColumns = [
  'id',
  'uid',
  'expires_at',
  sql<string | null>`payload->>'loginTs'`.as('login_ts'),
  sql<SessionAuthorizations | null>`payload->'authorizations'`.as('authorizations'),
] as const;

type SessionRow = { id: string; uid: string | null; expires_at: Date | null; login_ts: string | null; authorizations: SessionAuthorizations | null };

function toSession(row: SessionRow): StoredSession {
  return { id: row.id, uid: row.uid ?? row.id, loginTs: row.login_ts === null ? null : Number(row.login_ts), authorizations: row.authorizations ?? {}, expiresAt: row.expires_at };
}

/** The citizen's sessions: those still live at `liveAt`, or every stored one (expired ones wait for pruning). */
export async function findCitizenSessions(db: DbOrTrx, oid: string, options: { liveAt?: Date } = {}): Promise<StoredSession[]> {
  let query = db.selectFrom('oidc_payloads').select(sessionColumns).where('model', '=', 'Session').where(sql<string>`payload->>'accountId'`, '=', oid);
  const { liveAt } = options;
  if (liveAt) query = query.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', liveAt)]));
  return (await query.execute()).map(toSession);
}

/** The live session whose cookie carries `id`, with its owner. */
export async function findSessionById(db: DbOrTrx, id: string, now: Date): Promise<(StoredSession & { accountId: string | null }) | undefined> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select([...sessionColumns, sql<string | null>`payload->>'accountId'`.as('account_id')])
    .where('model', '=', 'Session')
    .where('id', '=', id)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row ? { ...toSession(row), accountId: row.account_id } : undefined;
}

/**
 * Deletes the citizen's sessions (all, or only those named, or all but one) and returns what they
 * were: their authorizations are who must hear about it.
 */
export async function deleteCitizenSessions(
  db: DbOrTrx,
  oid: string,
  which: { uids: readonly string[] } | { allExcept?: string },
): Promise<StoredSession[]> {
  let query = db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where(sql<string>`payload->>'accountId'`, '=', oid);
  if ('uids' in which) {
    if (which.uids.length === 0) return [];
    query = query.where('uid', 'in', [...which.uids]);
  } else if (which.allExcept) {
    query = query.where('uid', '!=', which.allExcept);
  }
  return (await query.returning(sessionColumns).execute()).map(toSession);
}

/**
 * Deletes the tokens and codes that end with these sessions: oidc-provider marks them
 * `expiresWithSession` (issued without offline_access) and records the session's uid. Tokens issued
 * with offline_access outlive the session on purpose and stay; so does the grant (the consent).
 */
export async function deleteSessionBoundTokens(db: DbOrTrx, sessions: readonly StoredSession[]): Promise<number> {
  const grantIds = [...new Set(sessions.flatMap((s) => Object.values(s.authorizations).map((a) => a.grantId)).filter((id): id is string => typeof id === 'string'))];
  if (grantIds.length === 0) return 0;
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('grant_id', 'in', grantIds)
    .where(sql<string>`payload->>'sessionUid'`, 'in', sessions.map((s) => s.uid))
    .where(sql<string>`payload->>'expiresWithSession'`, '=', 'true')
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Moves a session's expiry forward (the account pages' "still here"); only the expiry fields change. */
export async function extendSessionExpiry(db: DbOrTrx, input: { id: string; from: Date | null; expiresAt: Date; exp: number }): Promise<boolean> {
  const result = await db
    .updateTable('oidc_payloads')
    .set((eb) => ({ expires_at: input.expiresAt, payload: eb.fn('jsonb_set', [eb.ref('payload'), eb.val('{exp}'), eb.val(JSON.stringify(input.exp))]) }))
    .where('model', '=', 'Session')
    .where('id', '=', input.id)
    // Only if nobody moved it meanwhile (oidc-provider re-saving the session wins).
    .where((eb) => (input.from === null ? eb('expires_at', 'is', null) : eb('expires_at', '=', input.from)))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

// ─── Devices ──────────────────────────────────────────────────────────────────────────────────────

export interface SessionUse {
  uid: string;
  oid: string;
  userAgent: string | null;
  ip: string | null;
  signedInAt: Date;
  now: Date;
}

/** How often "last activity" is written at most: every page view would be a write otherwise. */
export const ACTIVITY_RESOLUTION_SECONDS = 60;

/**
 * Records that a session was used. The first use after a sign-in keeps the device and address;
 * later ones only move `last_seen_at`, and at most once a minute.
 */
export async function recordSessionUse(db: DbOrTrx, use: SessionUse): Promise<void> {
  const staleBefore = new Date(use.now.getTime() - ACTIVITY_RESOLUTION_SECONDS * 1000);
  await db
    .insertInto('session_devices')
    .values({ session_uid: use.uid, citizen_oid: use.oid, user_agent: use.userAgent, ip: use.ip, signed_in_at: use.signedInAt, last_seen_at: use.now })
    .onConflict((oc) =>
      oc
        .column('session_uid')
        .doUpdateSet((eb) => {
          // A new sign-in in the same browser session (another account, or signing in again) is a new device record.
          const signedInAgain = sql<boolean>`session_devices.signed_in_at <> excluded.signed_in_at OR session_devices.citizen_oid <> excluded.citizen_oid`;
          return {
            last_seen_at: eb.ref('excluded.last_seen_at'),
            citizen_oid: eb.ref('excluded.citizen_oid'),
            signed_in_at: eb.ref('excluded.signed_in_at'),
            user_agent: sql<string | null>`CASE WHEN ${signedInAgain} THEN excluded.user_agent ELSE session_devices.user_agent END`,
            ip: sql<string | null>`CASE WHEN ${signedInAgain} THEN excluded.ip ELSE session_devices.ip END`,
          };
        })
        .where((eb) =>
          eb.or([
            eb('session_devices.last_seen_at', '<', staleBefore),
            eb('session_devices.signed_in_at', '<>', eb.ref('excluded.signed_in_at')),
            eb('session_devices.citizen_oid', '<>', eb.ref('excluded.citizen_oid')),
          ]),
        ),
    )
    .execute();
}

export async function findSessionDevices(db: DbOrTrx, oid: string) {
  return db.selectFrom('session_devices').selectAll().where('citizen_oid', '=', oid).execute();
}

export async function deleteSessionDevices(db: DbOrTrx, uids: readonly string[]): Promise<void> {
  if (uids.length === 0) return;
  await db.deleteFrom('session_devices').where('session_uid', 'in', [...uids]).execute();
}

/** Device rows whose session is gone (expired, pruned, ended elsewhere): for the prune job. */
export async function pruneOrphanSessionDevices(db: DbOrTrx): Promise<number> {
  const result = await db
    .deleteFrom('session_devices')
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').whereRef('oidc_payloads.uid', '=', 'session_devices.session_uid'))),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
