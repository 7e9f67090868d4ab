import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, openAuthorization, startAuthorization, submitLogin } from '../support/oidc.ts';
import { formAction } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { startBackchannelReceiver, type BackchannelReceiver } from '../support/backchannel.ts';

describe('consent and «Связанные сервисы»', () => {
  let idp: TestIdp;
  let receiver: BackchannelReceiver;
  let logoutTokens: string[];
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    receiver = await startBackchannelReceiver();
    logoutTokens = receiver.logoutTokens;
    rp = await idp.makeClient({ name: 'Мос.ру', backchannelLogoutUri: receiver.url });
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(async () => {
    await receiver?.close();
    await idp?.close();
  });

  it('requires ticking «Согласен»: the server refuses the form without it', async () => {
    const citizen = await idp.makeCitizen();
    const browser = new BrowserSession();
    const start = await startAuthorization(config, rp.redirectUri);
    const consent = await submitLogin(browser, await openAuthorization(browser, start), citizen.login, citizen.password, rp.redirectUri);
    expect(consent.html).toMatch(/<button class="primary" type="submit" id="confirm" disabled>Подтвердить<\/button>/);
    expect(consent.html).toContain('Согласен на передачу этих данных в «Мос.ру»');
    const refused = await browser.submit(formAction(consent, '/confirm'), {}, (u) => u.startsWith(rp.redirectUri));
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Отметьте «Согласен»');
    const agreed = await browser.submit(formAction(refused, '/confirm'), { agree: 'yes' }, (u) => u.startsWith(rp.redirectUri));
    expect(new URL(agreed.url).searchParams.get('code')).toBeTruthy();
  });

  it('remembers a consent in a later session, and asks again only for new data', async () => {
    const citizen = await idp.makeCitizen();
    const first = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname' });
    await loginThrough(new BrowserSession(), first, citizen.login, citizen.password);

    const laterBrowser = new BrowserSession();
    const again = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname' });
    const afterLogin = await submitLogin(laterBrowser, await openAuthorization(laterBrowser, again), citizen.login, citizen.password, rp.redirectUri);
    expect(afterLogin.url.startsWith(rp.redirectUri)).toBe(true);

    const more = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname mobile' });
    const consent = await laterBrowser.open(more.url.toString(), (u) => u.startsWith(rp.redirectUri));
    expect(consent.html).toContain('data-scope="mobile"');
    expect(consent.html).not.toContain('data-scope="fullname"');
  });

  it('lists the services with what they receive, and disconnecting revokes every token and notifies the service', async () => {
    const citizen = await idp.makeCitizen();
    const start = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname mobile' });
    const tokens = await exchangeCode(config, start, await loginThrough(new BrowserSession(), start, citizen.login, citizen.password));
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    const list = await browser.open(`${idp.issuer}/account/linked-services`);
    expect(list.html).toContain('Мос.ру');
    expect(list.html).toContain('Номер мобильного телефона');
    expect(list.html).toMatch(/последнее использование/);
    expect(list.html).not.toContain('Госуслуги: личный кабинет');

    const confirm = await browser.open(`${idp.issuer}/account/linked-services/${rp.clientId}/disconnect`);
    expect(confirm.html).toContain('потеряет доступ');
    const forged = await browser.submit(formAction(confirm, '/disconnect'), {});
    expect(forged.status).toBe(403);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    logoutTokens.length = 0;
    const done = await browser.submit(formAction(confirm, '/disconnect'), { _csrf: csrfToken(confirm) });
    expect(done.url).toContain('/account/linked-services');
    expect(done.html).toContain('отключён');
    expect(done.html).not.toContain(`data-client-id="${rp.clientId}"`);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(logoutTokens).toHaveLength(1);
    expect(decodeJwt(logoutTokens[0])).toMatchObject({ sub: citizen.oid, aud: rp.clientId, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });

    const audit = await idp.runtime.database.db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).where('type', '=', 'consent.revoked').execute();
    expect(audit).toHaveLength(1);

    // Signing in to the service again asks for consent again.
    const next = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname' });
    const fresh = new BrowserSession();
    const page = await submitLogin(fresh, await openAuthorization(fresh, next), citizen.login, citizen.password, rp.redirectUri);
    expect(page.html).toContain('Согласен');
  });

  it('does not let one citizen see or revoke another citizen\'s services', async () => {
    const owner = await idp.makeCitizen();
    const start = await startAuthorization(config, rp.redirectUri);
    const tokens = await exchangeCode(config, start, await loginThrough(new BrowserSession(), start, owner.login, owner.password));
    const stranger = await idp.makeCitizen();
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, stranger);
    expect((await browser.open(`${idp.issuer}/account/linked-services`)).html).not.toContain(`data-client-id="${rp.clientId}"`);
    expect((await browser.open(`${idp.issuer}/account/linked-services/${rp.clientId}/disconnect`)).status).toBe(404);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });
});
