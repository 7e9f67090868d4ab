import Tokens from 'csrf';
import type { Middleware } from 'koa';
import { AppError } from '../shared/app-error.ts';

const tokens = new Tokens();
const SECRET_COOKIE = 'csrf_secret';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for our own forms (synchroniser token, as csurf did): a per-browser secret in a
 * signed HttpOnly cookie, and a token derived from it in every form (`_csrf`) or header
 * (`X-CSRF-Token`). Runs after the body parser. Templates read the token as `csrfToken`.
 * The OIDC interaction forms rely on oidc-provider's own interaction cookie instead.
 */
export function csrfProtection(options: { secure: boolean }): Middleware {
  return async (ctx, next) => {
    let secret = ctx.cookies.get(SECRET_COOKIE, { signed: true });
    if (!secret) {
      secret = tokens.secretSync();
      ctx.cookies.set(SECRET_COOKIE, secret, { httpOnly: true, sameSite: 'lax', signed: true, secure: options.secure, overwrite: true });
    }
    if (!SAFE_METHODS.has(ctx.method)) {
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const token = (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? ctx.get('x-csrf-token');
      if (!token || !tokens.verify(secret, token)) throw new AppError('error.csrf', 403, 'the form has expired; reload the page and try again');
    }
    ctx.state.csrfToken = tokens.create(secret);
    await next();
  };
}
