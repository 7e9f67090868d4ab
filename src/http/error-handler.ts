import type { Middleware, Context } from 'koa';
import { AppError } from '../shared/app-error.ts';
import { pickLocale, translator } from './i18n.ts';
import type { Views } from './views.ts';

/**
 * Turns errors from our own routes into a Russian page (browsers) or `{ error, error_description }`
 * JSON (APIs). Only AppErrors below 500 show their message; anything else is logged with the request
 * id and shown as a generic 500. oidc-provider's own endpoints render their errors through `renderError`.
 */
export function errorHandler(views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('error.not_found', 404);
    } catch (error) {
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

function wantsJson(ctx: Context): boolean {
  return ctx.accepts('html', 'json') === 'json' || ctx.path.startsWith('/api/') || ctx.path.startsWith('/rs/');
}
