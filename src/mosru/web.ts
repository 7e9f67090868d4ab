import type { Context, Middleware } from 'koa';
import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import type { IdpClient } from './idp.client.ts';
import type { MosruDatabase } from './mosru.tables.ts';
import { findSession, sweepExpired, type MosruSession } from './session.store.ts';
import type { TrustLevel } from './trust-level.ts';
import type { RenderView } from './views.ts';

/** Everything Mos.ru's routes receive; built once in app.ts. */
export interface MosruDeps {
  baseUrl: string;
  db: Kysely<MosruDatabase>;
  clock: Clock;
  idp: IdpClient;
  sealer: SecretBox;
  render: RenderView;
  secureCookies: boolean;
  minTrustLevel: TrustLevel;
  /** Asked for by «Подключить Госуслуги»: the data scopes and offline_access. */
  bindScopes: string;
  /** Asked for by «Войти через Госуслуги». */
  loginScopes: string;
}

export const SESSION_COOKIE = 'mosru_session';
export const LOGIN_COOKIE = 'mosru_login';
export const REGISTER_COOKIE = 'mosru_register';

export function cookieOptions(deps: Pick<MosruDeps, 'secureCookies'>, maxAge?: number) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: deps.secureCookies, path: '/', overwrite: true, ...(maxAge ? { maxAge } : {}) };
}

const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Puts the signed-in account (if any) in ctx.state.session; a cookie naming no live session is dropped. */
export function loadSession(deps: MosruDeps): Middleware {
  let nextSweep = 0;
  return async (ctx, next) => {
    const now = deps.clock.now().getTime();
    if (now >= nextSweep) {
      nextSweep = now + SWEEP_INTERVAL_MS;
      sweepExpired(deps.db, deps.clock).catch((error: unknown) => log(ctx).warn({ err: error }, 'sweeping expired rows failed'));
    }
    const token = ctx.cookies.get(SESSION_COOKIE);
    const session = await findSession(deps.db, deps.clock, token);
    if (!session && token) ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(deps));
    ctx.state.session = session;
    await next();
  };
}

export function sessionOf(ctx: Context): MosruSession | undefined {
  return ctx.state.session as MosruSession | undefined;
}

/** The signed-in account's session; otherwise a redirect to the sign-in page (and undefined). */
export function requireSession(ctx: Context): MosruSession | undefined {
  const session = sessionOf(ctx);
  if (!session) {
    ctx.status = 303;
    // After signing in the browser comes back with a GET: a form's target is no place to return to.
    ctx.redirect(`/login?next=${encodeURIComponent(ctx.method === 'GET' ? ctx.path : '/')}`);
  }
  return session;
}

/** Renders a page with what every page needs: the CSRF token and who is signed in. */
export function page(ctx: Context, deps: Pick<MosruDeps, 'render'>, template: string, context: Record<string, unknown> = {}, status = 200): void {
  const session = sessionOf(ctx);
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'html';
  ctx.body = deps.render(template, {
    csrfToken: ctx.state.csrfToken,
    signedIn: session ? { name: displayName(session.account), email: session.account.email } : undefined,
    ...context,
  });
}

export function displayName(account: { last_name: string; first_name: string; middle_name: string | null }): string {
  return [account.last_name, account.first_name, account.middle_name].filter(Boolean).join(' ');
}

export function formBody(ctx: Context): Record<string, unknown> {
  return (ctx.request.body ?? {}) as Record<string, unknown>;
}

/** Only our own paths: `next` must not send the browser elsewhere. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\w\-/]*$/.test(value) ? value : '/';
}

export function log(ctx: Context): Logger {
  return ctx.state.log as Logger;
}
