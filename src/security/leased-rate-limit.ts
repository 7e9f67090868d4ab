import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { RateLimitDecision, RateLimitPolicy } from './rate-limits.ts';

/**
 * A shared fixed-window limit for hot API endpoints, without a database write per request.
 *
 * The window's counter stays in PostgreSQL (`rate_limits`, shared by every instance), but a process
 * takes points from it in chunks — a lease — and spends them locally until the lease runs out or the
 * window ends. Points are only ever taken from the shared counter, never created locally, so all
 * instances together can never admit more than the limit; the cost is that points leased but unspent
 * by one instance are not available to another until the window ends (at most `chunk − 1` per
 * instance and key). With a 200/s limit and chunks of 20 that is one write per 20 requests.
 */
export interface LeasedRateLimiter {
  take(key: string, now: Date): Promise<RateLimitDecision>;
  /** A request that turned out not to count (e.g. its client failed authentication). */
  giveBack(key: string, now: Date): void;
}

interface Lease {
  remaining: number;
  resetAt: Date;
  /** The shared counter had less than a chunk left: nothing more to lease in this window. */
  exhausted: boolean;
}

export function createLeasedRateLimiter(db: DbOrTrx, policy: RateLimitPolicy, chunk = Math.max(1, Math.floor(policy.points / 10))): LeasedRateLimiter {
  const leases = new Map<string, Lease>();
  /** One lease request per key at a time: a burst waits for it instead of each going to the database. */
  const pending = new Map<string, Promise<Lease>>();

  async function lease(key: string, now: Date): Promise<Lease> {
    const windowEnd = new Date(now.getTime() + policy.windowSeconds * 1000);
    const row = await db
      .insertInto('rate_limits')
      .values({ key, points: chunk, reset_at: windowEnd })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          points: sql`CASE WHEN rate_limits.reset_at <= ${now} THEN ${chunk} ELSE rate_limits.points + ${chunk} END`,
          reset_at: sql`CASE WHEN rate_limits.reset_at <= ${now} THEN ${windowEnd}::timestamptz ELSE rate_limits.reset_at END`,
        }),
      )
      .returning(['points', 'reset_at'])
      .executeTakeFirstOrThrow();
    // The counter was `points − chunk` before this lease: what was left under the limit is ours.
    const granted = Math.min(chunk, Math.max(0, policy.points - (row.points - chunk)));
    return { remaining: granted, resetAt: row.reset_at, exhausted: granted < chunk };
  }

  function leaseOnce(key: string, now: Date): Promise<Lease> {
    let request = pending.get(key);
    if (!request) {
      request = lease(key, now).finally(() => pending.delete(key));
      pending.set(key, request);
    }
    return request;
  }

  return {
    async take(key, now) {
      for (;;) {
        const current = leases.get(key);
        if (current && current.resetAt > now) {
          if (current.remaining > 0) {
            current.remaining -= 1;
            return { allowed: true, remaining: current.remaining };
          }
          if (current.exhausted) {
            return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((current.resetAt.getTime() - now.getTime()) / 1000)) };
          }
        }
        // No usable lease: take a chunk from the shared counter, then try again. Replacing a lease
        // another request stored meanwhile can only forfeit points, never admit extra ones.
        leases.set(key, await leaseOnce(key, now));
      }
    },
    giveBack(key, now) {
      const current = leases.get(key);
      if (current && current.resetAt > now) current.remaining += 1;
    },
  };
}
