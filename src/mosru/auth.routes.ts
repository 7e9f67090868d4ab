import Router from '@koa/router';
import type { Context } from 'koa';
import * as client from 'openid-client';
import { authenticate, EMAIL_TAKEN_MESSAGE, readCredentials, registerAccount, registerFromGosuslugi } from './accounts.service.ts';
import { completeBinding, revokeTokens } from './binding.service.ts';
import { findBindingByOid } from './bindings.repository.ts';
import { InvalidLogoutTokenError } from './idp.client.ts';
import { idpRefusalMessage, receiveCallback, redirectToIdp, type Tokens } from './oidc-flow.ts';
import { fetchPerson } from './person-api.ts';
import { readPersonalData, text } from './personal-data.form.ts';
import { MATCH_FIELD_LABELS } from './profile-match.ts';
import {
  createPendingRegistration,
  createSession,
  destroySession,
  destroySessionsOf,
  findPendingRegistration,
  PENDING_REGISTRATION_TTL_MS,
  SESSION_TTL_MS,
  type PendingRegistration,
} from './session.store.ts';
import { meetsLevel, TRUST_LEVEL_NAMES } from './trust-level.ts';
import { formatDateRu } from '../shared/validators.ts';
import { cookieOptions, formBody, log, page, REGISTER_COOKIE, safeNext, sessionOf, SESSION_COOKIE, type MosruDeps } from './web.ts';
import type { LoginTransaction } from './session.store.ts';

/**
 * Signing in and out: local accounts (e-mail and password), «Войти через Госуслуги», the IdP's
 * callback for both round trips (login and bind), and back-channel logout.
 */
