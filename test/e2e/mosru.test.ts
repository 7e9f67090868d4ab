import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { generateKeyPair, SignJWT } from 'jose';
import { createMosruApp } from '../../src/mosru/app.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createBrowser, findForm, textOf, type Browser, type Page } from '../support/browserless.ts';

/**
 * The mock Mos.ru against a real IdP, both on loopback ports, driven like a browser would drive
 * them. Mos.ru knows the IdP only by its issuer URL and the client credentials.
 */
let idp: TestIdp;
let mosruServer: http.Server;
let mosruBase: string;
let clientSecret: string;
const logLines: string[] = [];
const backchannelFailures: string[] = [];

beforeAll(async () => {
  idp = await startTestIdp();
  // The client's redirect URIs name Mos.ru's port, so the port is bound before the client is registered.
  mosruServer = http.createServer();
  await new Promise<void>((resolve) => mosruServer.listen(0, '127.0.0.1', resolve));
  mosruBase = `http://127.0.0.1:${(mosruServer.address() as AddressInfo).port}`;
  const client = await idp.makeClient({
    clientId: 'mosru',
    name: 'Мос.ру (демо)',
    redirectUris: [`${mosruBase}/callback`],
    postLogoutRedirectUris: [`${mosruBase}/`],
    backchannelLogoutUri: `${mosruBase}/backchannel-logout`,
  });
  clientSecret = client.clientSecret!;
  const logger = pino({ level: 'debug' }, new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }));
  const app = createMosruApp({ baseUrl: mosruBase, idpIssuer: idp.issuer, clientId: client.clientId, clientSecret, logger });
  mosruServer.on('request', app.callback());
  idp.runtime.provider.on('backchannel.error', (_ctx: unknown, error: Error) => backchannelFailures.push(error.message));
});

afterAll(async () => {
  vi.restoreAllMocks();
  mosruServer?.closeAllConnections();
  await new Promise<void>((resolve) => (mosruServer ? mosruServer.close(() => resolve()) : resolve()));
  await idp?.close();
});

/** From Mos.ru's button to the IdP's login page. */
async function startSignIn(browser: Browser): Promise<Page> {
  const page = await browser.get(`${mosruBase}/login`);
  expect(page.url).toMatch(new RegExp(`^${idp.issuer}/interaction/`));
  return page;
}

