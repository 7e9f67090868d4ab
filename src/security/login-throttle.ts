import { sql } from 'kysely';
import type { Db, DbOrTrx } from '../db/database.ts';

/**
 * Brute-force protection per account, counted per *typed identifier* (normalised, then keyed by an
 * HMAC so the table holds no logins in clear), whether or not an account has it: an unknown login
 * gets exactly the delays and the lock a real one gets, so they reveal nothing.
 *
 * Every attempt is counted as a failure *before* the password is checked, in one statement
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

/**
 * Counts an attempt for `key`, or refuses it while the key must wait or is locked.
 *
 * One statement (it used to be a transaction of insert, SELECT … FOR UPDATE and update: five round
 * trips on every login). INSERT … ON CONFLICT DO UPDATE locks the counter row and evaluates the
 * update against its latest committed version, so racing attempts still queue on the row and each
 * sees the failures the previous one counted. The rules are those of waitAfterFailures, in SQL: a
 * lock that ended or a quiet hour starts the count again at 1. A refused attempt changes nothing and
 * returns no row; the wait is then read from the row.
 */
export async function claimLoginAttempt(db: Db, key: string, now: Date): Promise<ThrottleClaim> {
  const t = LOGIN_THROTTLE;
  const failures = sql<number>`CASE WHEN login_throttles.locked_until IS NOT NULL OR ${now}::timestamptz - login_throttles.updated_at >= make_interval(secs => ${t.forgetAfterSeconds})
    THEN 1 ELSE login_throttles.failures + 1 END`;
  const wait = sql<number>`CASE WHEN ${failures} >= ${t.lockAfterFailures} THEN ${t.lockSeconds} WHEN ${failures} < ${t.freeFailures} THEN 0 ELSE power(2, ${failures} - ${t.freeFailures}) END`;
  const until = sql<Date>`${now}::timestamptz + make_interval(secs => ${wait})`;
  const first = { failures: 1, wait: waitAfterFailures(1) };
  const claimed = await db
    .insertInto('login_throttles')
    .values({
      key, failures: first.failures, next_attempt_at: new Date(now.getTime() + first.wait * 1000),
      locked_until: first.failures >= t.lockAfterFailures ? new Date(now.getTime() + first.wait * 1000) : null, updated_at: now,
    })
    .onConflict((oc) => oc.column('key')
      .doUpdateSet({
        failures,
        next_attempt_at: until,
        locked_until: sql<Date | null>`CASE WHEN ${failures} >= ${t.lockAfterFailures} THEN ${until} END`,
        updated_at: now,
      })
      .where((eb) => eb.and([
        eb.or([eb('login_throttles.locked_until', 'is', null), eb('login_throttles.locked_until', '<=', now)]),
        eb('login_throttles.next_attempt_at', '<=', now),
      ])))
    .returning('failures')
    .executeTakeFirst();
  if (claimed) {
    return { allowed: true, failures: claimed.failures, locksNow: claimed.failures >= t.lockAfterFailures, retryAfterSeconds: waitAfterFailures(claimed.failures) };
  }
  const row = await db.selectFrom('login_throttles').select(['next_attempt_at', 'locked_until']).where('key', '=', key).executeTakeFirst();
  // Cleared by a successful login in between: count this attempt afresh.
  if (!row) return claimLoginAttempt(db, key, now);
  if (row.locked_until && row.locked_until > now) return { allowed: false, locked: true, retryAfterSeconds: secondsUntil(row.locked_until, now) };
  // A later attempt may have been counted in between (its wait is what applies now); if even that
  // wait is over, the attempt is counted after all.
  if (row.next_attempt_at > now) return { allowed: false, locked: false, retryAfterSeconds: secondsUntil(row.next_attempt_at, now) };
  return claimLoginAttempt(db, key, now);
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
