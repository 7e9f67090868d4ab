import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import type { Views } from '../http/views.ts';
import { loadTrustProgress } from '../trust/trust-progress.ts';
import { stepsToNextLevel } from '../trust/trust-levels.ts';
import { ACCOUNT_CLIENT_ID, requireCitizen } from './account-session.ts';

const STATE_COOKIE = 'account_login';

export interface AccountDeps {
  provider: Provider;
  db: Db;
  views: Views;
  issuer: string;
  secureCookies: boolean;
}

/** Signing in to and out of the account console, and its overview page. */
export function accountRoutes({ provider, db, views, issuer, secureCookies }: AccountDeps): Router {
  const router = new Router({ prefix: '/account' });

  // Starts an authorization for the first-party account client; the state ties the answer to this browser.
  router.get('/login', (ctx) => {
    const state = randomBytes(16).toString('base64url');
    const returnTo = safeReturnPath(ctx.query.return_to);
    ctx.cookies.set(STATE_COOKIE, `${state}|${returnTo}`, { httpOnly: true, sameSite: 'lax', signed: true, secure: secureCookies, maxAge: 30 * 60 * 1000, overwrite: true });
    const auth = new URL(`${issuer}/auth`);
    auth.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID, response_type: 'none', scope: 'openid', redirect_uri: `${issuer}/account/callback`, state,
      ...(typeof ctx.query.ui_locales === 'string' ? { ui_locales: ctx.query.ui_locales } : {}),
    }).toString();
    ctx.redirect(auth.toString());
  });

  router.get('/callback', (ctx) => {
    const [expectedState, returnTo] = (ctx.cookies.get(STATE_COOKIE, { signed: true }) ?? '').split('|');
    ctx.cookies.set(STATE_COOKIE, null);
    if (!expectedState || ctx.query.state !== expectedState || ctx.query.error) {
      ctx.redirect('/account/login');
      return;
    }
    ctx.redirect(safeReturnPath(returnTo));
  });

  router.get('/logged-out', (ctx) => {
    const locale = pickLocale(ctx.query.lang);
    const t = translator(locale);
    ctx.type = 'html';
    ctx.body = views.render('message.njk', locale, { heading: t('account.title'), message: t('account.logged_out') });
  });

  router.get('/logout', (ctx) => {
    const end = new URL(`${issuer}/session/end`);
    end.search = new URLSearchParams({ client_id: ACCOUNT_CLIENT_ID, post_logout_redirect_uri: `${issuer}/account/logged-out` }).toString();
    ctx.redirect(end.toString());
  });

  router.get('/', requireCitizen(provider, db), async (ctx) => {
    const citizen = ctx.state.citizen as Citizen;
    const locale = pickLocale(ctx.query.lang);
    const progress = await loadTrustProgress(db, citizen);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render('account-overview.njk', locale, { citizen, steps: stepsToNextLevel(progress), active: 'overview' });
  });

  return router;
}

/** Only our own account and operator pages: never an absolute URL or `//host` (open redirect). */
export function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && /^\/(account|operator)(\/[\w\-/]*)?(\?[\w\-=&%.]*)?$/.test(value) ? value : '/account';
}