export function authRoutes(deps: MosruDeps): Router {
  const { db, clock } = deps;
  const router = new Router();

  router.get('/', (ctx) => page(ctx, deps, 'home.njk'));

  router.get('/register', (ctx) => page(ctx, deps, 'register.njk', { values: {}, errors: {} }));

  router.post('/register', async (ctx) => {
    const body = formBody(ctx);
    const credentials = readCredentials(body);
    const personal = readPersonalData(body, clock.now());
    const values = withoutPasswords(body);
    if (!credentials.ok || !personal.ok) {
      page(ctx, deps, 'register.njk', { values, errors: { ...(credentials.ok ? {} : credentials.errors), ...(personal.ok ? {} : personal.errors) } }, 400);
      return;
    }
    const result = await registerAccount(db, { email: credentials.email, password: credentials.password, ...personal.value });
    if (!result.ok) {
      page(ctx, deps, 'register.njk', { values, errors: { email: EMAIL_TAKEN_MESSAGE } }, 409);
      return;
    }
    log(ctx).info({ accountId: result.account.id }, 'account registered');
    await startSession(ctx, { accountId: result.account.id }, '/');
  });

  router.get('/login', (ctx) => page(ctx, deps, 'login.njk', { email: '', next: safeNext(ctx.query.next) }));

  router.post('/login', async (ctx) => {
    const body = formBody(ctx);
    const next = safeNext(body.next);
    const account = await authenticate(db, text(body.email), text(body.password));
    if (!account) {
      page(ctx, deps, 'login.njk', { email: text(body.email), next, formError: 'Неверная электронная почта или пароль' }, 401);
      return;
    }
    log(ctx).info({ accountId: account.id }, 'signed in with password');
    await startSession(ctx, { accountId: account.id }, next);
  });

  router.get('/login/gosuslugi', (ctx) => redirectToIdp(ctx, deps, 'login', null));

  router.get('/callback', async (ctx) => {
    const result = await receiveCallback(ctx, deps);
    if (result.kind === 'invalid') {
      page(ctx, deps, 'idp-failed.njk', { heading: 'Не удалось завершить действие', message: result.message, error: result.error }, 400);
      return;
    }
    if (result.kind === 'idp_error') {
      const { purpose } = result.transaction;
      page(ctx, deps, 'idp-failed.njk', {
        heading: purpose === 'bind' ? 'Госуслуги не подключены' : 'Вход не выполнен',
        message: idpRefusalMessage(purpose, result.error, result.description),
        error: result.error,
        description: result.description,
        retry: purpose === 'bind' ? '/settings' : '/login/gosuslugi',
      }, 400);
      return;
    }
    const { purpose } = result.transaction;
    // Signed in at the IdP on someone else's behalf (a power of attorney): Mos.ru's accounts and
    // bindings are personal, so it takes only a citizen acting for themselves.
    if (result.tokens.claims()?.['urn:esia:acting_for']) {
      await revokeTokens(await deps.idp.configuration(), log(ctx), result.tokens);
      page(ctx, deps, 'idp-failed.njk', {
        heading: purpose === 'bind' ? 'Госуслуги не подключены' : 'Вход не выполнен',
        message: 'Мос.ру принимает вход только от своего имени. Войдите через Госуслуги снова и выберите «Как частное лицо».',
        retry: purpose === 'bind' ? '/settings' : '/login/gosuslugi',
      }, 403);
      return;
    }
    if (purpose === 'bind') await finishBinding(ctx, result.transaction, result.tokens);
    else await finishLogin(ctx, result.tokens);
  });

  async function finishBinding(ctx: Context, transaction: LoginTransaction, tokens: Tokens) {
    const session = sessionOf(ctx);
    // The binding is for the account that started it, and only while it is still signed in here.
    if (!session || session.account.id !== transaction.accountId) {
      await revokeTokens(await deps.idp.configuration(), log(ctx), tokens);
      page(ctx, deps, 'idp-failed.njk', { heading: 'Госуслуги не подключены', message: 'Войдите в Мос.ру тем же пользователем и подключите Госуслуги снова.', retry: '/settings' }, 400);
      return;
    }
    const outcome = await completeBinding(deps, log(ctx), { accountId: session.account.id, tokens });
    if (outcome.ok) {
      ctx.status = 303;
      ctx.redirect('/settings?connected=1');
      return;
    }
    page(ctx, deps, 'binding-refused.njk', {
      reason: outcome.reason,
      fields: outcome.reason === 'mismatch' ? outcome.fields.map((field) => ({ field, label: MATCH_FIELD_LABELS[field] })) : [],
      required: TRUST_LEVEL_NAMES[deps.minTrustLevel],
    }, 409);
  }

  /** A bound OID signs in to its account; an unknown one is offered a new account filled in from the IdP. */
  async function finishLogin(ctx: Context, tokens: Tokens) {
    const claims = tokens.claims()!;
    const oid = claims.sub;
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
    if (!meetsLevel(acr, deps.minTrustLevel)) {
      page(ctx, deps, 'idp-failed.njk', { heading: 'Вход не выполнен', message: `Для входа нужна ${TRUST_LEVEL_NAMES[deps.minTrustLevel]} учётная запись Госуслуг.`, retry: '/login' }, 403);
      return;
    }
    const binding = await findBindingByOid(db, oid);
    if (binding) {
      log(ctx).info({ oid, accountId: binding.account_id }, 'signed in through Госуслуги');
      await startSession(ctx, { accountId: binding.account_id, oidcSub: oid, oidcSid: sid, idToken: tokens.id_token }, '/');
      return;
    }
    const person = await fetchPerson(await deps.idp.configuration(), tokens.access_token, oid);
    const token = await createPendingRegistration(db, clock, {
      oid,
      oidcSid: sid ?? null,
      idToken: tokens.id_token!,
      profile: {
        lastName: person.lastName ?? '',
        firstName: person.firstName ?? '',
        ...(person.middleName ? { middleName: person.middleName } : {}),
        ...(person.birthDate ? { birthDate: person.birthDate } : {}),
        ...(person.email ? { email: person.email } : {}),
        ...(person.snils ? { snils: person.snils } : {}),
      },
    });
    log(ctx).info({ oid }, 'unknown OID: registration offered');
    ctx.cookies.set(REGISTER_COOKIE, token, cookieOptions(deps, PENDING_REGISTRATION_TTL_MS));
    ctx.status = 303;
    ctx.redirect('/register/gosuslugi');
  }

  router.get('/register/gosuslugi', async (ctx) => {
    const pending = await findPendingRegistration(db, clock, ctx.cookies.get(REGISTER_COOKIE));
    if (!pending) return expiredRegistration(ctx);
    page(ctx, deps, 'register-gosuslugi.njk', { profile: profileView(pending), values: { email: pending.profile.email ?? '' }, errors: {} });
  });

  router.post('/register/gosuslugi', async (ctx) => {
    const token = ctx.cookies.get(REGISTER_COOKIE);
    const pending = await findPendingRegistration(db, clock, token);
    if (!token || !pending) return expiredRegistration(ctx);
    const body = formBody(ctx);
    const credentials = readCredentials(body);
    // Names come from Госуслуги as they are; only a missing birth date is asked for.
    const personal = readPersonalData({ ...pendingNames(pending), birthDate: pending.profile.birthDate ?? body.birthDate }, clock.now());
    const values = withoutPasswords(body);
    if (!credentials.ok || !personal.ok) {
      page(ctx, deps, 'register-gosuslugi.njk', { profile: profileView(pending), values, errors: { ...(credentials.ok ? {} : credentials.errors), ...(personal.ok ? {} : personal.errors) } }, 400);
      return;
    }
    const result = await registerFromGosuslugi(db, token, { email: credentials.email, password: credentials.password, ...personal.value });
    if (!result.ok && result.reason === 'expired') return expiredRegistration(ctx);
    if (!result.ok) {
      page(ctx, deps, 'register-gosuslugi.njk', { profile: profileView(pending), values, errors: { email: EMAIL_TAKEN_MESSAGE } }, 409);
      return;
    }
    ctx.cookies.set(REGISTER_COOKIE, null, cookieOptions(deps));
    log(ctx).info({ accountId: result.account.id, oid: pending.oid }, 'account registered through Госуслуги');
    const sessionToken = await createSession(db, clock, { accountId: result.account.id, oidcSub: pending.oid, oidcSid: pending.oidcSid ?? undefined, idToken: pending.idToken });
    ctx.cookies.set(SESSION_COOKIE, sessionToken, cookieOptions(deps, SESSION_TTL_MS));
    // The binding itself is made by the usual round trip (consent with offline_access, the same
    // checks); the IdP session is still open, so the citizen only confirms the consent.
    await redirectToIdp(ctx, deps, 'bind', result.account.id);
  });

  // Signing out changes state, so it is a POST with the form token; a GET only leads home.
  router.get('/logout', (ctx) => {
    ctx.status = 303;
    ctx.redirect('/');
  });

  router.post('/logout', async (ctx) => {
    const session = sessionOf(ctx);
    await destroySession(db, ctx.cookies.get(SESSION_COOKIE));
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(deps));
    ctx.status = 303;
    if (!session?.idToken) {
      ctx.redirect('/');
      return;
    }
    log(ctx).info({ sub: session.oidcSub }, 'signed out locally');
    // Signed in through Госуслуги: end the IdP session too, through its confirmation page.
    let config: client.Configuration;
    try {
      config = await deps.idp.configuration();
    } catch {
      ctx.redirect('/'); // signed out here at least; the IdP session ends on its own
      return;
    }
    ctx.redirect(client.buildEndSessionUrl(config, { id_token_hint: session.idToken, post_logout_redirect_uri: `${deps.baseUrl}/` }).href);
  });

  router.post('/backchannel-logout', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const token = formBody(ctx).logout_token;
    if (typeof token !== 'string' || !token) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'logout_token is required' };
      return;
    }
    let subject: { sub?: string; sid?: string };
    try {
      subject = await deps.idp.verifyLogoutToken(token);
    } catch (error) {
      if (!(error instanceof InvalidLogoutTokenError)) throw error;
      log(ctx).warn({ reason: error.message }, 'invalid logout token');
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'invalid logout_token' };
      return;
    }
    const ended = await destroySessionsOf(db, subject);
    log(ctx).info({ sub: subject.sub, sid: subject.sid, ended }, 'back-channel logout');
    ctx.status = 200;
    ctx.body = '';
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  async function startSession(ctx: Context, data: { accountId: string; oidcSub?: string; oidcSid?: string; idToken?: string }, next: string) {
    const token = await createSession(db, clock, data);
    ctx.cookies.set(SESSION_COOKIE, token, cookieOptions(deps, SESSION_TTL_MS));
    ctx.status = 303;
    ctx.redirect(next);
  }

  function expiredRegistration(ctx: Context) {
    page(ctx, deps, 'idp-failed.njk', { heading: 'Регистрация не завершена', message: 'Время на регистрацию истекло. Войдите через Госуслуги ещё раз.', retry: '/login/gosuslugi' }, 400);
  }

  return router;
}

/** What the citizen typed, to show again — never the passwords. */
function withoutPasswords(body: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) if (typeof value === 'string' && !/password|_csrf/i.test(key)) values[key] = value;
  return values;
}

function profileView(pending: PendingRegistration) {
  return { ...pending.profile, birthDateRu: pending.profile.birthDate ? formatDateRu(pending.profile.birthDate) : undefined };
}

function pendingNames(pending: PendingRegistration): Record<string, string> {
  return { lastName: pending.profile.lastName, firstName: pending.profile.firstName, middleName: pending.profile.middleName ?? '', snils: pending.profile.snils ?? '' };
}


