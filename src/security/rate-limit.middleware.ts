import type { Context, Middleware } from 'koa';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError } from '../shared/app-error.ts';
import { createLeasedRateLimiter } from './leased-rate-limit.ts';
import { RATE_LIMITS, consumeRateLimit, ipKey, refundRateLimit, type RateLimitName, type RateLimitPolicy } from './rate-limits.ts';

export interface RateLimitDeps {
  db: Db;
  clock: Clock;
}

/**
 * A per-IP limit in front of a route: 429 with Retry-After when the IP spent its window — a Russian
 * page for browsers, JSON for APIs (src/http/error-handler.ts renders `rate_limit.exceeded`).
 * `counts(ctx)`, asked after the route ran, can give the point back for requests that should not count
 * (e.g. only a started registration counts, not a form sent back with a typo). The client IP is
 * `ctx.ip`: X-Forwarded-For only with TRUST_PROXY=1.
 */
export function rateLimitByIp(name: RateLimitName, deps: RateLimitDeps, options: { policy?: RateLimitPolicy; counts?: (ctx: Context) => boolean } = {}): Middleware {
  const policy = options.policy ?? RATE_LIMITS[name];
  return async (ctx, next) => {
    const key = ipKey(name, ctx.ip);
    const decision = await consumeRateLimit(deps.db, key, policy, deps.clock.now());
    if (!decision.allowed) {
      throw new AppError('rate_limit.exceeded', 429, 'too many requests from this address', { retryAfterSeconds: decision.retryAfterSeconds });
    }
    await next();
    if (options.counts && !options.counts(ctx)) await refundRateLimit(deps.db, key, deps.clock.now());
  };
}

/** oidc-provider's endpoints where a client authenticates (its default routes). */
const CLIENT_ENDPOINTS = new Set(['/token', '/token/introspection', '/token/revocation']);

/**
 * Per-client limit on the token, introspection and revocation endpoints, in front of oidc-provider.
 * The client is read from the Basic Authorization header only: oidc-provider parses the body itself,
 * so the body stream must stay untouched. Requests without Basic auth pass (client_secret_post and
 * public clients are limited by oidc-provider's own checks and the per-IP limits in front of the
 * login). A request whose client then fails authentication (401) gives its point back, so a forged
 * client_id cannot spend a real client's budget beyond the requests in flight.
 * Always answers JSON: these are API endpoints. The counters are leased in chunks
 * (leased-rate-limit.ts): one database write per chunk of requests, not per request.
 */
export function rateLimitTokenClients(deps: RateLimitDeps, policy: RateLimitPolicy = RATE_LIMITS.token): Middleware {
  const limiter = createLeasedRateLimiter(deps.db, policy);
  return async (ctx, next) => {
    const clientId = ctx.method === 'POST' && CLIENT_ENDPOINTS.has(ctx.path) ? basicClientId(ctx.get('authorization')) : undefined;
    if (!clientId) return next();
    const key = `token:client:${clientId}`;
    const decision = await limiter.take(key, deps.clock.now());
    if (!decision.allowed) {
      ctx.status = 429;
      ctx.set('Retry-After', String(decision.retryAfterSeconds));
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'too_many_requests', error_description: `too many requests for this client; retry after ${decision.retryAfterSeconds} s`, retry_after: decision.retryAfterSeconds };
      return;
    }
    await next();
    if (ctx.status === 401) limiter.giveBack(key, deps.clock.now());
  };
}

/** The client_id of an RFC 6749 §2.3.1 Basic header (form-urlencoded, then base64), if well formed. */
export function basicClientId(header: string): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    const id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    return id.length <= 255 && !/[\u0000-\u001f]/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