async function enterCredentials(browser: Browser, loginPage: Page, citizen: { login: string; password: string }): Promise<Page> {
  return browser.submit(loginPage, { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
}

/** The whole journey: login, consent when asked, back at Mos.ru. */
async function signIn(browser: Browser, citizen: { login: string; password: string }): Promise<Page> {
  let page = await enterCredentials(browser, await startSignIn(browser), citizen);
  if (page.url.startsWith(`${idp.issuer}/interaction/`)) page = await browser.submit(page, { actionContains: '/confirm' });
  return page;
}

function isSignedIn(page: Page): boolean {
  return page.body.includes('Вы вошли как');
}

describe('mock Mos.ru', () => {
  it('signs a citizen in through the IdP and shows the data it released', async () => {
    const citizen = await idp.makeCitizen({ lastName: 'Соколова', firstName: 'Мария', middleName: 'Андреевна', email: 'sokolova@example.ru', phone: '79995550101' });
    const browser = createBrowser();

    const home = await browser.get(`${mosruBase}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain('Мос.ру (демо)');
    expect(home.body).toContain('Войти через Госуслуги');

    // The authorization request Mos.ru sends: code flow with PKCE S256, state, nonce and its scopes.
    const start = await browser.get(`${mosruBase}/login`, { follow: false });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${idp.issuer}/auth`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: 'mosru',
      response_type: 'code',
      redirect_uri: `${mosruBase}/callback`,
      scope: 'openid fullname email mobile',
      code_challenge_method: 'S256',
    });
    for (const param of ['state', 'nonce', 'code_challenge']) expect(authorize.searchParams.get(param)).toMatch(/^[\w-]{32,}$/);
    const loginCookie = start.headers.getSetCookie().find((c) => c.startsWith('mosru_login='));
    expect(loginCookie).toMatch(/httponly/i);
    expect(loginCookie).toMatch(/samesite=lax/i);

    const loginPage = await browser.get(authorize.href);
    expect(loginPage.url).toMatch(/\/interaction\//);
    const consent = await enterCredentials(browser, loginPage, citizen);
    expect(consent.body).toContain('Мос.ру (демо)');
    expect(consent.body).toContain('data-scope="fullname"');
    const back = await browser.submit(consent, { actionContains: '/confirm' });

    expect(back.url).toBe(`${mosruBase}/`);
    expect(back.status).toBe(200);
    expect(isSignedIn(back)).toBe(true);
    const text = textOf(back.body);
    expect(text).toContain('Вы вошли как Соколова Мария Андреевна');
    expect(text).toContain(`OID: ${citizen.oid}`);
    expect(text).toContain('sokolova@example.ru');
    expect(back.body).toContain('data-claim="phone_number"');
    expect(back.body).toContain('Выйти');

    // On Mos.ru's side only its own session cookie remains (the login transaction is used up).
    const mosruCookies = Object.keys(browser.cookies(`${mosruBase}/`)).filter((name) => !name.startsWith('_'));
    expect(mosruCookies).toEqual(['mosru_session']);
    const callbackUrl = browser.history.find((url) => url.startsWith(`${mosruBase}/callback`))!;
    const code = new URL(callbackUrl).searchParams.get('code')!;
    expect(code).toBeTruthy();

    // The same session on the next visit.
    expect(isSignedIn(await browser.get(`${mosruBase}/`))).toBe(true);

    // Nothing secret in the logs: neither the code nor the client secret.
    const logs = logLines.join('');
    expect(logs).toContain('signed in');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(clientSecret);
  });

  it('shows "Вход не выполнен" with access_denied when the citizen refuses consent', async () => {
    const citizen = await idp.makeCitizen();
    const browser = createBrowser();
    const consent = await enterCredentials(browser, await startSignIn(browser), citizen);
    const page = await browser.submit(consent, { actionContains: '/abort' });

    expect(page.url).toMatch(new RegExp(`^${mosruBase}/callback\\?`));
    expect(page.status).toBe(400);
    expect(page.body).toContain('Вход не выполнен');
    expect(page.body).toContain('access_denied');
    expect(browser.cookies(`${mosruBase}/`).mosru_session).toBeUndefined();
    expect(isSignedIn(await browser.get(`${mosruBase}/`))).toBe(false);
  });

  it('escapes what arrives in an error response', async () => {
    const browser = createBrowser();
    const start = await browser.get(`${mosruBase}/login`, { follow: false });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const callback = new URL(`${mosruBase}/callback`);
    callback.search = new URLSearchParams({ error: 'access_denied', error_description: '<script>alert(1)</script>', state, iss: idp.issuer }).toString();

    const page = await browser.get(callback.href);
    expect(page.body).toContain('Вход не выполнен');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('&lt;script&gt;');
  });

  it('refuses a callback it did not start', async () => {
    const browser = createBrowser();
    const page = await browser.get(`${mosruBase}/callback?code=forged&state=forged&iss=${encodeURIComponent(idp.issuer)}`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('Вход не выполнен');
    expect(browser.cookies(`${mosruBase}/`).mosru_session).toBeUndefined();
  });

  it('refuses a replayed callback', async () => {
    const citizen = await idp.makeCitizen();
    const browser = createBrowser();
    const consent = await enterCredentials(browser, await startSignIn(browser), citizen);
    const toMosru = await browser.submit(consent, { actionContains: '/confirm' });
    expect(isSignedIn(toMosru)).toBe(true);

    // Another browser with a login of its own replays the callback: its state and PKCE do not match.
    const callbackUrl = browser.history.find((url) => url.startsWith(`${mosruBase}/callback`))!;
    const other = createBrowser();
    await other.get(`${mosruBase}/login`, { follow: false });
    const replay = await other.get(callbackUrl);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('Вход не выполнен');
    expect(other.cookies(`${mosruBase}/`).mosru_session).toBeUndefined();
  });

  it('signs out at Mos.ru, then at the IdP after its confirmation page', async () => {
    const citizen = await idp.makeCitizen();
    const browser = createBrowser();
    const home = await signIn(browser, citizen);
    expect(isSignedIn(home)).toBe(true);

    const confirmation = await browser.submit(home, { actionContains: '/logout' });
    expect(confirmation.url).toMatch(new RegExp(`^${idp.issuer}/session/end`));
    expect(findForm(confirmation.body, { id: 'op.logoutForm' })?.fields.xsrf).toBeTruthy();
    expect(browser.cookies(`${mosruBase}/`).mosru_session).toBeUndefined();

    const after = await browser.submit(confirmation, { id: 'op.logoutForm' }, { logout: 'yes' });
    expect(after.url).toBe(`${mosruBase}/`);
    expect(isSignedIn(after)).toBe(false);
    expect(after.body).toContain('Войти через Госуслуги');

    // The IdP session is gone too: signing in again asks for the password.
    const again = await startSignIn(browser);
    expect(again.body).toContain('name="password"');
  });

  it('refuses to sign out without the session\'s form token', async () => {
    const citizen = await idp.makeCitizen();
    const browser = createBrowser();
    expect(isSignedIn(await signIn(browser, citizen))).toBe(true);
    const forged = await browser.post(`${mosruBase}/logout`, { csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(isSignedIn(await browser.get(`${mosruBase}/`))).toBe(true);
  });

  it('ends the Mos.ru session when the citizen signs out at the IdP (back-channel logout)', async () => {
    const citizen = await idp.makeCitizen();
    const browser = createBrowser();
    expect(isSignedIn(await signIn(browser, citizen))).toBe(true);
    const sessionCookie = browser.cookies(`${mosruBase}/`).mosru_session;
    expect(sessionCookie).toBeTruthy();

    // Signing out at the IdP itself, not through Mos.ru.
    const confirmation = await browser.get(`${idp.issuer}/session/end`);
    expect(findForm(confirmation.body, { id: 'op.logoutForm' })).toBeDefined();
    const done = await browser.submit(confirmation, { id: 'op.logoutForm' }, { logout: 'yes' });
    expect(done.url.startsWith(idp.issuer)).toBe(true);

    // The browser still holds Mos.ru's cookie, but the session behind it is gone.
    expect(browser.cookies(`${mosruBase}/`).mosru_session).toBe(sessionCookie);
    const home = await browser.get(`${mosruBase}/`);
    expect(isSignedIn(home)).toBe(false);
    expect(home.body).toContain('Войти через Госуслуги');
    const backchannel = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'back-channel logout');
    expect(backchannel.at(-1)).toMatchObject({ sub: citizen.oid, ended: 1 });
    expect(backchannel.at(-1)?.sid).toEqual(expect.any(String));
    expect(backchannelFailures).toEqual([]);
  });

  it('answers 400 to a logout token it cannot trust', async () => {
    const post = (form: Record<string, string>) => fetch(`${mosruBase}/backchannel-logout`, { method: 'POST', body: new URLSearchParams(form) });

    expect((await post({})).status).toBe(400);
    expect((await post({ logout_token: 'not-a-jwt' })).status).toBe(400);

    // Well-formed and claiming to be the IdP, but signed with a key the IdP never published.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 'x', jti: 'forged-1' })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt' })
      .setIssuer(idp.issuer).setAudience('mosru').setSubject('someone').setIssuedAt().setExpirationTime('2m')
      .sign(privateKey);
    const response = await post({ logout_token: forged });
    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('answers health checks and shows a Russian page for unknown paths', async () => {
    const health = await fetch(`${mosruBase}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const missing = await fetch(`${mosruBase}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Страница не найдена');

    const css = await fetch(`${mosruBase}/assets/mosru.css`);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
  });

  it('says the IdP is unavailable, without details, when discovery fails', async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadIssuer = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const app = createMosruApp({ baseUrl: 'http://127.0.0.1:9', idpIssuer: deadIssuer, clientId: 'mosru', clientSecret: 'x'.repeat(32), logger: pino({ level: 'silent' }) });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/login`, { redirect: 'manual' });
      expect(response.status).toBe(503);
      const body = await response.text();
      expect(body).toContain('Госуслуги временно недоступны');
      expect(body).not.toMatch(/ECONNREFUSED|at .*\.(ts|js)/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
