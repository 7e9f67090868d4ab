import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { formAction, type Page } from '../support/browser-session.ts';
import { lastCodeSentTo } from '../support/outbox.ts';
import { BrowserSession, discoverClient, exchangeCode, oidc, openAuthorization, startAuthorization, submitLogin, type AuthorizationStart } from '../support/oidc.ts';
import { enrolTotp, submitSecondFactor, totpCode } from './security-support.ts';

const requireSecondFactor = (values: string[] | string) => ({
  claims: JSON.stringify({ id_token: { amr: Array.isArray(values) ? { essential: true, values } : { essential: true, value: values } } }),
});

describe('an RP that requires a second factor', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;
  const toRp = (url: string) => url.startsWith(rp.redirectUri);

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    rp = await idp.makeClient({ name: 'Налоговая служба' });
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  async function tokensAfter(browser: BrowserSession, start: AuthorizationStart, page: Page) {
    const callback = toRp(page.url) ? page : await browser.submit(formAction(page, '/confirm'), { agree: 'yes' }, toRp);
    expect(callback.url.startsWith(rp.redirectUri)).toBe(true);
    return exchangeCode(config, start, new URL(callback.url));
  }

  /** A browser signed in with the password alone, whose citizen then set up the app. */
  async function passwordOnlySessionWithApp() {
    const citizen = await idp.makeCitizen();
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    const { secret } = await enrolTotp(browser, idp.issuer, clock);
    clock.advance(30);
    return { citizen, browser, secret };
  }

  it('steps a password-only session up: only the second factor is asked, then the session has it', async () => {
    const { browser, secret } = await passwordOnlySessionWithApp();

    // Without the requirement the session is enough as it is.
    const plain = await startAuthorization(config, rp.redirectUri);
    expect((await tokensAfter(browser, plain, await openAuthorization(browser, plain))).claims()!.amr).toEqual(['pwd']);

    const strict = await startAuthorization(config, rp.redirectUri, requireSecondFactor(['otp', 'sms']));
    const page = await openAuthorization(browser, strict);
    expect(page.url).toMatch(/\/second-factor$/);
    expect(page.html).toContain('Подтверждение входа');
    expect(page.html).not.toContain('name="password"');
    const done = await submitSecondFactor(browser, page, 'totp', await totpCode(secret, clock), toRp);
    const idToken = (await tokensAfter(browser, strict, done)).claims()!;
    expect(idToken.amr).toEqual(['pwd', 'otp']);
    expect(idToken['urn:esia:amd']).toBe('PWD,OTP');

    // The session now carries the second factor: the next strict request asks nothing.
    const again = await startAuthorization(config, rp.redirectUri, requireSecondFactor('mfa'));
    const answer = await openAuthorization(browser, again);
    expect(answer.url.startsWith(rp.redirectUri)).toBe(true);
    expect((await tokensAfter(browser, again, answer)).claims()!.amr).toEqual(['pwd', 'otp']);
  });

  it('throttles guessing the code with a password-only session: five tries per opening, openings delayed', async () => {
    const { browser, secret } = await passwordOnlySessionWithApp();
    const start = await startAuthorization(config, rp.redirectUri, requireSecondFactor('mfa'));
    const first = await openAuthorization(browser, start);
    const secondFactorUrl = first.url;
    const guess = async (page: Page, n: number) => submitSecondFactor(browser, page, 'totp', await totpCode(secret, clock, 100 + n), toRp);
    for (let opening = 1; opening <= 5; opening++) {
      let page = opening === 1 ? first : await browser.open(secondFactorUrl);
      expect(page.status).toBe(200);
      for (let i = 1; i <= 5; i++) page = await guess(page, opening * 10 + i);
      expect(page.html).toContain('Слишком много неверных кодов');
    }
    const refused = await browser.open(secondFactorUrl);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.html).toContain('Слишком много неудачных попыток входа. Повторите через 1 сек.');

    clock.advance(1);
    const again = await browser.open(secondFactorUrl);
    const done = await submitSecondFactor(browser, again, 'totp', await totpCode(secret, clock), toRp);
    expect((await tokensAfter(browser, start, done)).claims()!.amr).toEqual(['pwd', 'otp']);
  });

  it('answers prompt=none with login_required while the session lacks the factor', async () => {
    const { browser } = await passwordOnlySessionWithApp();
    const start = await startAuthorization(config, rp.redirectUri, { ...requireSecondFactor('mfa'), prompt: 'none' });
    const answer = await openAuthorization(browser, start);
    expect(new URL(answer.url).searchParams.get('error')).toBe('login_required');
  });

  it('ignores a request that names no second factor (only pwd)', async () => {
    const citizen = await idp.makeCitizen();
    const browser = new BrowserSession();
    const start = await startAuthorization(config, rp.redirectUri, requireSecondFactor(['pwd']));
    const page = await submitLogin(browser, await openAuthorization(browser, start), citizen.login, citizen.password, rp.redirectUri);
    expect((await tokensAfter(browser, start, page)).claims()!.amr).toEqual(['pwd']);
  });

  it('explains to a citizen without a second factor how to set one up; «Вернуться» tells the RP access_denied', async () => {
    const citizen = await idp.makeCitizen();
    const browser = new BrowserSession();
    const start = await startAuthorization(config, rp.redirectUri, requireSecondFactor(['otp', 'sms']));
    const page = await submitLogin(browser, await openAuthorization(browser, start), citizen.login, citizen.password, rp.redirectUri);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Нужен вход с подтверждением');
    expect(page.html).toContain('«Налоговая служба» принимает только вход с подтверждением');
    expect(page.html).toContain('откройте раздел «Безопасность»');
    // No session was created on the way: the password alone must not sign in for this RP.
    const back = await browser.submit(formAction(page, '/second-factor/abort'), {}, toRp);
    const answer = new URL(back.url).searchParams;
    expect(answer.get('error')).toBe('access_denied');
    expect(answer.get('error_description')).toBe('the client requires a second authentication factor, and none is set up for this account');
    expect(browser.cookie(new URL(idp.issuer).host, '_session')).toBeUndefined();
  });

  it('offers only the factors the RP names', async () => {
    const { citizen, browser, secret } = await passwordOnlySessionWithApp();
    const overview = await browser.open(`${idp.issuer}/account/security`);
    await browser.submit(`${idp.issuer}/account/security/sms`, { _csrf: csrfToken(overview), password: citizen.password });

    const start = await startAuthorization(config, rp.redirectUri, requireSecondFactor(['sms']));
    const page = await openAuthorization(browser, start);
    expect(page.html).toContain('Получить код по SMS');
    expect(page.html).not.toContain('id="totp-form"');
    expect(page.html).not.toContain('id="recovery-form"');
    // An app code, even a right one (posted by hand: the page has no such form), is not what this RP accepts.
    const refused = await browser.submit(page.url, { method: 'totp', code: await totpCode(secret, clock) }, toRp);
    expect(refused.status).toBe(400);
    expect(refused.url.startsWith(rp.redirectUri)).toBe(false);

    const sent = await browser.submit(formAction(page, '/second-factor/sms'), {});
    const done = await submitSecondFactor(browser, sent, 'sms', await lastCodeSentTo(idp.runtime.database.db, citizen.login.replace('+', '')), toRp);
    expect((await tokensAfter(browser, start, done)).claims()!.amr).toEqual(['pwd', 'sms']);
  });
});
