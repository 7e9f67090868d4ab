import Tokens from 'csrf';
import type { Middleware } from 'koa';

const tokens = new Tokens();
export const CSRF_COOKIE = 'mosru_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Synchroniser tokens for every Mos.ru form: a per-browser secret in an HttpOnly cookie and a
 * token derived from it in each form's `_csrf` field. Runs after the form body parser. Paths in
 * `exempt` are called by servers, not browsers (back-channel logout), and carry no cookie.
 */
export function csrfProtection(options: { secure: boolean; exempt: string[] }): Middleware {
  return async (ctx, next) => {
    if (options.exempt.includes(ctx.path)) return next();
    let secret = ctx.cookies.get(CSRF_COOKIE);
    if (!secret || secret.length < 18) {
      secret = tokens.secretSync();
      ctx.cookies.set(CSRF_COOKIE, secret, { httpOnly: true, sameSite: 'lax', secure: options.secure, path: '/', overwrite: true });
    }
    if (!SAFE_METHODS.has(ctx.method)) {
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const token = typeof body?._csrf === 'string' ? body._csrf : undefined;
      if (!token || !tokens.verify(secret, token)) ctx.throw(403, 'csrf token missing or invalid');
    }
    ctx.state.csrfToken = tokens.create(secret);
    await next();
  };
}
