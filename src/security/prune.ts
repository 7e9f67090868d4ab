import type { DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { pruneLoginThrottles } from './login-throttle.ts';
import { pruneRateLimits } from './rate-limits.ts';
import { prunePendingLogins } from './second-factor.repository.ts';

/** How long «История входов» keeps an attempt unless LOGIN_HISTORY_DAYS says otherwise. */
export const DEFAULT_LOGIN_HISTORY_DAYS = 180;

/** Expired counters, abandoned half-done logins and login history past its retention, for the prune job. */
export async function pruneSecurityState(db: DbOrTrx, clock: Clock, loginHistoryDays = DEFAULT_LOGIN_HISTORY_DAYS): Promise<number> {
  const now = clock.now();
  return (await pruneRateLimits(db, now)) + (await pruneLoginThrottles(db, now)) + (await prunePendingLogins(db, now)) + (await pruneLoginHistory(db, now, loginHistoryDays));
}

/**
 * Login attempts older than `retentionDays`: the history page shows the citizen's recent sign-ins,
 * and keeping every attempt forever would grow the table (and the per-login new-device check) without end.
 */
export async function pruneLoginHistory(db: DbOrTrx, now: Date, retentionDays: number): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 3600 * 1000);
  const result = await db.deleteFrom('login_attempts').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
