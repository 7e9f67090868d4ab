import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { testEngine } from '../support/database.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, openAuthorization, startAuthorization } from '../support/oidc.ts';
import { postForm } from '../support/http.ts';
import { isDatabaseUnavailable } from '../../src/db/pg-errors.ts';

/**
 * While the database is unreachable the IdP answers fast with 503 + Retry-After (readiness, token
 * endpoint, interaction pages), and once it is back it works again without a restart and without
 * losing what was committed before.
 *
 * On PostgreSQL the outage is real: the IdP's backends are terminated and new connections refused
 * (ALTER DATABASE … ALLOW_CONNECTIONS false). The embedded PGlite has no server to stop, so there
 * the pool refuses to hand out connections with the error pg gives for a stopped server.
 */
describe('database outage', () => {
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let citizen: { oid: string; login: string; password: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient();
    citizen = await idp.makeCitizen({ email: 'outage@example.ru' });
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  it('recognises the errors of an unreachable database and nothing else', () => {
    const unavailable = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('database "x" is not currently accepting connections'), { code: '55000' }),
      new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '57P01' }) }),
    ];
    for (const error of unavailable) expect(isDatabaseUnavailable(error), error.message).toBe(true);
    const others = [
      Object.assign(new Error('duplicate key'), { code: '23505' }),
      Object.assign(new Error('object not in prerequisite state'), { code: '55000' }),
      new Error('Something else'),
      'ECONNREFUSED',
      undefined,
    ];
    for (const error of others) expect(isDatabaseUnavailable(error), String(error)).toBe(false);
  });

  it('answers 503 with Retry-After during an outage and recovers without a restart', async () => {
    // Committed before the outage: a citizen's first sign-in and the tokens it produced.
    const before = await startAuthorization(config, rp.redirectUri);
    const beforeTokens = await exchangeCode(config, before, await loginThrough(new BrowserSession(), before, citizen.login, citizen.password));
    // A sign-in that is under way when the database goes away.
    const browser = new BrowserSession();
    const loginPage = await openAuthorization(browser, await startAuthorization(config, rp.redirectUri));
    expect(loginPage.url).toMatch(/\/interaction\//);

    // A client that has not called /token yet: its per-client limit has no lease to spend.
    const quiet = await idp.makeClient({ name: 'Тихий клиент' });

    const outage = await startOutage(idp);
    try {
      const ready = await fetch(`${idp.issuer}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('5');

      const token = await postForm(`${idp.issuer}/token`, { grant_type: 'authorization_code', code: 'any-code', redirect_uri: rp.redirectUri, code_verifier: 'v'.repeat(43) }, { id: rp.clientId, secret: rp.clientSecret! });
      expect(token.status).toBe(503);
      expect(token.headers.get('retry-after')).toBe('5');
      // This client's per-client limit spends a lease taken before the outage: oidc-provider's adapter answers.
      expect(token.json).toMatchObject({ error: 'temporarily_unavailable' });
      // Without a lease, our limit in front of /token is the first to reach the database.
      const quietToken = await postForm(`${idp.issuer}/token`, { grant_type: 'client_credentials' }, { id: quiet.clientId, secret: quiet.clientSecret! });
      expect(quietToken.status).toBe(503);
      expect(quietToken.headers.get('retry-after')).toBe('5');
      expect(quietToken.json).toMatchObject({ error: 'service_unavailable', retry_after: 5 });

      // oidc-provider's own endpoints: the adapter's error becomes RFC 6749 temporarily_unavailable.
      const me = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${beforeTokens.access_token}` } });
      expect(me.status).toBe(503);
      expect(me.headers.get('retry-after')).toBe('5');
      expect(await me.json()).toMatchObject({ error: 'temporarily_unavailable' });
      // A known (cached) client gets the error at its redirect_uri, with its state.
      const retry = await startAuthorization(config, rp.redirectUri);
      const toClient = await fetch(retry.url, { redirect: 'manual', headers: { accept: 'text/html' } });
      const callback = new URL(toClient.headers.get('location')!);
      expect(callback.searchParams.get('error')).toBe('temporarily_unavailable');
      expect(callback.searchParams.get('state')).toBe(retry.state);
      // A client that cannot be looked up gets oidc-provider's error page, as a 503.
      const unknownClient = new URL(retry.url);
      unknownClient.searchParams.set('client_id', 'not-cached-client');
      const errorPage = await fetch(unknownClient, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(errorPage.status).toBe(503);
      expect(errorPage.headers.get('retry-after')).toBe('5');
      expect(errorPage.headers.get('content-type')).toMatch(/text\/html/);
      expect(await errorPage.text()).not.toMatch(/\bat .*\.(ts|js):\d+/);

      const page = await browser.open(loginPage.url);
      expect(page.status).toBe(503);
      expect(page.headers.get('retry-after')).toBe('5');
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(page.html).toContain('Сервис временно недоступен. Повторите через несколько секунд.');
      expect(page.html).not.toMatch(/\bat .*\.(ts|js):\d+/);
    } finally {
      await outage.end();
    }

    const ready = await fetch(`${idp.issuer}/readyz`);
    expect(ready.status).toBe(200);
    const after = await startAuthorization(config, rp.redirectUri);
    const afterTokens = await exchangeCode(config, after, await loginThrough(new BrowserSession(), after, citizen.login, citizen.password));
    expect(afterTokens.claims()?.sub).toBe(beforeTokens.claims()?.sub);
    expect((await oidc.tokenIntrospection(config, beforeTokens.access_token)).active).toBe(true);
  });
});

async function startOutage(idp: TestIdp): Promise<{ end(): Promise<void> }> {
  if (testEngine() === 'pglite') {
    const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    const connect = vi.spyOn(idp.runtime.database.pool, 'connect').mockImplementation(refused as never);
    return { end: async () => connect.mockRestore() };
  }
  const name = new URL(idp.testDatabase.url!).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  return {
    async end() {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    },
  };
}
