/**
 * How long a single sign-on session lives: it ends when unused for `idleSeconds` (SESSION_IDLE_TTL),
 * and in any case `absoluteSeconds` (SESSION_TTL) after the citizen signed in.
 *
 * Both are enforced through the session's own expiry, nothing else: every time the session is saved
 * it gets `min(idle, what is left of the absolute lifetime)` from now. oidc-provider saves an existing
 * session on every authorization request (shared/session.js: "not new, or touched" → `save(ttl)`,
 * calling `ttl.Session(ctx, session)` when it is a function), and session-activity.ts extends it when
 * the citizen uses the account pages. An expired row is not found (the adapter compares `expires_at`
 * with our clock), so an idle or too old session simply reads as "no session".
 *
 * Two clocks meet here. The TTL is a duration: the adapter adds it to OUR clock for `expires_at`, so
 * the idle timeout follows the injected clock like every other expiry. The absolute lifetime is an
 * age, and the sign-in time it counts from (`loginTs`) is stamped by oidc-provider with the real
 * clock, so the age is measured on the real clock too. In production they are the same clock; in tests
 * a fake clock moved by days cannot make oidc-provider's `loginTs` look ancient.
 */
export interface SessionLimits {
  idleSeconds: number;
  absoluteSeconds: number;
}

/** Seconds the session may live from `now` (epoch seconds); `loginTs` is oidc-provider's sign-in time. */
export function sessionTtlSeconds(limits: SessionLimits, loginTs: number | undefined, now: number): number {
  const idle = Math.min(limits.idleSeconds, limits.absoluteSeconds);
  if (typeof loginTs !== 'number') return idle;
  const leftOfAbsolute = loginTs + limits.absoluteSeconds - now;
  // oidc-provider insists on a positive TTL; a session past its lifetime is never found to be re-saved,
  // so this floor only matters within the one request that crosses the line.
  return Math.max(1, Math.min(idle, leftOfAbsolute));
}

/** oidc-provider's "now" (its epochTime): the clock `loginTs` and a payload's `exp` are on. */
export function providerEpochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `ttl.Session` for oidc-provider: the sliding expiry above. */
export function createSessionTtl(limits: SessionLimits, now: () => number = providerEpochSeconds) {
  return (_ctx: unknown, session: { loginTs?: number }): number => sessionTtlSeconds(limits, session.loginTs, now());
}
