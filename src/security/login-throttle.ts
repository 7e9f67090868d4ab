import type { Db, DbOrTrx } from '../db/database.ts';

/**
 * Brute-force protection per account, counted per *typed identifier* (normalised, then keyed by an
 * HMAC so the table holds no logins in clear), whether or not an account has it: an unknown login
 * gets exactly the delays and the lock a real one gets, so they reveal nothing.
 *
 * Every attempt is counted as a failure *before* the password is checked, in one short transaction
 * that locks the counter row: racing attempts queue on the row, so a burst of parallel guesses gets
 * no more tries than a sequence would. A fully successful login clears the counter.
 */
export const LOGIN_THROTTLE = {
  /** Failures before delays start. */
  freeFailures: 5,
  /** Failures that lock the identifier. */
  lockAfterFailures: 10,
  lockSeconds: 15 * 60,
  /** A quiet hour forgets earlier failures. */
  forgetAfterSeconds: 60 * 60,
} as const;

export type ThrottleClaim =
  /** `failures` counts this attempt; `locksNow` when this attempt, if wrong, is the one that locks. */
  | { allowed: true; failures: number; locksNow: boolean; retryAfterSeconds: number }
  | { allowed: false; locked: boolean; retryAfterSeconds: number };

/** The wait after the n-th consecutive failure: none up to 5, then 1, 2, 4, 8, 16 s; the 10th locks. */
export function waitAfterFailures(failures: number): number {
  if (failures >= LOGIN_THROTTLE.lockAfterFailures) return LOGIN_THROTTLE.lockSeconds;
  if (failures < LOGIN_THROTTLE.freeFailures) return 0;
  return 2 ** (failures - LOGIN_THROTTLE.freeFailures);
}

/** Counts an attempt for `key`, or refuses it while the key must wait or is locked. */
export async function claimLoginAttempt(db: Db, key: string, now: Date): Promise<ThrottleClaim> {
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('login_throttles').values({ key, failures: 0, next_attempt_at: now, locked_until: null, updated_at: now }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const row = await trx.selectFrom('login_throttles').selectAll().where('key', '=', key).forUpdate().executeTakeFirstOrThrow();
    if (row.locked_until && row.locked_until > now) return { allowed: false, locked: true, retryAfterSeconds: secondsUntil(row.locked_until, now) };
    if (row.next_attempt_at > now) return { allowed: false, locked: false, retryAfterSeconds: secondsUntil(row.next_attempt_at, now) };

    const lockEnded = row.locked_until !== null;
    const quiet = now.getTime() - row.updated_at.getTime() >= LOGIN_THROTTLE.forgetAfterSeconds * 1000;
    const failures = lockEnded || quiet ? 1 : row.failures + 1;
    const wait = waitAfterFailures(failures);
    const locksNow = failures >= LOGIN_THROTTLE.lockAfterFailures;
    const until = new Date(now.getTime() + wait * 1000);
    await trx
      .updateTable('login_throttles')
      .set({ failures, next_attempt_at: until, locked_until: locksNow ? until : null, updated_at: now })
      .where('key', '=', key)
      .execute();
    return { allowed: true, failures, locksNow, retryAfterSeconds: wait };
  });
}

/** The login succeeded (with every factor it needed): forget the failures. */
export async function clearLoginThrottle(db: DbOrTrx, key: string): Promise<void> {
  await db.deleteFrom('login_throttles').where('key', '=', key).execute();
}

/** Counters nobody touched for a day and no longer locked: for the prune job. */
export async function pruneLoginThrottles(db: DbOrTrx, now: Date): Promise<number> {
  const dayAgo = new Date(now.getTime() - 24 * 3600 * 1000);
  const result = await db
    .deleteFrom('login_throttles')
    .where('updated_at', '<', dayAgo)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

function secondsUntil(date: Date, now: Date): number {
  return Math.max(1, Math.ceil((date.getTime() - now.getTime()) / 1000));
}
