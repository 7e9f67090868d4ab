import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';
import { hiddenInputs } from '../support/browser-session.ts';
import { getJson } from '../support/http.ts';

describe('authorization code flow with a real openid-client RP', () => {
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let citizen: { oid: string; login: string; password: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient({ name: 'Сервис «Проверка»', backchannelLogoutUri: undefined });
    citizen = await idp.makeCitizen({ lastName: 'Иванова', firstName: 'Мария', middleName: 'Сергеевна', email: 'maria@example.ru', phone: '+7 (916) 555-11-22' });
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  async function signIn(browser = new BrowserSession()) {
    const start = await startAuthorization(config, rp.redirectUri);
    const callback = await loginThrough(browser, start, citizen.login, citizen.password);
    return { browser, start, callback, tokens: await exchangeCode(config, start, callback) };
  }

  it('publishes discovery with our issuer and a JWKS without private parts', async () => {
    const metadata = await getJson(`${idp.issuer}/.well-known/openid-configuration`);
    expect(metadata.issuer).toBe(idp.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    // Only the code flow (and `none`, used by the first-party account console): no implicit or hybrid.
    expect(metadata.response_types_supported).toEqual(['code', 'none']);
    for (const endpoint of ['revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint', 'userinfo_endpoint']) {
      expect(metadata[endpoint]).toMatch(new RegExp(`^${idp.issuer}/`));
    }
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.claims_parameter_supported).toBe(true);
    const jwks = await getJson(metadata.jwks_uri);
    expect(jwks.keys.map((k: { alg: string }) => k.alg).sort()).toEqual(['ES256', 'PS256', 'RS256']);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });

  it('signs a citizen in: the id_token verifies and userinfo returns the scoped claims', async () => {
    const { start, callback, tokens } = await signIn();
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    // openid-client has checked the signature, iss, aud, exp, nonce, state and the PKCE verifier.
    const idToken = tokens.claims()!;
    expect(idToken).toMatchObject({ sub: citizen.oid, iss: idp.issuer, aud: rp.clientId, nonce: start.nonce });
    expect(idToken.auth_time).toBeTypeOf('number');
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, citizen.oid);
    expect(userinfo).toMatchObject({
      sub: citizen.oid, family_name: 'Иванова', given_name: 'Мария', middle_name: 'Сергеевна',
      name: 'Иванова Мария Сергеевна', email: 'maria@example.ru', phone_number: '+79165551122',
    });
  });

  it('a second authorization in the same browser skips login and consent', async () => {
    const browser = new BrowserSession();
    await signIn(browser);
    const start = await startAuthorization(config, rp.redirectUri);
    const page = await browser.open(start.url.toString(), (url) => url.startsWith(rp.redirectUri));
    expect(page.url.startsWith(rp.redirectUri)).toBe(true);
    expect((await exchangeCode(config, start, new URL(page.url))).claims()!.sub).toBe(citizen.oid);
  });

  it('rotates refresh tokens; the rotated one is refused and its reuse revokes the grant', async () => {
    const { tokens } = await signIn();
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(true);

    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Replay of a rotated token is treated as theft: everything issued from the grant dies.
    expect((await oidc.tokenIntrospection(config, refreshed.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes an access token: introspection then says inactive and userinfo refuses it', async () => {
    const { tokens } = await signIn();
    const before = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(before).toMatchObject({ active: true, sub: citizen.oid, client_id: rp.clientId });
    await oidc.tokenRevocation(config, tokens.access_token);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.fetchUserInfo(config, tokens.access_token, citizen.oid)).rejects.toBeTruthy();
  });

  it('RP-initiated logout asks for confirmation, ends the session and returns to the RP', async () => {
    const { browser, tokens } = await signIn();
    const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'http://127.0.0.1:9/', state: 'bye' });
    const confirmPage = await browser.open(endSession.toString());
    expect(confirmPage.status).toBe(200);
    expect(confirmPage.html).toContain('Выйти');
    const form = hiddenInputs(confirmPage, 'op.logoutForm');
    expect(form.xsrf).toBeTruthy();
    const action = confirmPage.html.match(/<form[^>]*id="op\.logoutForm"[^>]*action="([^"]+)"/)?.[1] ?? confirmPage.html.match(/<form[^>]*action="([^"]+)"[^>]*id="op\.logoutForm"/)?.[1];
    const done = await browser.submit(new URL(action!, idp.issuer).toString(), { ...form, logout: 'yes' }, (url) => url.startsWith('http://127.0.0.1:9/'));
    expect(done.url).toBe('http://127.0.0.1:9/?state=bye');

    // The session is gone: prompt=none now answers login_required.
    const silent = await startAuthorization(config, rp.redirectUri, { prompt: 'none' });
    const answer = await browser.open(silent.url.toString(), (url) => url.startsWith(rp.redirectUri));
    expect(new URL(answer.url).searchParams.get('error')).toBe('login_required');
  });
});
