import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { providerEpochSeconds, sessionTtlSeconds, type SessionLimits } from './session-lifetime.ts';
import { ACTIVITY_RESOLUTION_SECONDS, extendSessionExpiry, findSessionById, recordSessionUse } from './sessions.repository.ts';
import { clampUserAgent, displayIp } from './user-agent.ts';

/**
 * Keeps the session list true and the idle timeout fair, as one middleware in front of
 * oidc-provider (`provider.use`, so it wraps both its endpoints and our pages):
 *
 * - After an authorization request (`/auth`, and `/auth/:uid` when a login or consent returns) that
 *   left the browser with a signed-in session, it records the session's device and address, or its
 *   last activity. This is the one place where the session exists *and* the browser's request is at
 *   hand. oidc-provider's events were the alternative: `authorization.success` carries ctx, but fires
 *   only when the authorization succeeds (not when the citizen signs in and then denies consent, which
 *   still leaves a signed-in session), and events are fire-and-forget, so the page listing sessions
 *   could be read before the write lands. Here the write is awaited before the response goes out.
 * - On the account pages (/account/…), which never pass through oidc-provider's session handler,
 *   it counts the visit as activity: moves the session's expiry forward (the same sliding rule as
 *   `ttl.Session`) and re-issues the session cookie with the new expiry — at most once a minute.
 */

/** oidc-provider's route names for the browser's authorization requests. */
const AUTHORIZATION_ROUTES = new Set(['authorization', 'resume']);
/** Account paths that are not a signed-in citizen at work (signing in and out). */
const NOT_ACTIVITY = new Set(['/account/login', '/account/callback', '/account/logout', '/account/logged-out']);
/** The session cookie's options, as provider.ts configures `cookies.long`. */
const SESSION_COOKIE = { httpOnly: true, sameSite: 'lax', signed: true, overwrite: true } as const;

export interface SessionActivityDeps {
  provider: Provider;
  db: Db;
  clock: Clock;
  limits: SessionLimits;
  logger: Logger;
}

export function sessionActivity(deps: SessionActivityDeps): Middleware {
  const { provider, db, clock, limits } = deps;
  const cookieName = provider.cookieName('session');
  // Activity is bookkeeping: a failure to record it must never fail the request it belongs to.
  const warn = (ctx: Context) => (error: unknown) => ((ctx.state.log as Logger | undefined) ?? deps.logger).warn({ err: error }, 'could not record session activity');

  async function touchAccountSession(ctx: Context): Promise<void> {
    const id = ctx.cookies.get(cookieName, { signed: true });
    if (!id) return;
    const now = clock.now();
    const session = await findSessionById(db, id, now);
    if (!session?.accountId) return;
    // As when oidc-provider saves the session: the age, the payload's `exp` and the cookie's expiry on
    // its clock, the row's expires_at on ours (the adapter's) — see session-lifetime.ts.
    const providerNow = providerEpochSeconds();
    const ttl = sessionTtlSeconds(limits, session.loginTs ?? undefined, providerNow);
    const expiresAt = new Date(now.getTime() + ttl * 1000);
    if (session.expiresAt === null || expiresAt.getTime() - session.expiresAt.getTime() >= ACTIVITY_RESOLUTION_SECONDS * 1000) {
      const exp = providerNow + ttl;
      if (await extendSessionExpiry(db, { id, from: session.expiresAt, expiresAt, exp })) {
        ctx.cookies.set(cookieName, id, { ...SESSION_COOKIE, expires: new Date(exp * 1000) });
      }
    }
    await recordSessionUse(db, { uid: session.uid, oid: session.accountId, ...where(ctx), signedInAt: signedInAt(session.loginTs, now), now });
  }

  async function recordAuthorization(ctx: Context): Promise<void> {
    const oidc = (ctx as Partial<KoaContextWithOIDC>).oidc;
    if (!oidc || !AUTHORIZATION_ROUTES.has(oidc.route)) return;
    const session = oidc.session as (NonNullable<typeof oidc.session> & { destroyed?: boolean }) | undefined;
    if (!session?.accountId || session.destroyed) return;
    const now = clock.now();
    await recordSessionUse(db, { uid: session.uid, oid: session.accountId, ...where(ctx), signedInAt: signedInAt(session.loginTs, now), now });
  }

  return async (ctx, next) => {
    if ((ctx.path === '/account' || ctx.path.startsWith('/account/')) && !NOT_ACTIVITY.has(ctx.path)) {
      await touchAccountSession(ctx).catch(warn(ctx));
    }
    await next();
    await recordAuthorization(ctx).catch(warn(ctx));
  };
}

function where(ctx: Context): { userAgent: string | null; ip: string | null } {
  return { userAgent: clampUserAgent(ctx.get('user-agent')), ip: displayIp(ctx.ip) };
}

function signedInAt(loginTs: number | null | undefined, now: Date): Date {
  return typeof loginTs === 'number' ? new Date(loginTs * 1000) : now;
}
