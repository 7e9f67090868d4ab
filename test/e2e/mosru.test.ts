import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { generateKeyPair, SignJWT } from 'jose';
import { createMosruApp } from '../../src/mosru/app.ts';
import { registerAccount } from '../../src/mosru/accounts.service.ts';
import { upsertBinding } from '../../src/mosru/bindings.repository.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { giveIdentity } from '../support/identity.ts';
import { createBrowser, findForm, textOf, type Browser, type Page } from '../support/browserless.ts';
import { passIdp, signInAtMosru, startMosru, type TestMosru } from '../support/browser.ts';
import { grantPower } from './acting-support.ts';

/**
 * The mock Mos.ru against a real IdP, both on loopback ports, driven like a browser would drive
 * them: local accounts, «Войти через Госуслуги», signing out, back-channel logout. Binding is in
 * mosru-binding.test.ts.
 */
let idp: TestIdp;
let mosru: TestMosru;
let n = 0;

beforeAll(async () => {
  idp = await startTestIdp();
  mosru = await startMosru(idp);
});

afterAll(async () => {
  await mosru?.close();
  await idp?.close();
});

const PASSWORD = 'Parol-12345';

async function localAccount(overrides: { email?: string } = {}) {
  const email = overrides.email ?? `local${++n}-${Date.now()}@mos.test`;
  const result = await registerAccount(mosru.db, { email, password: PASSWORD, lastName: 'Смирнов', firstName: 'Олег', middleName: null, birthDate: '1990-02-03', snils: null });
  if (!result.ok) throw new Error('not created');
  return { email, password: PASSWORD, accountId: result.account.id };
}

/** An IdP citizen whose OID is bound to a Mos.ru account (the binding row is written directly). */
async function boundCitizen() {
  const citizen = await idp.makeCitizen({ lastName: 'Соколова', firstName: 'Мария', middleName: 'Андреевна' });
  // Mos.ru asks for at least a standard account.
  await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
  const account = await localAccount();
  await upsertBinding(mosru.db, { accountId: account.accountId, oid: citizen.oid, scopes: 'openid fullname', refreshTokenSealed: null, now: new Date() });
  return { citizen, account };
}

async function signInWithGosuslugi(browser: Browser, citizen: { login: string; password: string }): Promise<Page> {
  return passIdp(browser, await browser.get(`${mosru.base}/login/gosuslugi`), citizen);
}

function isSignedIn(page: Page): boolean {
  return page.body.includes('Вы вошли как');
}

function fieldError(page: Page, field: string): string | undefined {
  return new RegExp(`data-error-for="${field}">([^<]*)<`).exec(page.body)?.[1];
}

