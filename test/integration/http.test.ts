import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';

describe('operations and HTTP basics', () => {
  let idp: TestIdp;
  const logLines: string[] = [];

  beforeAll(async () => {
    const destination = new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } });
    idp = await startTestIdp({ logger: createLogger({ level: 'debug', destination }) });
  });
  afterAll(() => idp?.close());

  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${idp.issuer}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${idp.issuer}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('gives every response a request id and the security headers', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const page = await fetch(`${idp.issuer}/no-such-page`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('ignores a client-supplied request id unless behind a trusted proxy', async () => {
    const response = await fetch(`${idp.issuer}/healthz`, { headers: { 'x-request-id': 'attacker-chosen-id' } });
    expect(response.headers.get('x-request-id')).not.toBe('attacker-chosen-id');
  });

  it('shows a Russian 404 page to browsers and JSON to API clients', async () => {
    const page = await fetch(`${idp.issuer}/no-such-page`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(html).toContain('Страница не найдена');
    expect(html).toContain(page.headers.get('x-request-id')!);
    const api = await fetch(`${idp.issuer}/no-such-page`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: 'error.not_found' });
  });

  it('logs each request as JSON with its id, but never a password, code or token', async () => {
    const rp = await idp.makeClient();
    const citizen = await idp.makeCitizen({ password: 'Very-Secret-Pass-42' });
    const config = await discoverClient(idp.issuer, rp);
    const start = await startAuthorization(config, rp.redirectUri);
    const callback = await loginThrough(new BrowserSession(), start, citizen.login, citizen.password);
    const tokens = await exchangeCode(config, start, callback);
    await oidc.fetchUserInfo(config, tokens.access_token, citizen.oid);

    const log = logLines.join('');
    const requests = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
    expect(requests.some((entry) => entry.path === '/token' && entry.status === 200 && entry.requestId)).toBe(true);
    for (const secret of ['Very-Secret-Pass-42', callback.searchParams.get('code')!, tokens.access_token, tokens.refresh_token!, rp.clientSecret!, start.codeVerifier]) {
      expect(log).not.toContain(secret);
    }
  });

  it('serves Prometheus metrics: latency by route, logins by outcome, tokens by grant, pool and outbox', async () => {
    const response = await fetch(`${idp.issuer}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/esia_http_request_duration_seconds_bucket\{[^}]*route="token"[^}]*\}/);
    expect(text).toMatch(/esia_logins_total\{outcome="success"\} [1-9]/);
    expect(text).toMatch(/esia_tokens_issued_total\{grant_type="authorization_code"\} [1-9]/);
    expect(text).toMatch(/esia_db_pool_connections\{state="total"\} \d+/);
    expect(text).toMatch(/esia_outbox_backlog \d+/);
    expect(text).toContain('esia_rate_limit_rejections_total');
  });
});
