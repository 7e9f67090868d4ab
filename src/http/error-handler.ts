import type { Middleware, Context } from 'koa';
import { AppError } from '../shared/app-error.ts';
import { isDatabaseUnavailable } from '../db/pg-errors.ts';
import { pickLocale, translator } from './i18n.ts';
import type { Views } from './views.ts';

/**
 * Turns errors from our own routes into a Russian page (browsers) or `{ error, error_description }`
 * JSON (APIs). Only AppErrors below 500 show their message; anything else is logged with the request
 * id and shown as a generic 500. A database outage is a 503 with Retry-After: the same request will
 * work once the database is back. oidc-provider's own endpoints render their errors through `renderError`.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('error.not_found', 404);
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        answerUnavailable(ctx, views, error);
        return;
      }
      const known = error instanceof AppError && error.status < 500 ? error : undefined;
      const status = known?.status ?? (isClientHttpError(error) ? error.status : 500);
      if (status >= 500) ctx.state.log?.error({ err: error }, 'unhandled error');
      const code = known?.code ?? statusCode(status);
      ctx.status = status;
      const retryAfter = known?.details?.retryAfterSeconds;
      if (status === 429 && typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter));
      if (wantsJson(ctx)) {
        ctx.body = { error: code, error_description: known?.message ?? code, request_id: ctx.state.requestId, ...(typeof retryAfter === 'number' ? { retry_after: retryAfter } : {}) };
        return;
      }
      const locale = pickLocale(ctx.query.lang ?? ctx.query.ui_locales);
      const t = translator(locale);
      ctx.type = 'html';
      ctx.body = views.render('error.njk', locale, {
        heading: t('error.title'),
        message: pageMessage(t, known ? code : statusCode(status), status, retryAfter),
        requestId: ctx.state.requestId,
      });
    }
  };
}

function answerUnavailable(ctx: Context, views: Views, error: unknown): void {
  ctx.state.log?.warn({ err: error }, 'database unavailable');
  ctx.status = 503;
  ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  if (wantsJson(ctx)) {
    ctx.body = { error: 'service_unavailable', error_description: 'service temporarily unavailable', request_id: ctx.state.requestId, retry_after: UNAVAILABLE_RETRY_AFTER_SECONDS };
    return;
  }
  const locale = pickLocale(ctx.query.lang ?? ctx.query.ui_locales);
  const t = translator(locale);
  ctx.type = 'html';
  ctx.body = views.render('error.njk', locale, { heading: t('error.title'), message: t('error.unavailable'), requestId: ctx.state.requestId });
}

/** The area's text for the code, else the status's generic text; a 429 says when to come back. */
function pageMessage(t: (key: string, params?: Record<string, string>) => string, code: string, status: number, retryAfter: unknown): string {
  if (status === 429 && typeof retryAfter === 'number') return t('error.rate_limited', { minutes: String(Math.max(1, Math.ceil(retryAfter / 60))) });
  const text = t(code);
  return text === code ? t(statusCode(status)) : text;
}

function statusCode(status: number): string {
  if (status === 404) return 'error.not_found';
  if (status === 403) return 'error.forbidden';
  if (status === 429) return 'error.too_many_requests';
  if (status < 500) return 'error.bad_request';
  return 'error.internal';
}

// Koa's ctx.throw / body-parser errors carry a status and `expose` for client errors.
function isClientHttpError(error: unknown): error is { status: number } {
  return typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number' && error.status >= 400 && error.status < 500;
}

// oidc-provider's machine endpoints (token, introspection, revocation, userinfo, PAR, CIBA, JWKS):
// our middleware in front of them (rate limits, session activity) can fail too, and their callers
// send no Accept header, yet expect JSON like oidc-provider's own errors.
const JSON_PATHS = /^\/(api|rs|token|me|request|backchannel|jwks|reg)(\/|$)/;

function wantsJson(ctx: Context): boolean {
  return ctx.accepts('html', 'json') === 'json' || JSON_PATHS.test(ctx.path);
}

/**
 * Every 503 says when to come back, including those oidc-provider renders itself (its
 * temporarily_unavailable from a database outage, see src/oidc/adapter.ts).
 */
export function retryAfterOnUnavailable(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  };
}
