import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { formAction, type Page } from '../support/browser-session.ts';
import { lastCodeSentTo, messagesTo } from '../support/outbox.ts';
import { BrowserSession, discoverClient, exchangeCode, oidc, openAuthorization, startAuthorization, submitLogin, type AuthorizationStart } from '../support/oidc.ts';
import { listAuditEvents } from '../../src/audit/audit.service.ts';
import { enrolTotp, fieldError, formError, recoveryCodesOn, secretOn, submitSecondFactor, totpCode } from './security-support.ts';

describe('second factor: authenticator app, SMS, recovery codes', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;
  const db = () => idp.runtime.database.db;
  const toRp = (url: string) => url.startsWith(rp.redirectUri);

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    rp = await idp.makeClient({ name: 'Портал «Мой район»' });
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  async function signedIn(citizen: { login: string; password: string }) {
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return browser;
  }

  /** Starts an authorization in a fresh browser and enters the password: the page after it. */
  async function afterPassword(citizen: { login: string; password: string }, browser = new BrowserSession()): Promise<{ browser: BrowserSession; start: AuthorizationStart; page: Page }> {
    const start = await startAuthorization(config, rp.redirectUri);
    const loginPage = await openAuthorization(browser, start);
    const page = await submitLogin(browser, loginPage, citizen.login, citizen.password, rp.redirectUri);
    return { browser, start, page };
  }

  /** Consents when asked and exchanges the code like the RP would. */
  async function tokensAfter(browser: BrowserSession, start: AuthorizationStart, page: Page) {
    const callback = toRp(page.url) ? page : await browser.submit(formAction(page, '/confirm'), { agree: 'yes' }, toRp);
    expect(callback.url.startsWith(rp.redirectUri)).toBe(true);
    return exchangeCode(config, start, new URL(callback.url));
  }

  async function citizenWithApp() {
    const citizen = await idp.makeCitizen();
    const browser = await signedIn(citizen);
    const enrolled = await enrolTotp(browser, idp.issuer, clock);
    // The enrolment used this time step; the app shows the next code 30 seconds later.
    clock.advance(30);
    return { ...citizen, ...enrolled, browser };
  }

  it('enables the authenticator app only after a right code, and shows ten recovery codes once', async () => {
    const citizen = await idp.makeCitizen();
    const browser = await signedIn(citizen);
    const overview = await browser.open(`${idp.issuer}/account/security`);
    expect(overview.html).toContain('data-second-factor="off"');

    const enrolment = await browser.open(`${idp.issuer}/account/security/totp`);
    expect(enrolment.status).toBe(200);
    expect(enrolment.html).toMatch(/<img class="qr" src="data:image\/png;base64,[A-Za-z0-9+/=]+"/);
    const secret = secretOn(enrolment);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // A reload shows the same secret: the app scanned a moment ago still matches.
    expect(secretOn(await browser.open(`${idp.issuer}/account/security/totp`))).toBe(secret);

    const wrong = await browser.submit(`${idp.issuer}/account/security/totp`, { _csrf: csrfToken(enrolment), code: await totpCode(secret, clock, 10) });
    expect(wrong.status).toBe(400);
    expect(fieldError(wrong, 'totp_code')).toContain('Неверный код');
    expect((await browser.open(`${idp.issuer}/account/security`)).html).toContain('data-second-factor="off"');

    const empty = await browser.submit(`${idp.issuer}/account/security/totp`, { _csrf: csrfToken(enrolment), code: '' });
    expect(fieldError(empty, 'totp_code')).toBe('Введите код');

    const right = await browser.submit(`${idp.issuer}/account/security/totp`, { _csrf: csrfToken(enrolment), code: await totpCode(secret, clock) });
    expect(right.status).toBe(200);
    expect(right.headers.get('cache-control')).toBe('no-store');
    const codes = recoveryCodesOn(right);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{5}$/);

    const after = await browser.open(`${idp.issuer}/account/security`);
    expect(after.html).toContain('data-second-factor="on"');
    expect(after.html).toContain('data-method="totp"');
    expect(after.html).toContain('data-recovery-left="10"');
    expect(recoveryCodesOn(after)).toEqual([]);

    // Sealed at rest; recovery codes only as hashes.
    const row = await db().selectFrom('second_factors').selectAll().where('citizen_oid', '=', citizen.oid).executeTakeFirstOrThrow();
    expect(row.totp_secret_sealed).toMatch(/^v1\./);
    expect(row.totp_secret_sealed).not.toContain(secret);
    const stored = await db().selectFrom('recovery_codes').select('code_hash').where('citizen_oid', '=', citizen.oid).execute();
    expect(stored.map((r) => r.code_hash)).not.toContain(codes[0]);

    expect((await listAuditEvents(db(), citizen.oid)).map((e) => [e.type, e.details])).toContainEqual(['security.second_factor_enabled', { method: 'totp' }]);
    const phone = citizen.login.replace('+', '');
    expect((await messagesTo(db(), phone)).map((m) => [m.template, m.payload.event])).toContainEqual(['security_notice', 'second_factor_enabled']);
    clock.advance(30);
  });

  it('asks for the app code after the password, and the tokens say so (amr otp, urn:esia:amd PWD,OTP)', async () => {
    const citizen = await citizenWithApp();
    const { browser, start, page } = await afterPassword(citizen);
    expect(page.status).toBe(200);
    expect(page.url).toMatch(/\/interaction\/[\w-]+\/second-factor$/);
    expect(page.html).toContain('Подтверждение входа');
    expect(page.html).toContain('Портал «Мой район»');

    const wrong = await submitSecondFactor(browser, page, 'totp', await totpCode(citizen.secret, clock, 5), toRp);
    expect(wrong.status).toBe(401);
    expect(fieldError(wrong, 'totp')).toBe('Неверный код');

    const done = await submitSecondFactor(browser, wrong, 'totp', await totpCode(citizen.secret, clock), toRp);
    const tokens = await tokensAfter(browser, start, done);
    const idToken = tokens.claims()!;
    expect(idToken.amr).toEqual(['pwd', 'otp']);
    expect(idToken['urn:esia:amd']).toBe('PWD,OTP');
    expect(idToken.sub).toBe(citizen.oid);
  });

  it('never accepts the same app code twice, not even in another browser', async () => {
    const citizen = await citizenWithApp();
    const code = await totpCode(citizen.secret, clock);
    const first = await afterPassword(citizen);
    const signedInOnce = await submitSecondFactor(first.browser, first.page, 'totp', code, toRp);
    await tokensAfter(first.browser, first.start, signedInOnce);

    const second = await afterPassword(citizen);
    const replay = await submitSecondFactor(second.browser, second.page, 'totp', code, toRp);
    expect(replay.status).toBe(401);
    expect(fieldError(replay, 'totp')).toBe('Этот код уже использован. Дождитесь нового кода в приложении.');
    // Nor a code of an earlier step, still inside the drift window.
    const earlier = await submitSecondFactor(second.browser, replay, 'totp', await totpCode(citizen.secret, clock, -1), toRp);
    expect(earlier.status).toBe(401);

    clock.advance(30);
    const next = await submitSecondFactor(second.browser, earlier, 'totp', await totpCode(citizen.secret, clock), toRp);
    expect((await tokensAfter(second.browser, second.start, next)).claims()!.amr).toEqual(['pwd', 'otp']);
  });

  it('accepts each recovery code once, even when two browsers race with the same code', async () => {
    const citizen = await citizenWithApp();
    const [one, two] = [await afterPassword(citizen), await afterPassword(citizen)];
    const code = citizen.recoveryCodes[0];
    const answers = await Promise.all([one, two].map(({ browser, page }) => submitSecondFactor(browser, page, 'recovery', code, toRp)));
    const passed = answers.filter((page) => page.status !== 401);
    expect(passed).toHaveLength(1);
    const refused = answers.find((page) => page.status === 401)!;
    expect(fieldError(refused, 'recovery')).toBe('Неверный код');

    const winner = answers[0] === passed[0] ? one : two;
    const tokens = await tokensAfter(winner.browser, winner.start, passed[0]);
    // RFC 8176 has no value for recovery codes; a one-time code from the printed list is reported as `otp`.
    expect(tokens.claims()!.amr).toEqual(['pwd', 'otp']);

    // Typed in lower case with spaces, another code still works; the used one never again.
    const loser = winner === one ? two : one;
    const again = await submitSecondFactor(loser.browser, refused, 'recovery', code, toRp);
    expect(again.status).toBe(401);
    const other = await submitSecondFactor(loser.browser, again, 'recovery', ` ${citizen.recoveryCodes[1].toLowerCase().replace('-', ' ')} `, toRp);
    await tokensAfter(loser.browser, loser.start, other);

    const overview = await citizen.browser.open(`${idp.issuer}/account/security`);
    expect(overview.html).toContain('data-recovery-left="8"');
    const audit = (await listAuditEvents(db(), citizen.oid)).filter((e) => e.type === 'security.recovery_code_used');
    expect(audit).toHaveLength(2);
    const notices = (await messagesTo(db(), citizen.login.replace('+', ''))).filter((m) => m.payload.event === 'recovery_code_used');
    expect(notices).toHaveLength(2);
  });

  it('sends an SMS code as the second factor, with tries and a pause before another one', async () => {
    const citizen = await idp.makeCitizen();
    const phone = citizen.login.replace('+', '');
    const browser = await signedIn(citizen);
    const overview = await browser.open(`${idp.issuer}/account/security`);
    const wrongPassword = await browser.submit(`${idp.issuer}/account/security/sms`, { _csrf: csrfToken(overview), password: 'not-my-password' });
    expect(wrongPassword.status).toBe(400);
    expect(fieldError(wrongPassword, 'sms_password')).toBe('Неверный пароль');
    const enabled = await browser.submit(`${idp.issuer}/account/security/sms`, { _csrf: csrfToken(overview), password: citizen.password });
    expect(recoveryCodesOn(enabled)).toHaveLength(10);

    const { browser: login, start, page } = await afterPassword(citizen);
    expect(page.html).toContain('Получить код по SMS на +7');
    expect(page.html).not.toContain('id="totp-form"');
    const sent = await login.submit(formAction(page, '/second-factor/sms'), {});
    expect(sent.status).toBe(200);
    expect(sent.html).toContain('Код отправлен на +7');
    const message = (await messagesTo(db(), phone)).at(-1)!;
    expect(message).toMatchObject({ channel: 'sms', template: 'login_code' });
    const code = await lastCodeSentTo(db(), phone);

    const tooSoon = await login.submit(formAction(sent, '/second-factor/sms'), {});
    expect(tooSoon.status).toBe(429);
    // The test clock stands still: the whole minute of codes.service's pause is left.
    expect(tooSoon.headers.get('retry-after')).toBe('60');
    expect(fieldError(tooSoon, 'sms')).toBe('Новый код можно будет запросить через 1 мин.');

    const wrong = await submitSecondFactor(login, sent, 'sms', code === '000000' ? '111111' : '000000', toRp);
    expect(fieldError(wrong, 'sms')).toBe('Неверный код. Осталось попыток: 2');
    const done = await submitSecondFactor(login, wrong, 'sms', code, toRp);
    const idToken = (await tokensAfter(login, start, done)).claims()!;
    expect(idToken.amr).toEqual(['pwd', 'sms']);
    expect(idToken['urn:esia:amd']).toBe('PWD,SMS');
  });

  it('sends the citizen back to the password after five wrong codes', async () => {
    const citizen = await citizenWithApp();
    let { browser, page } = await afterPassword(citizen);
    for (let i = 1; i <= 5; i++) page = await submitSecondFactor(browser, page, 'totp', await totpCode(citizen.secret, clock, 10 + i), toRp);
    expect(page.status).toBe(401);
    expect(formError(page)).toBe('Слишком много неверных кодов. Введите логин и пароль ещё раз.');
    expect(page.html).toContain('name="password"');
    // The pending login is gone: the second-factor page now leads back to the password.
    const direct = await browser.open(page.url.replace(/\/(login|second-factor)$/, '') + '/second-factor');
    expect(direct.html).toContain('name="password"');
  });

  it('turns the second factor off only with the current password, notifies and audits', async () => {
    const citizen = await citizenWithApp();
    const overview = await citizen.browser.open(`${idp.issuer}/account/security`);
    const wrong = await citizen.browser.submit(`${idp.issuer}/account/security/disable`, { _csrf: csrfToken(overview), password: 'Wrong-Password-1' });
    expect(wrong.status).toBe(400);
    expect(fieldError(wrong, 'disable_password')).toBe('Неверный пароль');
    expect(wrong.html).toContain('data-second-factor="on"');

    const off = await citizen.browser.submit(`${idp.issuer}/account/security/disable`, { _csrf: csrfToken(overview), password: citizen.password });
    expect(off.url).toContain('done=disabled');
    expect(off.html).toContain('Вход с подтверждением отключён.');
    expect(off.html).toContain('data-second-factor="off"');
    expect(await db().selectFrom('recovery_codes').where('citizen_oid', '=', citizen.oid).select('id').execute()).toEqual([]);
    expect((await listAuditEvents(db(), citizen.oid)).map((e) => [e.type, e.details])).toContainEqual(['security.second_factor_disabled', { methods: ['totp'] }]);
    expect((await messagesTo(db(), citizen.login.replace('+', ''))).at(-1)).toMatchObject({ template: 'security_notice', payload: { event: 'second_factor_disabled' } });

    // The password alone signs in again.
    const { browser, start, page } = await afterPassword(citizen);
    expect((await tokensAfter(browser, start, page)).claims()!.amr).toEqual(['pwd']);
  });

  it('makes new recovery codes only with the current password; the old ones stop working', async () => {
    const citizen = await citizenWithApp();
    const overview = await citizen.browser.open(`${idp.issuer}/account/security`);
    const refused = await citizen.browser.submit(`${idp.issuer}/account/security/recovery-codes`, { _csrf: csrfToken(overview), password: '' });
    expect(fieldError(refused, 'recovery_password')).toBe('Неверный пароль');
    const fresh = await citizen.browser.submit(`${idp.issuer}/account/security/recovery-codes`, { _csrf: csrfToken(overview), password: citizen.password });
    const codes = recoveryCodesOn(fresh);
    expect(codes).toHaveLength(10);
    expect(codes).not.toContain(citizen.recoveryCodes[0]);
    expect((await listAuditEvents(db(), citizen.oid)).map((e) => e.type)).toContain('security.recovery_codes_regenerated');

    const { browser, start, page } = await afterPassword(citizen);
    const old = await submitSecondFactor(browser, page, 'recovery', citizen.recoveryCodes[0], toRp);
    expect(fieldError(old, 'recovery')).toBe('Неверный код');
    await tokensAfter(browser, start, await submitSecondFactor(browser, old, 'recovery', codes[0], toRp));
  });

  it('refuses account security forms without the CSRF token, and the pages to strangers', async () => {
    const citizen = await citizenWithApp();
    const forged = await citizen.browser.submit(`${idp.issuer}/account/security/disable`, { password: citizen.password });
    expect(forged.status).toBe(403);
    const stranger = await new BrowserSession().open(`${idp.issuer}/account/security`);
    expect(stranger.html).toContain('name="password"');
    expect(stranger.url).toContain('/interaction/');
  });
});
