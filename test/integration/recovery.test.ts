import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock, type TestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { lastCodeSentTo, lastMessageTo, messagesTo } from '../support/outbox.ts';
import { discoverClient, openAuthorization, startAuthorization, submitLogin } from '../support/oidc.ts';
import { createCodeHasher } from '../../src/codes/codes.service.ts';
import { PASSWORD_MESSAGES_RU } from '../../src/citizens/password-policy.ts';

const NEW_PASSWORD = 'Nw5#vb8!Qr';

describe('password recovery and forgotten login', () => {
  let idp: TestIdp;
  let clock: TestClock;
  let counter = 0;

  beforeAll(async () => {
    clock = createTestClock();
    // Every browser here shares 127.0.0.1: raise the per-IP budgets (test/integration/ip-limits.test.ts tests them).
    idp = await startTestIdp({ clock, env: { IP_RATE_LIMIT_MULTIPLIER: '100' } });
  });
  afterAll(() => idp?.close());

  const db = () => idp.runtime.database.db;

  /** A phone no one in this file has used: stored, typed by a person, and shown on our pages. */
  function freshPhone(): { stored: string; typed: string; shown: string } {
    const n = String(++counter).padStart(4, '0');
    return { stored: `7999666${n}`, typed: `8 999 666 ${n.slice(0, 2)} ${n.slice(2)}`, shown: `+7 999 666-${n.slice(0, 2)}-${n.slice(2)}` };
  }

  function freshEmail(): string {
    return `recovery${++counter}@example.ru`;
  }

  async function requestCode(browser: BrowserSession, contact: string, path = '/recovery'): Promise<Page> {
    const form = await browser.open(`${idp.issuer}${path}`);
    return browser.submit(formAction(form, path.startsWith('/recovery/login') ? '/recovery/login' : '/recovery'), { _csrf: csrfToken(form), contact });
  }

  async function submitCode(browser: BrowserSession, codePage: Page, code: string): Promise<Page> {
    return browser.submit(formAction(codePage, '/confirm'), { _csrf: csrfToken(codePage), code });
  }

  async function submitPassword(browser: BrowserSession, page: Page, password: string, repeat = password): Promise<Page> {
    return browser.submit(formAction(page, '/password'), { _csrf: csrfToken(page), password, passwordRepeat: repeat });
  }

  async function resend(browser: BrowserSession, codePage: Page): Promise<Page> {
    return browser.submit(formAction(codePage, '/resend'), { _csrf: csrfToken(codePage) });
  }

  /** What a page would look like with the request-specific parts (flow id, CSRF token, the contact itself) taken out. */
  function neutral(page: Page, contactShown: string): string {
    return page.html.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'FLOW').replace(/name="_csrf" value="[^"]+"/g, 'CSRF').replaceAll(contactShown, 'CONTACT');
  }

  const flowIdOf = (page: Page) => new URL(page.url).pathname.split('/')[2];
  const fieldErrors = (page: Page, field: string) => [...page.html.matchAll(new RegExp(`<span class="field-error" data-field="${field}">([^<]*)</span>`, 'g'))].map((m) => m[1]);
  const flowRow = (id: string) => db().selectFrom('recovery_flows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** Plants a code we know on the flow's current code row (test-only: real codes are random and only their HMAC is stored). */
  async function plantKnownCode(flowId: string, code: string): Promise<void> {
    const hash = createCodeHasher(idp.runtime.secrets.codeHashKey)(code);
    await db().updateTable('one_time_codes').set({ code_hash: hash }).where('flow_id', '=', flowId).where('consumed_at', 'is', null).execute();
  }

  describe('not revealing accounts', () => {
    it('answers an existing and an unknown contact with the same status and page, and sends a code only to the account', async () => {
      const known = freshPhone();
      const unknown = freshPhone();
      await idp.makeCitizen({ phone: known.stored });
      const [a, b] = [new BrowserSession(), new BrowserSession()];
      const forKnown = await requestCode(a, known.typed);
      const forUnknown = await requestCode(b, unknown.typed);

      expect(forKnown.status).toBe(200);
      expect(forUnknown.status).toBe(forKnown.status);
      expect(forKnown.html).toContain(`Если учётная запись с этим контактом существует, мы отправили код на ${known.shown}.`);
      expect(neutral(forUnknown, unknown.shown)).toBe(neutral(forKnown, known.shown));
      expect(await lastMessageTo(db(), known.stored)).toMatchObject({ channel: 'sms', template: 'recovery_code' });
      expect(await messagesTo(db(), unknown.stored)).toHaveLength(0);
      expect(await flowRow(flowIdOf(forUnknown))).toMatchObject({ state: 'awaiting_code', citizen_oid: null });
    });

    it('refuses wrong codes alike, with tries left, whether or not the account exists', async () => {
      const email = freshEmail();
      await idp.makeCitizen({ email });
      const unknownEmail = freshEmail();
      const [a, b] = [new BrowserSession(), new BrowserSession()];
      let known = await requestCode(a, email);
      let unknown = await requestCode(b, unknownEmail);
      const wrong = (await lastCodeSentTo(db(), email)) === '000000' ? '111111' : '000000';
      for (const expected of ['Неверный код. Осталось попыток: 2', 'Неверный код. Осталось попыток: 1', 'Код больше не действует, запросите новый']) {
        known = await submitCode(a, known, wrong);
        unknown = await submitCode(b, unknown, wrong);
        expect(known.status).toBe(400);
        expect(unknown.status).toBe(400);
        expect(fieldErrors(known, 'code')).toEqual([expected]);
        expect(neutral(unknown, unknownEmail)).toBe(neutral(known, email));
      }
    });

    it('never lets a flow without an account reach the new-password step, even with the "right" code', async () => {
      const browser = new BrowserSession();
      const codePage = await requestCode(browser, freshPhone().typed);
      const flowId = flowIdOf(codePage);
      await plantKnownCode(flowId, '123456');
      const answer = await submitCode(browser, codePage, '123456');
      expect(answer.status).toBe(400);
      expect(fieldErrors(answer, 'code')).toEqual(['Неверный код. Осталось попыток: 2']);
      expect((await flowRow(flowId)).state).toBe('awaiting_code');

      const sneak = await browser.submit(`${idp.issuer}/recovery/${flowId}/password`, { _csrf: csrfToken(codePage), password: NEW_PASSWORD, passwordRepeat: NEW_PASSWORD });
      expect(sneak.html).not.toContain('Пароль изменён');
      expect((await flowRow(flowId)).state).toBe('awaiting_code');
    });

    it('applies the same code limits to unknown contacts, so the hourly cap tells nothing', async () => {
      const known = freshPhone();
      await idp.makeCitizen({ phone: known.stored });
      const unknown = freshPhone();
      const sixth = async (contact: string) => {
        for (let i = 0; i < 5; i++) expect((await requestCode(new BrowserSession(), contact)).status).toBe(200);
        return requestCode(new BrowserSession(), contact);
      };
      const [forKnown, forUnknown] = [await sixth(known.typed), await sixth(unknown.typed)];
      expect(forKnown.status).toBe(429);
      expect(forUnknown.status).toBe(429);
      expect(forKnown.headers.get('retry-after')).toBe('3600');
      expect(forUnknown.headers.get('retry-after')).toBe('3600');
      expect(forKnown.html).toContain('Слишком много запросов кода на этот контакт');
      expect(neutral(forUnknown, unknown.typed)).toBe(neutral(forKnown, known.typed));
      expect(await messagesTo(db(), known.stored)).toHaveLength(5);
      expect(await messagesTo(db(), unknown.stored)).toHaveLength(0);
    });

    it('re-sends alike: refused within 60 s, then a new code (sent only to a real account)', async () => {
      const known = freshPhone();
      await idp.makeCitizen({ phone: known.stored });
      const [a, b] = [new BrowserSession(), new BrowserSession()];
      const forKnown = await requestCode(a, known.typed);
      const forUnknown = await requestCode(b, freshPhone().typed);
      const early = [await resend(a, forKnown), await resend(b, forUnknown)];
      expect(early.map((p) => [p.status, p.headers.get('retry-after')])).toEqual([[429, '60'], [429, '60']]);
      expect(early[0].html).toContain('Отправить код повторно можно через 60 с.');
      clock.advance(61);
      const later = [await resend(a, forKnown), await resend(b, forUnknown)];
      expect(later.map((p) => p.status)).toEqual([200, 200]);
      expect(later[1].html).toContain('Мы отправили новый код.');
      expect((await messagesTo(db(), known.stored)).map((m) => m.template)).toEqual(['recovery_code', 'recovery_code']);
    });
  });

  describe('resetting the password', () => {
    it('takes a code, then a new password: the old one stops working, the new one works', async () => {
      const phone = freshPhone();
      const citizen = await idp.makeCitizen({ phone: phone.stored });
      const browser = new BrowserSession();
      const codePage = await requestCode(browser, phone.typed);
      const passwordPage = await submitCode(browser, codePage, await lastCodeSentTo(db(), phone.stored));
      expect(passwordPage.status).toBe(200);
      expect(passwordPage.html).toContain('Новый пароль');
      expect((await flowRow(flowIdOf(codePage))).state).toBe('code_verified');

      const done = await submitPassword(browser, passwordPage, NEW_PASSWORD);
      expect(done.html).toContain('Пароль изменён');
      expect((await flowRow(flowIdOf(codePage))).state).toBe('completed');
      expect(await lastMessageTo(db(), phone.stored)).toMatchObject({ channel: 'sms', template: 'security_notice', payload: { event: 'password_reset' } });
      const audit = await db().selectFrom('audit_events').select('type').where('citizen_oid', '=', citizen.oid).execute();
      expect(audit.map((e) => e.type)).toEqual(['citizen.password_reset']);

      const oldLogin = await browser.open(`${idp.issuer}/account`);
      const refused = await browser.submit(formAction(oldLogin, '/login'), { login: citizen.login, password: citizen.password });
      expect(refused.status).toBe(401);
      await signInToAccount(new BrowserSession(), idp.issuer, { login: citizen.login, password: NEW_PASSWORD });

      // The finished flow cannot set a password again.
      const again = await submitPassword(browser, passwordPage, 'Other-Pass-9!');
      expect(again.html).toContain('Пароль изменён');
      await signInToAccount(new BrowserSession(), idp.issuer, { login: citizen.login, password: NEW_PASSWORD });
    });

    it('holds the new password to the rule, beside the field', async () => {
      const email = freshEmail();
      const citizen = await idp.makeCitizen({ email, lastName: 'Кузнецов' });
      const browser = new BrowserSession();
      const passwordPage = await submitCode(browser, await requestCode(browser, email), await lastCodeSentTo(db(), email));

      const weak = await submitPassword(browser, passwordPage, 'abc', 'abd');
      expect(weak.status).toBe(400);
      expect(fieldErrors(weak, 'password')).toEqual([
        PASSWORD_MESSAGES_RU['password.too_short'], PASSWORD_MESSAGES_RU['password.needs_upper'],
        PASSWORD_MESSAGES_RU['password.needs_digit'], PASSWORD_MESSAGES_RU['password.needs_special'],
      ]);
      expect(fieldErrors(weak, 'passwordRepeat')).toEqual(['Пароли не совпадают']);
      expect(fieldErrors(await submitPassword(browser, passwordPage, 'Kuznetsov#2024'), 'password')).toEqual([PASSWORD_MESSAGES_RU['password.contains_last_name']]);
      expect(fieldErrors(await submitPassword(browser, passwordPage, `${email.split('@')[0]}A!`), 'password')).toEqual([PASSWORD_MESSAGES_RU['password.contains_email']]);
      expect(fieldErrors(await submitPassword(browser, passwordPage, 'Password1!'), 'password')).toEqual([PASSWORD_MESSAGES_RU['password.common']]);
      // Nothing changed: the old password still works.
      await signInToAccount(new BrowserSession(), idp.issuer, citizen);
    });

    it('refuses an expired code', async () => {
      const phone = freshPhone();
      await idp.makeCitizen({ phone: phone.stored });
      const browser = new BrowserSession();
      const codePage = await requestCode(browser, phone.typed);
      clock.advance(301);
      const answer = await submitCode(browser, codePage, await lastCodeSentTo(db(), phone.stored));
      expect(fieldErrors(answer, 'code')).toEqual(['Код истёк, запросите новый']);
    });

    it('ends the citizen\'s sessions on other devices', async () => {
      const phone = freshPhone();
      const citizen = await idp.makeCitizen({ phone: phone.stored });
      const elsewhere = new BrowserSession();
      await signInToAccount(elsewhere, idp.issuer, citizen);
      expect((await elsewhere.open(`${idp.issuer}/account`)).html).toContain(citizen.oid);

      const browser = new BrowserSession();
      const passwordPage = await submitCode(browser, await requestCode(browser, phone.typed), await lastCodeSentTo(db(), phone.stored));
      await submitPassword(browser, passwordPage, NEW_PASSWORD);

      const after = await elsewhere.open(`${idp.issuer}/account`);
      expect(after.url).toContain('/interaction/');
      expect(after.html).not.toContain(citizen.oid);
    });

    it('offers the way back to the login page it came from, and that login works with the new password', async () => {
      const phone = freshPhone();
      const citizen = await idp.makeCitizen({ phone: phone.stored });
      const rp = await idp.makeClient();
      const start = await startAuthorization(await discoverClient(idp.issuer, rp), rp.redirectUri);
      const browser = new BrowserSession();
      const login = await openAuthorization(browser, start);
      const recoveryLink = login.html.match(/href="(\/recovery\?interaction=[^"]+)"/)![1];

      const codePage = await requestCode(browser, phone.typed, recoveryLink);
      expect(codePage.url).toMatch(/\/recovery\/[0-9a-f-]{36}\?interaction=/);
      const passwordPage = await submitCode(browser, codePage, await lastCodeSentTo(db(), phone.stored));
      const done = await submitPassword(browser, passwordPage, NEW_PASSWORD);
      const back = done.html.match(/href="(\/interaction\/[^"]+)">Вернуться ко входу</)?.[1];
      expect(back).toBe(new URL(login.url).pathname);

      const loginAgain = await browser.open(`${idp.issuer}${back}`);
      const answer = await submitLogin(browser, loginAgain, citizen.login, NEW_PASSWORD, rp.redirectUri);
      expect(answer.url.startsWith(rp.redirectUri) || answer.html.includes('/confirm"')).toBe(true);
    });
  });

  describe('flow binding and forms', () => {
    it('opens a flow only in the browser that started it', async () => {
      const phone = freshPhone();
      await idp.makeCitizen({ phone: phone.stored });
      const owner = new BrowserSession();
      const codePage = await requestCode(owner, phone.typed);
      const stranger = new BrowserSession();
      const strangerForm = await stranger.open(`${idp.issuer}/recovery`);
      const attempt = await stranger.submit(formAction(codePage, '/confirm'), { _csrf: csrfToken(strangerForm), code: await lastCodeSentTo(db(), phone.stored) });
      expect(attempt.status).toBe(404);
      expect(attempt.html).toContain('Восстановление не найдено');
      expect((await flowRow(flowIdOf(codePage))).state).toBe('awaiting_code');
    });

    it('checks the contact field and refuses a POST without the CSRF token', async () => {
      const browser = new BrowserSession();
      const bad = await requestCode(browser, 'ivan@');
      expect(bad.status).toBe(400);
      expect(fieldErrors(bad, 'contact')).toEqual(['Введите адрес электронной почты, например name@example.ru']);
      expect(bad.html).toContain('value="ivan@"');
      expect((await browser.submit(`${idp.issuer}/recovery`, { contact: freshPhone().typed })).status).toBe(403);
      expect((await browser.submit(`${idp.issuer}/recovery/login`, { contact: freshPhone().typed })).status).toBe(403);
    });
  });

  describe('forgotten login', () => {
    it('sends the masked logins to an existing account, and nothing otherwise, with one neutral page', async () => {
      const email = 'ivanova.m@example.ru';
      const citizen = await idp.makeCitizen({ email, phone: '79990001267' });
      await db().updateTable('citizens').set({ snils: '11223344595' }).where('oid', '=', citizen.oid).execute();
      const unknownEmail = freshEmail();

      const forKnown = await requestCode(new BrowserSession(), email, '/recovery/login');
      const forUnknown = await requestCode(new BrowserSession(), unknownEmail, '/recovery/login');
      expect(forKnown.status).toBe(200);
      expect(forUnknown.status).toBe(200);
      expect(forKnown.html).toContain('Если учётная запись с этим контактом существует, мы отправили на него данные для входа.');
      expect(forUnknown.html.replace(/name="_csrf" value="[^"]+"/g, '')).toBe(forKnown.html.replace(/name="_csrf" value="[^"]+"/g, ''));
      expect(forKnown.html).not.toMatch(/\*\*\*|СНИЛС|0001267/);

      const message = await lastMessageTo(db(), email);
      expect(message).toMatchObject({ channel: 'email', template: 'login_hint', payload: { logins: ['+7 999 ***-**-67', 'iv***@example.ru', 'СНИЛС'] } });
      expect(await messagesTo(db(), unknownEmail)).toHaveLength(0);
    });

    it('caps forgotten-login requests per contact alike for known and unknown contacts', async () => {
      const known = freshPhone();
      await idp.makeCitizen({ phone: known.stored });
      const unknown = freshPhone();
      for (const contact of [known, unknown]) {
        for (let i = 0; i < 5; i++) expect((await requestCode(new BrowserSession(), contact.typed, '/recovery/login')).status).toBe(200);
        const sixth = await requestCode(new BrowserSession(), contact.typed, '/recovery/login');
        expect(sixth.status).toBe(429);
        expect(sixth.headers.get('retry-after')).toBe('3600');
      }
      expect(await messagesTo(db(), known.stored)).toHaveLength(5);
      expect(await messagesTo(db(), unknown.stored)).toHaveLength(0);
    });
  });
});
