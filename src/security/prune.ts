import type { DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { pruneLoginThrottles } from './login-throttle.ts';
import { pruneRateLimits } from './rate-limits.ts';
import { prunePendingLogins } from './second-factor.repository.ts';

/** Expired counters and abandoned half-done logins, for the prune job (login history is kept). */
export async function pruneSecurityState(db: DbOrTrx, clock: Clock): Promise<number> {
  const now = clock.now();
  return (await pruneRateLimits(db, now)) + (await pruneLoginThrottles(db, now)) + (await prunePendingLogins(db, now));
}
