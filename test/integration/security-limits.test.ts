import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { messagesTo } from '../support/outbox.ts';
import { postForm } from '../support/http.ts';
import { testEngine } from '../support/database.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createIdpRuntime, type IdpRuntime } from '../../src/runtime.ts';
import { connectToRunningServer, openDatabase } from '../../src/db/create-db.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { listAuditEvents } from '../../src/audit/audit.service.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { createViews } from '../../src/http/views.ts';
import { rateLimitByIp } from '../../src/security/rate-limit.middleware.ts';
import { RATE_LIMITS } from '../../src/security/rate-limits.ts';
import { formError, withHeaders } from './security-support.ts';
import Koa from 'koa';
import Router from '@koa/router';

/**
 * Brute force and rate limits. TRUST_PROXY=1 lets each test speak from its own network
 * (X-Forwarded-For), so one test's per-IP counters never touch another's.
 */
describe('brute-force protection and rate limits', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  const db = () => idp.runtime.database.db;

  beforeAll(async () => {
    idp = await startTestIdp({ clock, env: { TRUST_PROXY: '1' } });
  });
  afterAll(() => idp?.close());

  /** A login page of the account console on `issuer`, from the network `ip`. */
  async function loginPage(ip: string, issuer = idp.issuer) {
    const browser = new BrowserSession();
    const page = await withHeaders({ 'x-forwarded-for': ip }, () => browser.open(`${issuer}/account`));
    return { browser, page, ip };
  }

  interface Answer { status: number; retryAfter: string | null; message?: string; note?: string; signedIn: boolean }

  async function tryLogin(session: { browser: BrowserSession; page: Page; ip: string }, login: string, password: string): Promise<Answer> {
    const answer = await withHeaders({ 'x-forwarded-for': session.ip }, () => session.browser.submit(formAction(session.page, '/login'), { login, password }));
    if (answer.html.includes('name="password"')) session.page = answer;
    return {
      status: answer.status,
      retryAfter: answer.headers.get('retry-after'),
      message: formError(answer),
      note: answer.html.match(/id="form-note">([^<]*)</)?.[1],
      // The account console's overview, reached after the login's redirects.
      signedIn: answer.status === 200 && new URL(answer.url).pathname === '/account' && !answer.html.includes('name="password"'),
    };
  }

  const WRONG: Answer = { status: 401, retryAfter: null, message: 'Неверный логин или пароль', note: undefined, signedIn: false };
  const wrongThenWait = (wait: string): Answer => ({ ...WRONG, note: `Следующая попытка — через ${wait}` });
  const tooMany = (seconds: number, wait: string): Answer => ({ status: 429, retryAfter: String(seconds), message: `Слишком много неудачных попыток входа. Повторите через ${wait}`, note: undefined, signedIn: false });
  const locked: Answer = { status: 429, retryAfter: '900', message: 'Вход временно заблокирован из-за множества неудачных попыток. Повторите через 15 мин. или восстановите пароль.', note: undefined, signedIn: false };

  it('delays after five wrong passwords, locks for 15 minutes after ten, and treats an unknown login exactly the same', async () => {
    const citizen = await idp.makeCitizen();
    const phone = citizen.login.replace('+', '');
    const real = await loginPage('198.51.100.1');
    const unknown = await loginPage('198.51.100.2');
    const both = async (password = 'Wrong-Password-1') => {
      const [a, b] = [await tryLogin(real, citizen.login, password), await tryLogin(unknown, '+7 900 555-00-00', password)];
      expect(b).toEqual(a);
      return a;
    };

    for (let i = 1; i <= 4; i++) expect(await both()).toEqual(WRONG);
    expect(await both()).toEqual(wrongThenWait('1 сек.'));
    expect(await both()).toEqual(tooMany(1, '1 сек.'));
    // Each further failure doubles the wait: 2, 4, 8, 16 seconds.
    for (const [wait, next] of [[1, 2], [2, 4], [4, 8], [8, 16]]) {
      clock.advance(wait);
      expect(await both()).toEqual(wrongThenWait(`${next} сек.`));
      expect(await both()).toEqual(tooMany(next, `${next} сек.`));
    }
    clock.advance(16);
    expect(await both()).toEqual(wrongThenWait('15 мин.'));
    expect(await both()).toEqual(locked);
    // Locked means locked: the right password is refused too, with the same answer.
    expect(await tryLogin(real, citizen.login, citizen.password)).toEqual(locked);

    const notices = (await messagesTo(db(), phone)).filter((m) => m.template === 'security_notice');
    expect(notices.map((m) => m.payload.event)).toEqual(['account_locked']);
    expect((await listAuditEvents(db(), citizen.oid)).map((e) => e.type)).toContain('security.account_locked');
    expect(await messagesTo(db(), '79005550000')).toEqual([]);

    clock.advance(899);
    expect(await both()).toEqual({ ...locked, retryAfter: '1', message: locked.message!.replace('15 мин.', '1 сек.') });
    clock.advance(1);
    // After the lock the count starts again, for both.
    expect(await tryLogin(unknown, '+7 900 555-00-00', 'Wrong-Password-1')).toEqual(WRONG);
    expect((await tryLogin(real, citizen.login, citizen.password)).signedIn).toBe(true);
  });

  it('lets many citizens sign in at once from one address (the shared counters take concurrent updates)', async () => {
    const citizens = await Promise.all(Array.from({ length: 8 }, () => idp.makeCitizen()));
    const sessions = await Promise.all(citizens.map(() => loginPage('198.51.100.40')));
    const answers = await Promise.all(citizens.map((citizen, i) => tryLogin(sessions[i], citizen.login, citizen.password)));
    expect(answers.map((a) => [a.status, a.signedIn])).toEqual(Array(8).fill([200, true]));
  });

  it('forgets the failures after a successful login', async () => {
    const citizen = await idp.makeCitizen();
    const session = await loginPage('198.51.100.3');
    for (let i = 1; i <= 4; i++) expect(await tryLogin(session, citizen.login, 'Wrong-Password-1')).toEqual(WRONG);
    expect((await tryLogin(session, citizen.login, citizen.password)).signedIn).toBe(true);

    const again = await loginPage('198.51.100.3');
    for (let i = 1; i <= 4; i++) expect(await tryLogin(again, citizen.login, 'Wrong-Password-1')).toEqual(WRONG);
    expect(await tryLogin(again, citizen.login, 'Wrong-Password-1')).toEqual(wrongThenWait('1 сек.'));
  });

  it('limits failed logins per IP (30 per 10 minutes), whoever they are for; right passwords do not count', async () => {
    const citizen = await idp.makeCitizen();
    const session = await loginPage('203.0.113.7');
    for (let i = 1; i <= 29; i++) expect((await tryLogin(session, `nobody${i}@example.ru`, 'Wrong-Password-1')).status).toBe(401);
    for (let i = 1; i <= 3; i++) {
      const own = await loginPage('203.0.113.7');
      expect((await tryLogin(own, citizen.login, citizen.password)).signedIn).toBe(true);
    }
    expect((await tryLogin(session, 'nobody30@example.ru', 'Wrong-Password-1')).status).toBe(401);
    const refused = await tryLogin(session, 'nobody31@example.ru', 'Wrong-Password-1');
    expect(refused).toEqual(tooMany(600, '10 мин.'));
    // The whole address waits, even with a right password; another address does not.
    expect(await tryLogin(await loginPage('203.0.113.7'), citizen.login, citizen.password)).toEqual(tooMany(600, '10 мин.'));
    expect((await tryLogin(await loginPage('203.0.113.8'), citizen.login, citizen.password)).signedIn).toBe(true);
  });

  const perClient = RATE_LIMITS.token.points;
  /** `count` requests, at most 50 in flight at a time; their statuses. */
  const burst = async (count: number, request: (i: number) => Promise<{ status: number }>) => {
    const statuses: number[] = [];
    for (let done = 0; done < count; done += 50) {
      statuses.push(...(await Promise.all(Array.from({ length: Math.min(50, count - done) }, (_, i) => request(done + i).then((r) => r.status)))));
    }
    return statuses;
  };

  it('limits each client at the token endpoints (per second) with 429, Retry-After and JSON', async () => {
    const busy = await idp.makeClient({ name: 'Частый клиент' });
    const calm = await idp.makeClient({ name: 'Спокойный клиент' });
    const introspect = (client: { clientId: string; clientSecret?: string }, secret = client.clientSecret!) =>
      postForm(`${idp.issuer}/token/introspection`, { token: 'not-a-token' }, { id: client.clientId, secret });

    // Failed client authentication gives the point back once answered: requests with a forged client_id
    // cannot spend a real client's budget beyond those still in flight.
    for (let i = 0; i < 60; i++) expect((await introspect(busy, 'wrong-secret')).status).toBe(401);

    expect(await burst(perClient, () => introspect(busy))).toEqual(Array(perClient).fill(200));
    const refused = await introspect(busy);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.json).toMatchObject({ error: 'too_many_requests' });
    expect((await postForm(`${idp.issuer}/token`, { grant_type: 'client_credentials' }, { id: busy.clientId, secret: busy.clientSecret! })).status).toBe(429);
    expect((await introspect(calm)).status).toBe(200);

    clock.advance(1);
    expect((await introspect(busy)).status).toBe(200);
  });

  it('gives other areas a per-IP limit: 429, Retry-After and a Russian page (JSON for APIs); only what counts counts', async () => {
    // A stand-in for another area's routes (registration), mounted the way app.ts mounts the limit.
    const app = new Koa();
    app.proxy = true;
    app.use(errorHandler(createViews()));
    const router = new Router();
    router.post('/registration', rateLimitByIp('registration', { db: db(), clock }, { counts: (ctx) => ctx.status < 400 }), (ctx) => {
      ctx.status = ctx.get('x-typo') ? 400 : 303;
      ctx.body = '';
    });
    app.use(router.routes());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/registration`;
    const post = (ip: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', redirect: 'manual', headers: { 'x-forwarded-for': ip, accept: 'text/html', ...headers } });
    try {
      // Forms sent back with a mistake do not count; ten started registrations do.
      for (let i = 0; i < 5; i++) expect((await post('198.51.100.200', { 'x-typo': '1' })).status).toBe(400);
      for (let i = 0; i < 10; i++) expect((await post('198.51.100.200')).status).toBe(303);
      const page = await post('198.51.100.200');
      expect(page.status).toBe(429);
      expect(page.headers.get('retry-after')).toBe('3600');
      expect(await page.text()).toContain('Слишком много попыток. Повторите через 60 мин.');
      const api = await post('198.51.100.200', { accept: 'application/json' });
      expect(api.status).toBe(429);
      expect(await api.json()).toMatchObject({ error: 'rate_limit.exceeded', retry_after: 3600 });
      expect((await post('198.51.100.201')).status).toBe(303);
    } finally {
      server.close();
    }
  });

  describe('two instances on one database', () => {
    let second: { runtime: IdpRuntime; server: http.Server; issuer: string };

    beforeAll(async () => {
      const server = http.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const issuer = `http://127.0.0.1:${port}`;
      const config = loadConfig({ NODE_ENV: 'test', ISSUER: issuer, PORT: String(port), PRUNE_INTERVAL_SECONDS: '0', TRUST_PROXY: '1' });
      // PGlite: the first instance serves the database on a socket; PostgreSQL: the same URL.
      const database = testEngine() === 'pglite' ? connectToRunningServer(idp.runtime.database.socketDir!) : await openDatabase({ url: idp.testDatabase.url!, poolSize: 4 });
      const runtime = await createIdpRuntime(config, { database, clock, logger: createLogger({ level: 'silent' }) });
      server.on('request', runtime.handle);
      second = { runtime, server, issuer };
    });
    afterAll(async () => {
      second?.server.closeAllConnections();
      await new Promise<void>((resolve) => second?.server.close(() => resolve()) ?? resolve());
      await second?.runtime.close();
    });

    it('share the per-account counters', async () => {
      const citizen = await idp.makeCitizen();
      const onFirst = await loginPage('192.0.2.1');
      const onSecond = await loginPage('192.0.2.2', second.issuer);
      for (const session of [onFirst, onSecond, onFirst, onSecond]) expect(await tryLogin(session, citizen.login, 'Wrong-Password-1')).toEqual(WRONG);
      expect(await tryLogin(onSecond, citizen.login, 'Wrong-Password-1')).toEqual(wrongThenWait('1 сек.'));
      expect(await tryLogin(onFirst, citizen.login, citizen.password)).toEqual(tooMany(1, '1 сек.'));
      expect(await tryLogin(onSecond, citizen.login, citizen.password)).toEqual(tooMany(1, '1 сек.'));
    });

    it('share the per-IP and per-client counters', async () => {
      const client = await idp.makeClient();
      const introspect = (issuer: string) => postForm(`${issuer}/token/introspection`, { token: 'x' }, { id: client.clientId, secret: client.clientSecret! });
      expect(await burst(perClient, (i) => introspect(i % 2 ? second.issuer : idp.issuer))).toEqual(Array(perClient).fill(200));
      expect((await introspect(idp.issuer)).status).toBe(429);
      expect((await introspect(second.issuer)).status).toBe(429);

      const first = await loginPage('192.0.2.77');
      const other = await loginPage('192.0.2.77', second.issuer);
      for (let i = 1; i <= 30; i++) expect((await tryLogin(i % 2 ? first : other, `ghost${i}@example.ru`, 'Wrong-Password-1')).status).toBe(401);
      expect((await tryLogin(first, 'ghost31@example.ru', 'Wrong-Password-1')).status).toBe(429);
      expect((await tryLogin(other, 'ghost32@example.ru', 'Wrong-Password-1')).status).toBe(429);
    });
  });
});
