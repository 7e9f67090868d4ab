import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';

/**
 * Fixed-window counters in PostgreSQL, shared by every instance: one atomic
 * `INSERT … ON CONFLICT … DO UPDATE … RETURNING` per request, so two instances (or two requests)
 * can never both take the last point. "Now" is passed in (the injected clock), so tests move time
 * instead of sleeping. (rate-limiter-flexible's Postgres store reads Date.now() itself.)
 */
export interface RateLimitPolicy {
  points: number;
  windowSeconds: number;
}

/** The limits per client IP (and per OAuth client for the token endpoints). */
export const RATE_LIMITS = {
  /** Failed password logins from one IP (successful ones give their point back). */
  login: { points: 30, windowSeconds: 10 * 60 },
  registration: { points: 10, windowSeconds: 60 * 60 },
  recovery: { points: 20, windowSeconds: 60 * 60 },
  /** Codes sent (SMS / e-mail) from one IP, whatever the journey. */
  code_send: { points: 30, windowSeconds: 60 * 60 },
  /**
   * Requests per OAuth client to /token, /token/introspection and /token/revocation. Generous on
   * purpose: a large RP's peak (and the bench's 2000 introspections/s over 16 clients) stays well
   * under it; it stops a runaway or abusive client, not normal traffic.
   */
  token: { points: 200, windowSeconds: 1 },
} as const satisfies Record<string, RateLimitPolicy>;

export type RateLimitName = keyof typeof RATE_LIMITS;

export type RateLimitDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

/** Takes one point from `key`'s window; refuses (without resetting anything) when the window is spent. */
export async function consumeRateLimit(db: DbOrTrx, key: string, policy: RateLimitPolicy, now: Date): Promise<RateLimitDecision> {
  const windowEnd = new Date(now.getTime() + policy.windowSeconds * 1000);
  const row = await db
    .insertInto('rate_limits')
    .values({ key, points: 1, reset_at: windowEnd })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        points: sql`CASE WHEN rate_limits.reset_at <= ${now} THEN 1 ELSE rate_limits.points + 1 END`,
        reset_at: sql`CASE WHEN rate_limits.reset_at <= ${now} THEN ${windowEnd}::timestamptz ELSE rate_limits.reset_at END`,
      }),
    )
    .returning(['points', 'reset_at'])
    .executeTakeFirstOrThrow();
  if (row.points <= policy.points) return { allowed: true, remaining: policy.points - row.points };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((row.reset_at.getTime() - now.getTime()) / 1000)) };
}

/** Gives a point back (the request turned out not to count, e.g. a login that succeeded). */
export async function refundRateLimit(db: DbOrTrx, key: string, now: Date): Promise<void> {
  await db.updateTable('rate_limits').set({ points: sql`GREATEST(points - 1, 0)` }).where('key', '=', key).where('reset_at', '>', now).execute();
}

/** The counter key of a named limit for one client IP. */
export function ipKey(name: string, ip: string): string {
  return `${name}:ip:${ip}`;
}

/** Forgets windows that ended: for the prune job. */
export async function pruneRateLimits(db: DbOrTrx, now: Date): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('reset_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
