import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecondInstance, startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, oidc, openAuthorization, startAuthorization, submitConsent, submitLogin } from '../support/oidc.ts';
import { formAction } from '../support/browser-session.ts';
import { getJson, postForm } from '../support/http.ts';
import { stageSigningKey } from '../../src/oidc/keys.service.ts';

/** Two instances behind one issuer on one database: nothing lives only in one process. */
describe('two IdP instances on one database', () => {
  let a: TestIdp;
  let b: Awaited<ReturnType<typeof startSecondInstance>>;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;
  let citizen: { oid: string; login: string; password: string };

  beforeAll(async () => {
    a = await startTestIdp();
    b = await startSecondInstance(a);
    rp = await a.makeClient();
    config = await discoverClient(a.issuer, rp);
    citizen = await a.makeCitizen();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  /** The same path on instance B (the browser's cookies are per host, so they travel along). */
  const onB = (url: string) => url.replace(a.issuer, b.url);

  it('finishes on B an authorization started on A, and B redeems the code A issued exactly once', async () => {
    const browser = new BrowserSession();
    const start = await startAuthorization(config, rp.redirectUri);
    const loginPage = await openAuthorization(browser, start);
    expect(loginPage.url.startsWith(`${a.issuer}/interaction/`)).toBe(true);
    const consent = await submitLogin(browser, { ...loginPage, url: onB(loginPage.url) }, citizen.login, citizen.password, rp.redirectUri);
    const back = await submitConsent(browser, consent, rp.redirectUri);
    const callback = new URL(back.url);
    expect(callback.searchParams.get('code')).toBeTruthy();

    const form = { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: rp.redirectUri, code_verifier: start.codeVerifier };
    const basic = { id: rp.clientId, secret: rp.clientSecret! };
    const atB = await postForm(`${b.url}/token`, form, basic);
    expect(atB.status).toBe(200);
    expect(atB.json).toMatchObject({ token_type: 'Bearer' });
    const againAtA = await postForm(`${a.issuer}/token`, form, basic);
    expect(againAtA.json).toMatchObject({ error: 'invalid_grant' });
    // The replay revoked what B issued: A's introspection agrees.
    expect((await oidc.tokenIntrospection(config, String(atB.json!.access_token))).active).toBe(false);
  });

  it('serves from B a key staged through A, once B refreshes its keys', async () => {
    const staged = await stageSigningKey(a.runtime.database.db, a.runtime.secrets.secretBox, 'ES256', a.runtime.clock.now());
    expect((await getJson(`${b.url}/jwks`)).keys.map((k: { kid: string }) => k.kid)).not.toContain(staged.kid);
    expect(await b.runtime.refreshSigningKeys()).toBe(true);
    expect((await getJson(`${b.url}/jwks`)).keys.map((k: { kid: string }) => k.kid)).toContain(staged.kid);
  });

  it('keeps the browser signed in across instances (the session is in the database)', async () => {
    const browser = new BrowserSession();
    const first = await startAuthorization(config, rp.redirectUri);
    const loginPage = await openAuthorization(browser, first);
    const consent = await submitLogin(browser, loginPage, citizen.login, citizen.password, rp.redirectUri);
    if (!consent.url.startsWith(rp.redirectUri)) await browser.submit(formAction(consent, '/confirm'), { agree: 'yes' }, (url) => url.startsWith(rp.redirectUri));
    const second = await startAuthorization(config, rp.redirectUri);
    const silent = await browser.open(onB(second.url.toString()), (url) => url.startsWith(rp.redirectUri));
    expect(new URL(silent.url).searchParams.get('code')).toBeTruthy();
    expect((await exchangeCode(config, second, new URL(silent.url))).claims()!.sub).toBe(citizen.oid);
  });
});