describe('local Mos.ru accounts', () => {
  it('registers with e-mail and password, and signs in', async () => {
    const browser = createBrowser();
    const home = await browser.get(`${mosru.base}/`);
    expect(home.status).toBe(200);
    for (const link of ['Войти', 'Войти через Госуслуги', 'Зарегистрироваться']) expect(textOf(home.body)).toContain(link);

    const form = await browser.get(`${mosru.base}/register`);
    const email = `Reg${Date.now()}@Mos.Test`;
    const page = await browser.submit(form, { id: 'register-form' }, {
      email, password: PASSWORD, passwordRepeat: PASSWORD, lastName: ' Ёлкин ', firstName: 'Пётр', middleName: '', birthDate: '01.02.1990', snils: '112-233-445 95',
    });
    expect(page.url).toBe(`${mosru.base}/`);
    expect(textOf(page.body)).toContain('Вы вошли как Ёлкин Пётр');
    const sessionCookie = browser.cookies(`${mosru.base}/`).mosru_session;
    expect(sessionCookie).toBeTruthy();
    const account = await mosru.db.selectFrom('mosru.accounts').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirstOrThrow();
    expect(account).toMatchObject({ last_name: 'Ёлкин', middle_name: null, birth_date: '1990-02-01', snils: '11223344595' });
    expect(account.password_hash).toMatch(/^\$argon2id\$/);
    // The table keeps a hash of the session cookie, not the cookie.
    expect(await mosru.db.selectFrom('mosru.sessions').select('id').where('id', '=', sessionCookie).execute()).toEqual([]);

    const other = createBrowser();
    expect(isSignedIn(await signInAtMosru(other, mosru, { email: email.toLowerCase(), password: PASSWORD }))).toBe(true);
  });

  it('shows each mistake beside its field, in Russian, keeping what was typed but the passwords', async () => {
    const browser = createBrowser();
    const form = await browser.get(`${mosru.base}/register`);
    const page = await browser.submit(form, { id: 'register-form' }, {
      email: 'not-an-email', password: 'short1', passwordRepeat: 'short1', lastName: 'Smith', firstName: '', birthDate: '31.02.1990', snils: '112-233-445 96',
    });
    expect(page.status).toBe(400);
    expect(fieldError(page, 'email')).toBe('Проверьте адрес электронной почты');
    expect(fieldError(page, 'password')).toBe('Пароль должен быть не короче 8 символов');
    expect(fieldError(page, 'lastName')).toBe('Только русские буквы, дефис, апостроф и пробел');
    expect(fieldError(page, 'firstName')).toBe('Укажите имя');
    expect(fieldError(page, 'birthDate')).toBe('Такой даты не существует');
    expect(fieldError(page, 'snils')).toBe('Неверное контрольное число СНИЛС — проверьте номер');
    const fields = findForm(page.body, { id: 'register-form' })!.fields;
    expect(fields).toMatchObject({ email: 'not-an-email', lastName: 'Smith', snils: '112-233-445 96' });
    expect(fields.password).toBe('');
    expect(page.body).not.toContain('short1');
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();
  });

  it('does not register an e-mail twice', async () => {
    const existing = await localAccount();
    const browser = createBrowser();
    const page = await browser.submit(await browser.get(`${mosru.base}/register`), { id: 'register-form' }, {
      email: existing.email, password: PASSWORD, passwordRepeat: PASSWORD, lastName: 'Иванов', firstName: 'Иван', birthDate: '01.01.1980',
    });
    expect(page.status).toBe(409);
    expect(fieldError(page, 'email')).toContain('Этот адрес уже зарегистрирован на Мос.ру');
  });

  it('answers a wrong password and an unknown e-mail alike', async () => {
    const account = await localAccount();
    for (const attempt of [{ email: account.email, password: 'Wrong-12345' }, { email: 'nobody@mos.test', password: PASSWORD }]) {
      const browser = createBrowser();
      const page = await signInAtMosru(browser, mosru, attempt);
      expect(page.status).toBe(401);
      expect(textOf(page.body)).toContain('Неверная электронная почта или пароль');
      expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();
    }
  });

  it('refuses every form without its CSRF token', async () => {
    const account = await localAccount();
    const browser = createBrowser();
    await browser.get(`${mosru.base}/login`);
    const forged = await browser.post(`${mosru.base}/login`, { email: account.email, password: account.password, _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();

    expect(isSignedIn(await signInAtMosru(browser, mosru, account))).toBe(true);
    for (const path of ['/logout', '/profile', '/settings/gosuslugi/connect', '/settings/gosuslugi/disconnect', '/services/doctor']) {
      expect((await browser.post(`${mosru.base}${path}`, { lastName: 'Взлом' })).status).toBe(403);
    }
    expect(isSignedIn(await browser.get(`${mosru.base}/`))).toBe(true);
  });

  it('edits personal data on the profile page', async () => {
    const account = await localAccount();
    const browser = createBrowser();
    await signInAtMosru(browser, mosru, account);
    const form = await browser.get(`${mosru.base}/profile`);
    expect(findForm(form.body, { id: 'profile-form' })!.fields).toMatchObject({ lastName: 'Смирнов', birthDate: '03.02.1990', snils: '' });

    const wrong = await browser.submit(form, { id: 'profile-form' }, { snils: '123' });
    expect(wrong.status).toBe(400);
    expect(fieldError(wrong, 'snils')).toBe('СНИЛС состоит из 11 цифр');

    const saved = await browser.submit(form, { id: 'profile-form' }, { middleName: 'Игоревич', snils: '11223344595' });
    expect(saved.url).toBe(`${mosru.base}/profile?saved=1`);
    expect(textOf(saved.body)).toContain('Данные сохранены');
    expect(await mosru.db.selectFrom('mosru.accounts').select(['middle_name', 'snils']).where('id', '=', account.accountId).executeTakeFirst()).toEqual({ middle_name: 'Игоревич', snils: '11223344595' });
  });

  it('sends signed-out visitors of account pages to sign in', async () => {
    for (const path of ['/profile', '/settings', '/services/doctor']) {
      const response = await fetch(`${mosru.base}${path}`, { redirect: 'manual' });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
  });

  it('keeps sessions in the database: another instance on the same tables knows the cookie', async () => {
    const account = await localAccount();
    const browser = createBrowser();
    await signInAtMosru(browser, mosru, account);
    const cookie = browser.cookies(`${mosru.base}/`);

    const twin = createMosruApp({ baseUrl: mosru.base, idpIssuer: idp.issuer, clientId: mosru.clientId, clientSecret: mosru.clientSecret, logger: pino({ level: 'silent' }), db: mosru.db });
    const server = http.createServer(twin.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { cookie: `mosru_session=${cookie.mosru_session}` } });
      expect(textOf(await response.text())).toContain('Вы вошли как Смирнов Олег');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('signs out locally', async () => {
    const account = await localAccount();
    const browser = createBrowser();
    const home = await signInAtMosru(browser, mosru, account);
    const after = await browser.submit(home, { actionContains: '/logout' });
    expect(after.url).toBe(`${mosru.base}/`);
    expect(isSignedIn(after)).toBe(false);
    expect(await mosru.db.selectFrom('mosru.sessions').select('id').where('account_id', '=', account.accountId).execute()).toEqual([]);
  });
});

describe('«Войти через Госуслуги»', () => {
  it('sends the code-flow request with PKCE, state, nonce, its scopes and the minimum level', async () => {
    const browser = createBrowser();
    const start = await browser.get(`${mosru.base}/login/gosuslugi`, { follow: false });
    expect(start.status).toBe(303);
    const authorize = new URL(start.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${idp.issuer}/auth`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: mosru.clientId,
      response_type: 'code',
      redirect_uri: `${mosru.base}/callback`,
      scope: 'openid fullname birthdate gender snils id_doc addresses mobile email',
      acr_values: 'standard',
      code_challenge_method: 'S256',
    });
    expect(authorize.searchParams.has('prompt')).toBe(false);
    for (const param of ['state', 'nonce', 'code_challenge']) expect(authorize.searchParams.get(param)).toMatch(/^[\w-]{32,}$/);
    const loginCookie = start.headers.getSetCookie().find((c) => c.startsWith('mosru_login='));
    expect(loginCookie).toMatch(/httponly/i);
    expect(loginCookie).toMatch(/samesite=lax/i);
  });

  it('shows "Вход не выполнен" with access_denied when the citizen refuses consent', async () => {
    const { citizen } = await boundCitizen();
    const browser = createBrowser();
    const consent = await browser.submit(await browser.get(`${mosru.base}/login/gosuslugi`), { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
    const page = await browser.submit(consent, { actionContains: '/abort' });

    expect(page.url).toMatch(new RegExp(`^${mosru.base}/callback\\?`));
    expect(page.status).toBe(400);
    expect(page.body).toContain('Вход не выполнен');
    expect(page.body).toContain('access_denied');
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();
  });

  it('takes only a citizen signed in for themselves: a representative under a power of attorney is refused with a way back', async () => {
    const { citizen } = await boundCitizen();
    const principal = await idp.makeCitizen({ lastName: 'Доверитель', firstName: 'Пётр' });
    await grantPower(idp.runtime.database.db, { principalOid: principal.oid, representativeOid: citizen.oid });
    const browser = createBrowser();
    const role = await browser.submit(await browser.get(`${mosru.base}/login/gosuslugi`), { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
    expect(textOf(role.body)).toContain('Как представитель: Доверитель Пётр');
    const representative = /value="(poa:\d+)"/.exec(role.body)![1];
    const consent = await browser.submit(role, { actionContains: '/role' }, { role: representative });
    const page = await browser.submit(consent, { actionContains: '/confirm' }, { agree: 'yes' });

    expect(page.url).toMatch(new RegExp(`^${mosru.base}/callback\\?`));
    expect(page.status).toBe(403);
    expect(textOf(page.body)).toContain('Мос.ру принимает вход только от своего имени');
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();
    // As a private person the same citizen signs in.
    const again = await browser.submit(await browser.get(`${mosru.base}/login/gosuslugi`), { actionContains: '/role' }, { role: 'person' });
    expect(isSignedIn(again.url.startsWith(mosru.base) ? again : await browser.submit(again, { actionContains: '/confirm' }, { agree: 'yes' }))).toBe(true);
  });

  it('escapes what arrives in an error response', async () => {
    const browser = createBrowser();
    const start = await browser.get(`${mosru.base}/login/gosuslugi`, { follow: false });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const callback = new URL(`${mosru.base}/callback`);
    callback.search = new URLSearchParams({ error: 'access_denied', error_description: '<script>alert(1)</script>', state, iss: idp.issuer }).toString();

    const page = await browser.get(callback.href);
    expect(page.body).toContain('Вход не выполнен');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('&lt;script&gt;');
  });

  it('refuses a callback it did not start', async () => {
    const browser = createBrowser();
    const page = await browser.get(`${mosru.base}/callback?code=forged&state=forged&iss=${encodeURIComponent(idp.issuer)}`);
    expect(page.status).toBe(400);
    expect(textOf(page.body)).toContain('Время ожидания истекло');
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();
  });

  it('refuses a replayed callback', async () => {
    const { citizen } = await boundCitizen();
    const browser = createBrowser();
    expect(isSignedIn(await signInWithGosuslugi(browser, citizen))).toBe(true);

    // Another browser with a login of its own replays the callback: its state and PKCE do not match.
    const callbackUrl = browser.history.find((url) => url.startsWith(`${mosru.base}/callback`))!;
    const other = createBrowser();
    await other.get(`${mosru.base}/login/gosuslugi`, { follow: false });
    const replay = await other.get(callbackUrl);
    expect(replay.status).toBe(400);
    expect(other.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();

    // Nothing secret in the logs: neither the code nor the client secret.
    const code = new URL(callbackUrl).searchParams.get('code')!;
    const logs = mosru.logLines.join('');
    expect(logs).toContain('signed in through Госуслуги');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(mosru.clientSecret);
  });

  it('signs out at Mos.ru, then at the IdP after its confirmation page', async () => {
    const { citizen } = await boundCitizen();
    const browser = createBrowser();
    const home = await signInWithGosuslugi(browser, citizen);
    expect(isSignedIn(home)).toBe(true);

    const confirmation = await browser.submit(home, { actionContains: '/logout' });
    expect(confirmation.url).toMatch(new RegExp(`^${idp.issuer}/session/end`));
    expect(findForm(confirmation.body, { id: 'op.logoutForm' })?.fields.xsrf).toBeTruthy();
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBeUndefined();

    const after = await browser.submit(confirmation, { id: 'op.logoutForm' }, { logout: 'yes' });
    expect(after.url).toBe(`${mosru.base}/`);
    expect(isSignedIn(after)).toBe(false);

    // The IdP session is gone too: signing in again asks for the password.
    const again = await browser.get(`${mosru.base}/login/gosuslugi`);
    expect(again.body).toContain('name="password"');
  });

  it('ends the Mos.ru session when the citizen signs out at the IdP (back-channel logout)', async () => {
    const failures: string[] = [];
    idp.runtime.provider.on('backchannel.error', (_ctx: unknown, error: Error) => failures.push(error.message));
    const { citizen, account } = await boundCitizen();
    const browser = createBrowser();
    expect(isSignedIn(await signInWithGosuslugi(browser, citizen))).toBe(true);
    const sessionCookie = browser.cookies(`${mosru.base}/`).mosru_session;

    // Signing out at the IdP itself, not through Mos.ru.
    const confirmation = await browser.get(`${idp.issuer}/session/end`);
    const done = await browser.submit(confirmation, { id: 'op.logoutForm' }, { logout: 'yes' });
    expect(done.url.startsWith(idp.issuer)).toBe(true);

    // The browser still holds Mos.ru's cookie, but the session behind it is gone.
    expect(browser.cookies(`${mosru.base}/`).mosru_session).toBe(sessionCookie);
    const home = await browser.get(`${mosru.base}/`);
    expect(isSignedIn(home)).toBe(false);
    expect(await mosru.db.selectFrom('mosru.sessions').select('id').where('account_id', '=', account.accountId).execute()).toEqual([]);
    const backchannel = mosru.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'back-channel logout');
    expect(backchannel.at(-1)).toMatchObject({ sub: citizen.oid, ended: 1 });
    expect(backchannel.at(-1)?.sid).toEqual(expect.any(String));
    expect(failures).toEqual([]);
  });

  it('answers 400 to a logout token it cannot trust', async () => {
    const post = (form: Record<string, string>) => fetch(`${mosru.base}/backchannel-logout`, { method: 'POST', body: new URLSearchParams(form) });

    expect((await post({})).status).toBe(400);
    expect((await post({ logout_token: 'not-a-jwt' })).status).toBe(400);

    // Well-formed and claiming to be the IdP, but signed with a key the IdP never published.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 'x', jti: 'forged-1' })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt' })
      .setIssuer(idp.issuer).setAudience(mosru.clientId).setSubject('someone').setIssuedAt().setExpirationTime('2m')
      .sign(privateKey);
    const response = await post({ logout_token: forged });
    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the site', () => {
  it('answers health checks and shows a Russian page for unknown paths', async () => {
    const health = await fetch(`${mosru.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const missing = await fetch(`${mosru.base}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Страница не найдена');

    const css = await fetch(`${mosru.base}/assets/mosru.css`);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
  });

  it('says the IdP is unavailable, without details, when discovery fails', async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadIssuer = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const app = createMosruApp({ baseUrl: 'http://127.0.0.1:9', idpIssuer: deadIssuer, clientId: 'mosru', clientSecret: 'x'.repeat(32), logger: pino({ level: 'silent' }), db: mosru.db });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/login/gosuslugi`, { redirect: 'manual' });
      expect(response.status).toBe(503);
      const body = await response.text();
      expect(body).toContain('Госуслуги временно недоступны');
      expect(body).not.toMatch(/ECONNREFUSED|at .*\.(ts|js)/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
