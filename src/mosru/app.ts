import { readFileSync } from 'node:fs';
import Koa, { type Middleware } from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { requestLog } from '../shared/request-log.ts';
import { authRoutes } from './auth.routes.ts';
import { csrfProtection } from './csrf.ts';
import { createIdpClient, describeError, IdpUnavailableError } from './idp.client.ts';
import type { MosruDatabase } from './mosru.tables.ts';
import { servicesRoutes } from './services.routes.ts';
import { settingsRoutes } from './settings.routes.ts';
import { createTokenSealer } from './token-sealer.ts';
import type { TrustLevel } from './trust-level.ts';
import { createMosruViews, type RenderView } from './views.ts';
import { loadSession, type MosruDeps } from './web.ts';

export interface MosruOptions {
  /** Where browsers reach Mos.ru, without a trailing slash: redirect and post-logout URIs derive from it. */
  baseUrl: string;
  idpIssuer: string;
  clientId: string;
  clientSecret: string;
  logger: Logger;
  /** Mos.ru's tables (schema `mosru`; run `migrateMosru` first). May share the IdP's pool, never its tables. */
  db: Kysely<MosruDatabase>;
  /** The lowest IdP trust level Mos.ru accepts, sent as `acr_values`; `standard` by default. */
  minTrustLevel?: TrustLevel;
  /** Space-separated scopes for «Подключить Госуслуги». */
  bindScopes?: string;
  /** Space-separated scopes for «Войти через Госуслуги». */
  loginScopes?: string;
  /** 32 bytes sealing stored refresh tokens; derived from the client secret when absent. */
  tokenKey?: Buffer;
  clock?: Clock;
}

/** The data Mos.ru services use, and `offline_access`: a binding outlives the citizen's IdP session. */
export const DEFAULT_BIND_SCOPES = 'openid fullname birthdate gender snils id_doc addresses mobile email offline_access';
/** Enough to recognise a bound citizen or to fill in a new account's form. */
export const DEFAULT_LOGIN_SCOPES = 'openid fullname birthdate gender snils id_doc addresses mobile email';

/** Server-to-server and probe paths: no browser session, no CSRF cookie. */
const MACHINE_PATHS = ['/backchannel-logout', '/healthz'];

/**
 * The mock Mos.ru: a relying party with its own port, cookies (`mosru_*`), pages and tables. It
 * knows the IdP only by its issuer URL and client credentials, and talks to it only over HTTP.
 */
export function createMosruApp(options: MosruOptions): Koa {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const secureCookies = new URL(baseUrl).protocol === 'https:';
  const render = createMosruViews();
  const deps: MosruDeps = {
    baseUrl,
    db: options.db,
    clock: options.clock ?? systemClock,
    idp: createIdpClient({ issuer: options.idpIssuer, clientId: options.clientId, clientSecret: options.clientSecret, logger: options.logger }),
    sealer: createTokenSealer({ tokenKey: options.tokenKey, clientSecret: options.clientSecret }),
    render,
    secureCookies,
    minTrustLevel: options.minTrustLevel ?? 'standard',
    bindScopes: options.bindScopes ?? DEFAULT_BIND_SCOPES,
    loginScopes: options.loginScopes ?? DEFAULT_LOGIN_SCOPES,
  };

  const app = new Koa();
  // An https base URL on a plain-HTTP server means a TLS-terminating proxy in front; Koa must
  // believe its X-Forwarded-Proto, or it refuses to set Secure cookies.
  app.proxy = secureCookies;
  app.silent = true; // errors are logged by our handler, without tokens

  app.use(requestLog(options.logger, { trustProxy: false }));
  app.use(securityHeaders(new URL(options.idpIssuer).origin));
  app.use(errorPages(render));
  app.use(assetRoutes().routes());
  app.use(bodyParser({ enableTypes: ['form'], formLimit: '64kb' }));
  app.use(csrfProtection({ secure: secureCookies, exempt: MACHINE_PATHS }));
  const session = loadSession(deps);
  app.use((ctx, next) => (MACHINE_PATHS.includes(ctx.path) ? next() : session(ctx, next)));
  for (const router of [authRoutes(deps), settingsRoutes(deps), servicesRoutes(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}

/**
 * Our pages load only our stylesheet and run no scripts. Forms may post here and, through a
 * redirect (sign-out), on to the IdP: browsers check form-action along the redirect chain.
 */
function securityHeaders(idpOrigin: string): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    if (ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', `default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' ${idpOrigin}; frame-ancestors 'none'; base-uri 'none'`);
    }
  };
}

/** Unknown paths and failures as a Russian page; the cause goes to the log, never to the page. */
function errorPages(render: RenderView): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) ctx.throw(404);
    } catch (error) {
      const status = error instanceof IdpUnavailableError ? 503 : clientErrorStatus(error) ?? 500;
      if (status >= 500) ctx.state.log.error({ error: describeError(error) }, 'request failed');
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      if (status === 503) ctx.set('Retry-After', '5');
      ctx.type = 'html';
      ctx.body = render('error.njk', { heading: status >= 500 ? 'Ошибка' : 'Ошибка запроса', message: messageFor(status), requestId: ctx.state.requestId });
    }
  };
}

function messageFor(status: number): string {
  if (status === 404) return 'Страница не найдена.';
  if (status === 403) return 'Действие не разрешено. Обновите страницу и попробуйте снова.';
  if (status === 503) return 'Госуслуги временно недоступны. Повторите попытку через несколько минут.';
  if (status < 500) return 'Неверный запрос.';
  return 'Что-то пошло не так. Повторите попытку позже.';
}

// Koa's ctx.throw and the body parser mark client errors with a 4xx status.
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error) || typeof error.status !== 'number') return undefined;
  return error.status >= 400 && error.status < 500 ? error.status : undefined;
}

function assetRoutes(): Router {
  const css = readFileSync(new URL('./assets/mosru.css', import.meta.url));
  const router = new Router();
  router.get('/assets/mosru.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  return router;
}
