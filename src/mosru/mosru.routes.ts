import { timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import * as client from 'openid-client';
import type { Logger } from '../shared/logger.ts';
import { describeError, InvalidLogoutTokenError, type IdpClient } from './idp.client.ts';
import { LOGIN_TRANSACTION_TTL_MS, SESSION_TTL_MS, type LoginTransactionStore, type MosruSession, type SessionStore } from './session.store.ts';
import type { RenderView } from './views.ts';

export const LOGIN_COOKIE = 'mosru_login';
export const SESSION_COOKIE = 'mosru_session';

export interface MosruRouteDeps {
  baseUrl: string;
  scopes: string;
  idp: IdpClient;
  transactions: LoginTransactionStore;
  sessions: SessionStore;
  render: RenderView;
  secureCookies: boolean;
}

const CLAIM_LABELS: Record<string, string> = {
  sub: 'OID',
  name: 'ФИО',
  family_name: 'Фамилия',
  given_name: 'Имя',
  middle_name: 'Отчество',
  email: 'Электронная почта',
  email_verified: 'Почта подтверждена',
  phone_number: 'Мобильный телефон',
  phone_number_verified: 'Телефон подтверждён',
  birthdate: 'Дата рождения',
  gender: 'Пол',
};

/**
 * The relying party's side of the code flow. /login → IdP → /callback → session → home;
 * /logout ends the local session, then the IdP's; the IdP tells us about sign-outs elsewhere
 * through /backchannel-logout. Tokens and codes never reach the logs or the pages.
 */
export function mosruRoutes(deps: MosruRouteDeps): Router {
  const { baseUrl, idp, transactions, sessions, render } = deps;
  const redirectUri = `${baseUrl}/callback`;
  const router = new Router();
  const form = bodyParser({ enableTypes: ['form'], formLimit: '64kb' });

  router.get('/', (ctx) => {
    const session = currentSession(ctx);
    noStore(ctx);
    ctx.type = 'html';
    ctx.body = render('home.njk', { session, claims: session ? claimRows(session.claims) : [] });
  });

  router.get('/login', async (ctx) => {
    const config = await idp.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: deps.scopes,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const transactionId = transactions.create({ state, nonce, codeVerifier });
    ctx.cookies.set(LOGIN_COOKIE, transactionId, cookieOptions(deps, LOGIN_TRANSACTION_TTL_MS));
    noStore(ctx);
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    noStore(ctx);
    const transaction = transactions.take(ctx.cookies.get(LOGIN_COOKIE));
    ctx.cookies.set(LOGIN_COOKIE, null, cookieOptions(deps));
    if (!transaction) {
      renderLoginFailed(ctx, { message: 'Время на вход истекло или вход был начат в другом окне. Начните вход заново.' });
      return;
    }
    const config = await idp.configuration();
    const currentUrl = new URL(redirectUri);
    currentUrl.search = ctx.querystring;

    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    let userinfo: client.UserInfoResponse;
    try {
      tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
      });
      const idClaims = tokens.claims()!; // expectedNonce makes the ID token mandatory
      userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    } catch (error) {
      if (error instanceof client.AuthorizationResponseError) {
        // The IdP said no (the citizen refused, or the request was not acceptable): an outcome, not a fault.
        log(ctx).info({ error: error.error }, 'sign-in refused by the IdP');
        renderLoginFailed(ctx, {
          message: error.error === 'access_denied' ? 'Вы отказались предоставить доступ к данным или отменили вход.' : 'Госуслуги не подтвердили вход.',
          error: error.error,
          description: error.error_description,
        });
        return;
      }
      if (error instanceof client.ResponseBodyError || error instanceof client.WWWAuthenticateChallengeError || error instanceof client.ClientError) {
        // A response that fails validation (state, iss, ID token) or a refused code exchange.
        log(ctx).warn({ error: describeError(error) }, 'sign-in response rejected');
        renderLoginFailed(ctx, {
          message: 'Не удалось проверить ответ Госуслуг. Начните вход заново.',
          error: error instanceof client.ResponseBodyError ? error.error : error.code,
        });
        return;
      }
      throw error;
    }

    const idClaims = tokens.claims()!;
    sessions.destroy(ctx.cookies.get(SESSION_COOKIE)); // a fresh id for every sign-in: no session fixation
    const session = sessions.create({
      sub: idClaims.sub,
      sid: typeof idClaims.sid === 'string' ? idClaims.sid : undefined,
      name: displayName(userinfo),
      claims: { ...userinfo },
      idToken: tokens.id_token!,
      refreshToken: tokens.refresh_token,
    });
    ctx.cookies.set(SESSION_COOKIE, session.id, cookieOptions(deps, SESSION_TTL_MS));
    log(ctx).info({ sub: session.sub }, 'signed in');
    ctx.status = 303;
    ctx.redirect('/');
  });

  // Signing out changes state, so it is a POST with the session's CSRF token; a GET only leads home.
  router.get('/logout', (ctx) => {
    ctx.status = 303;
    ctx.redirect('/');
  });

  router.post('/logout', form, async (ctx) => {
    const session = currentSession(ctx);
    ctx.status = 303;
    if (!session) {
      ctx.redirect('/');
      return;
    }
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (!sameToken(body.csrf, session.csrfToken)) ctx.throw(403);

    sessions.destroy(session.id);
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(deps));
    log(ctx).info({ sub: session.sub }, 'signed out locally');

    let config: client.Configuration;
    try {
      config = await idp.configuration();
    } catch {
      ctx.redirect('/'); // signed out here at least; the IdP session ends on its own
      return;
    }
    if (session.refreshToken) {
      // If the citizen leaves the IdP's logout page without confirming, the token would outlive us.
      await client.tokenRevocation(config, session.refreshToken).catch((error: unknown) => {
        log(ctx).warn({ error: describeError(error) }, 'refresh token revocation failed');
      });
    }
    ctx.redirect(client.buildEndSessionUrl(config, { id_token_hint: session.idToken, post_logout_redirect_uri: `${baseUrl}/` }).href);
  });

  router.post('/backchannel-logout', form, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    const token = body.logout_token;
    if (typeof token !== 'string' || !token) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'logout_token is required' };
      return;
    }
    let subject: { sub?: string; sid?: string };
    try {
      subject = await idp.verifyLogoutToken(token);
    } catch (error) {
      if (!(error instanceof InvalidLogoutTokenError)) throw error;
      log(ctx).warn({ reason: error.message }, 'invalid logout token');
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'invalid logout_token' };
      return;
    }
    const ended = sessions.destroyMatching(subject);
    log(ctx).info({ sub: subject.sub, sid: subject.sid, ended }, 'back-channel logout');
    ctx.status = 200;
    ctx.body = '';
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  function currentSession(ctx: Context): MosruSession | undefined {
    const session = sessions.find(ctx.cookies.get(SESSION_COOKIE));
    // A cookie that names no session (ended by back-channel logout, expired, restart) is dropped.
    if (!session && ctx.cookies.get(SESSION_COOKIE)) ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(deps));
    return session;
  }

  function renderLoginFailed(ctx: Context, page: { message: string; error?: string; description?: string }) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = render('login-failed.njk', page);
  }

  return router;
}

function cookieOptions(deps: Pick<MosruRouteDeps, 'secureCookies'>, maxAge?: number) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: deps.secureCookies, path: '/', overwrite: true, ...(maxAge ? { maxAge } : {}) };
}

function claimRows(claims: Record<string, unknown>): Array<{ key: string; label: string; value: string }> {
  const known = Object.keys(CLAIM_LABELS).filter((key) => key in claims);
  const others = Object.keys(claims).filter((key) => !(key in CLAIM_LABELS)).sort();
  return [...known, ...others].map((key) => {
    const value = claims[key];
    return { key, label: CLAIM_LABELS[key] ?? key, value: typeof value === 'string' ? value : JSON.stringify(value) };
  });
}

function displayName(claims: Record<string, unknown>): string {
  if (typeof claims.name === 'string' && claims.name) return claims.name;
  const parts = [claims.family_name, claims.given_name, claims.middle_name].filter((part) => typeof part === 'string' && part);
  return parts.length ? parts.join(' ') : 'пользователь Госуслуг';
}

function sameToken(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function noStore(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
}

function log(ctx: Context): Logger {
  return ctx.state.log as Logger;
}
