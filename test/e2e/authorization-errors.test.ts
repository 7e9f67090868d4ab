import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, openAuthorization, startAuthorization, submitConsent, submitLogin } from '../support/oidc.ts';
import { postForm } from '../support/http.ts';

describe('authorization: unhappy paths', () => {
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let publicRp: { clientId: string; redirectUri: string };
  let citizen: { oid: string; login: string; password: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient();
    publicRp = await idp.makeClient({ public: true, redirectUris: ['http://127.0.0.1:9/public-cb'] });
    citizen = await idp.makeCitizen({ email: 'petrova@example.ru' });
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  async function codeFor(): Promise<{ start: Awaited<ReturnType<typeof startAuthorization>>; callback: URL }> {
    const start = await startAuthorization(config, rp.redirectUri);
    return { start, callback: await loginThrough(new BrowserSession(), start, citizen.login, citizen.password) };
  }

  it('answers a wrong password and an unknown login with the same page, status and argon2 work', async () => {
    const verify = vi.spyOn(argon2, 'verify');
    const attempt = async (login: string, password: string) => {
      const browser = new BrowserSession();
      const page = await openAuthorization(browser, await startAuthorization(config, rp.redirectUri));
      verify.mockClear();
      const answer = await submitLogin(browser, page, login, password, rp.redirectUri);
      return { status: answer.status, message: answer.html.match(/id="form-error">([^<]*)</)?.[1], argon2Calls: verify.mock.calls.length };
    };
    const wrongPassword = await attempt(citizen.login, 'Not-The-Password-1');
    const unknownLogin = await attempt('nobody@example.ru', 'Not-The-Password-1');
    const unknownPhone = await attempt('+7 900 000-00-00', 'Not-The-Password-1');
    verify.mockRestore();
    expect(wrongPassword).toEqual({ status: 401, message: 'Неверный логин или пароль', argon2Calls: 1 });
    expect(unknownLogin).toEqual(wrongPassword);
    expect(unknownPhone).toEqual(wrongPassword);
  });

  it('keeps the typed login and names each empty field', async () => {
    const browser = new BrowserSession();
    const page = await openAuthorization(browser, await startAuthorization(config, rp.redirectUri));
    const answer = await submitLogin(browser, page, 'someone@example.ru', '', rp.redirectUri);
    expect(answer.status).toBe(400);
    expect(answer.html).toContain('Введите пароль');
    expect(answer.html).toContain('value="someone@example.ru"');
  });

  it('shows the login page in English with ui_locales=en', async () => {
    const page = await openAuthorization(new BrowserSession(), await startAuthorization(config, rp.redirectUri, { ui_locales: 'en-GB ru' }));
    expect(page.html).toContain('<html lang="en">');
    expect(page.html).toContain('Sign in');
  });

  it('escapes what it echoes back', async () => {
    const browser = new BrowserSession();
    const page = await openAuthorization(browser, await startAuthorization(config, rp.redirectUri));
    const answer = await submitLogin(browser, page, '"><script>alert(1)</script>', 'x', rp.redirectUri);
    expect(answer.html).not.toContain('<script>alert(1)</script>');
    expect(answer.html).toContain('&lt;script&gt;');
  });

  it('shows an error page and does not redirect for an unregistered redirect_uri', async () => {
    const start = await startAuthorization(config, 'https://evil.example/cb');
    const response = await fetch(start.url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('invalid_redirect_uri');
    expect(html).toContain('Запрос на вход не может быть выполнен');
  });

  it('refuses a reused authorization code and revokes the tokens issued from it', async () => {
    const { start, callback } = await codeFor();
    const tokens = await exchangeCode(config, start, callback);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    await expect(exchangeCode(config, start, callback)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  });

  it('lets exactly one of 20 parallel token requests redeem a code', async () => {
    const { start, callback } = await codeFor();
    const form = { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: rp.redirectUri, code_verifier: start.codeVerifier };
    const answers = await Promise.all(Array.from({ length: 20 }, () => postForm(`${idp.issuer}/token`, form, { id: rp.clientId, secret: rp.clientSecret! })));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(19);
    for (const answer of refused) expect(answer.json).toMatchObject({ error: 'invalid_grant' });
  });

  it('requires PKCE from a public client', async () => {
    const publicConfig = await discoverClient(idp.issuer, { clientId: publicRp.clientId });
    const url = oidc.buildAuthorizationUrl(publicConfig, { redirect_uri: publicRp.redirectUri, scope: 'openid', state: 's1' });
    const page = await new BrowserSession().open(url.toString(), (u) => u.startsWith(publicRp.redirectUri));
    const error = new URL(page.url).searchParams;
    expect(error.get('error')).toBe('invalid_request');
    expect(error.get('error_description')).toMatch(/PKCE/);
    expect(error.get('state')).toBe('s1');
  });

  it('refuses the plain PKCE method', async () => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: rp.redirectUri, scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    const page = await new BrowserSession().open(url.toString(), (u) => u.startsWith(rp.redirectUri));
    expect(new URL(page.url).searchParams.get('error')).toBe('invalid_request');
  });

  it('answers prompt=none without a session with login_required', async () => {
    const start = await startAuthorization(config, rp.redirectUri, { prompt: 'none' });
    const page = await new BrowserSession().open(start.url.toString(), (u) => u.startsWith(rp.redirectUri));
    const params = new URL(page.url).searchParams;
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe(start.state);
  });

  it('tells the RP access_denied when the citizen refuses consent', async () => {
    const start = await startAuthorization(config, rp.redirectUri);
    const browser = new BrowserSession();
    const loginPage = await openAuthorization(browser, start);
    const consentPage = await submitLogin(browser, loginPage, citizen.login, citizen.password, rp.redirectUri);
    expect(consentPage.html).toContain('Подтвердить');
    const back = await submitConsent(browser, consentPage, rp.redirectUri, 'abort');
    expect(new URL(back.url).searchParams.get('error')).toBe('access_denied');
  });

  it('answers malformed token, userinfo and authorization requests with OAuth errors, never 500', async () => {
    const basic = { id: rp.clientId, secret: rp.clientSecret! };
    const cases = [
      await postForm(`${idp.issuer}/token`, {}, basic),
      await postForm(`${idp.issuer}/token`, { grant_type: 'magic' }, basic),
      await postForm(`${idp.issuer}/token`, { grant_type: 'authorization_code', code: 'nope', redirect_uri: rp.redirectUri }, basic),
      await postForm(`${idp.issuer}/token`, { grant_type: 'authorization_code', code: 'nope' }, { id: rp.clientId, secret: 'wrong-secret' }),
      await postForm(`${idp.issuer}/token`, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(5000) }, basic),
      await postForm(`${idp.issuer}/token/introspection`, {}, basic),
    ];
    for (const answer of cases) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.json?.error).toMatch(/^(invalid_request|unsupported_grant_type|invalid_grant|invalid_client)$/);
    }
    const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(userinfo.status).toBe(401);
    expect(userinfo.headers.get('www-authenticate')).toMatch(/invalid_token/);

    const noClient = await fetch(`${idp.issuer}/auth?response_type=code&scope=openid`, { headers: { accept: 'text/html' } });
    expect(noClient.status).toBe(400);
    expect(await noClient.text()).toContain('invalid_request');
  });

  it('shows a friendly page for an interaction that does not exist or has expired', async () => {
    const response = await fetch(`${idp.issuer}/interaction/unknown-uid`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('Время на вход истекло');
    expect(html).not.toMatch(/at \w+ \(/); // no stack trace
  });

  it('issues client_credentials tokens to a confidential client', async () => {
    const answer = await postForm(`${idp.issuer}/token`, { grant_type: 'client_credentials' }, { id: rp.clientId, secret: rp.clientSecret! });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
  });
});
