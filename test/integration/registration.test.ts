import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock, type TestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { lastCodeSentTo, lastMessageTo, messagesTo } from '../support/outbox.ts';
import { discoverClient, exchangeCode, openAuthorization, startAuthorization, submitConsent } from '../support/oidc.ts';
import { PASSWORD_MESSAGES_EN, PASSWORD_MESSAGES_RU } from '../../src/citizens/password-policy.ts';

const GOOD_PASSWORD = 'Zk7#mq2!Lp';

describe('self-registration', () => {
  let idp: TestIdp;
  let clock: TestClock;
  let phoneCounter = 0;

  beforeAll(async () => {
    clock = createTestClock();
    // Every browser here shares 127.0.0.1: raise the per-IP budgets (test/integration/ip-limits.test.ts tests them).
    idp = await startTestIdp({ clock, env: { IP_RATE_LIMIT_MULTIPLIER: '100' } });
  });
  afterAll(() => idp?.close());

  const db = () => idp.runtime.database.db;

  /** A phone nobody in this file has used yet: stored form and the way a person types it. */
  function freshPhone(): { stored: string; typed: string } {
    const n = String(++phoneCounter).padStart(4, '0');
    const stored = `7999555${n}`;
    return { stored, typed: `+7 (999) 555-${n.slice(0, 2)}-${n.slice(2)}` };
  }

  async function openForm(browser: BrowserSession, path = '/registration'): Promise<Page> {
    const page = await browser.open(`${idp.issuer}${path}`);
    expect(page.status).toBe(200);
    return page;
  }

  async function submitForm(browser: BrowserSession, form: Page, fields: Record<string, string>, stopAt?: (url: string) => boolean): Promise<Page> {
    const action = formAction(form, form.url.includes('/interaction/') ? '/register' : '/registration');
    return browser.submit(action, {
      _csrf: csrfToken(form), lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', password: GOOD_PASSWORD, passwordRepeat: GOOD_PASSWORD, ...fields,
    }, stopAt);
  }

  async function startRegistration(browser: BrowserSession, contact: string, fields: Record<string, string> = {}): Promise<Page> {
    const codePage = await submitForm(browser, await openForm(browser), { contact, ...fields });
    expect(codePage.status).toBe(200);
    expect(codePage.url).toMatch(/\/registration\/[0-9a-f-]{36}$/);
    return codePage;
  }

  async function submitCode(browser: BrowserSession, codePage: Page, code: string, stopAt?: (url: string) => boolean): Promise<Page> {
    return browser.submit(formAction(codePage, '/confirm'), { _csrf: csrfToken(codePage), code }, stopAt);
  }

  async function resend(browser: BrowserSession, codePage: Page): Promise<Page> {
    return browser.submit(formAction(codePage, '/resend'), { _csrf: csrfToken(codePage) });
  }

  const citizensWith = (column: 'phone' | 'email', value: string) => db().selectFrom('citizens').selectAll().where(column, '=', value).execute();
  const fieldErrors = (page: Page, field: string) => [...page.html.matchAll(new RegExp(`<span class="field-error" data-field="${field}">([^<]*)</span>`, 'g'))].map((m) => m[1]);
  const flowIdOf = (page: Page) => new URL(page.url).pathname.split('/').at(-1)!;

  describe('the journey', () => {
    it('registers by phone: a code first, the simplified account only after it, then sign-in works', async () => {
      const phone = freshPhone();
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, phone.typed);

      expect(codePage.html).toContain('Мы отправили SMS с кодом на номер +7 999 555');
      expect(await citizensWith('phone', phone.stored)).toHaveLength(0);
      const flow = await db().selectFrom('registration_flows').selectAll().where('id', '=', flowIdOf(codePage)).executeTakeFirstOrThrow();
      expect(flow).toMatchObject({ state: 'awaiting_code', contact_kind: 'phone', contact_value: phone.stored, citizen_oid: null, interaction_uid: null });
      expect(flow.password_hash).toMatch(/^\$argon2id\$/);
      expect(JSON.stringify(flow)).not.toContain(GOOD_PASSWORD);
      const message = await lastMessageTo(db(), phone.stored);
      expect(message).toMatchObject({ channel: 'sms', template: 'registration_code' });
      expect(message.payload.code).toMatch(/^\d{6}$/);
      // The re-send button waits the 60 s out.
      expect(codePage.html).toMatch(/id="resend-wait" data-seconds="60"/);
      expect(codePage.html).toMatch(/<button class="link" type="submit" disabled>Отправить код повторно<\/button>/);

      const done = await submitCode(browser, codePage, String(message.payload.code));
      expect(done.status).toBe(200);
      expect(done.html).toContain('Учётная запись создана');
      expect(done.html).toContain('href="/account"');

      const [citizen] = await citizensWith('phone', phone.stored);
      expect(citizen).toMatchObject({ last_name: 'Иванов', first_name: 'Иван', middle_name: 'Иванович', trust_level: 'simplified', email: null });
      const updated = await db().selectFrom('registration_flows').selectAll().where('id', '=', flow.id).executeTakeFirstOrThrow();
      expect(updated).toMatchObject({ state: 'completed', citizen_oid: citizen.oid, password_hash: '' });
      expect(citizen.password_hash).toBe(flow.password_hash);
      const audit = await db().selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).execute();
      expect(audit.map((e) => e.type)).toEqual(['citizen.registered']);

      const overview = await signInToAccount(new BrowserSession(), idp.issuer, { login: '8 999 555 ' + phone.stored.slice(7), password: GOOD_PASSWORD });
      expect(overview.html).toContain(citizen.oid);
      expect(overview.html).toContain('data-trust-level="simplified"');
    });

    it('registers by e-mail, lower-cased, with names trimmed and no middle name', async () => {
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, '  Anna.Salt@Example.RU ', { lastName: '  Салтыкова-Щедрина  ', firstName: 'Анна  Мария', middleName: '' });
      expect(codePage.html).toContain('Мы отправили письмо с кодом на адрес anna.salt@example.ru.');
      const message = await lastMessageTo(db(), 'anna.salt@example.ru');
      expect(message).toMatchObject({ channel: 'email', template: 'registration_code' });

      const done = await submitCode(browser, codePage, await lastCodeSentTo(db(), 'anna.salt@example.ru'));
      expect(done.html).toContain('Учётная запись создана');
      const [citizen] = await citizensWith('email', 'anna.salt@example.ru');
      expect(citizen).toMatchObject({ last_name: 'Салтыкова-Щедрина', first_name: 'Анна Мария', middle_name: null, phone: null, trust_level: 'simplified' });
      await signInToAccount(new BrowserSession(), idp.issuer, { login: 'ANNA.SALT@example.ru', password: GOOD_PASSWORD });
    });

    it('registers inside an OIDC authorization and signs the new citizen in to the RP', async () => {
      const rp = await idp.makeClient();
      const config = await discoverClient(idp.issuer, rp);
      const start = await startAuthorization(config, rp.redirectUri);
      const browser = new BrowserSession();
      const login = await openAuthorization(browser, start);
      const registerLink = login.html.match(/href="(\/interaction\/[^"]+\/register)"/)?.[1];
      expect(registerLink).toBeDefined();

      const form = await openForm(browser, registerLink);
      expect(form.html).toContain('Тестовый сервис');
      const phone = freshPhone();
      const codePage = await submitForm(browser, form, { contact: phone.typed });
      expect(codePage.url).toMatch(new RegExp(`${registerLink}/[0-9a-f-]{36}$`));
      const isCallback = (url: string) => url.startsWith(rp.redirectUri);
      let page = await submitCode(browser, codePage, await lastCodeSentTo(db(), phone.stored), isCallback);
      if (!isCallback(page.url)) page = await submitConsent(browser, page, rp.redirectUri);
      expect(isCallback(page.url)).toBe(true);

      const tokens = await exchangeCode(config, start, new URL(page.url));
      const [citizen] = await citizensWith('phone', phone.stored);
      expect(tokens.claims()?.sub).toBe(citizen.oid);
      expect(tokens.claims()?.acr).toBe('simplified');
      const flow = await db().selectFrom('registration_flows').selectAll().where('citizen_oid', '=', citizen.oid).executeTakeFirstOrThrow();
      expect(flow.interaction_uid).toBe(registerLink!.split('/')[2]);
    });

    it('shows the pages in English with lang=en', async () => {
      const browser = new BrowserSession();
      const form = await openForm(browser, '/registration?lang=en');
      expect(form.html).toContain('<html lang="en">');
      const answer = await submitForm(browser, form, { contact: freshPhone().typed, password: 'abc', passwordRepeat: 'abc' });
      expect(fieldErrors(answer, 'password')).toContain(PASSWORD_MESSAGES_EN['password.too_short']);
      expect(answer.html).toContain('Create an account');
    });
  });

  describe('codes', () => {
    it('counts wrong codes down, then burns the code', async () => {
      const phone = freshPhone();
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, phone.typed);
      const right = await lastCodeSentTo(db(), phone.stored);
      const wrong = right === '000000' ? '111111' : '000000';

      const first = await submitCode(browser, codePage, wrong);
      expect(first.status).toBe(400);
      expect(fieldErrors(first, 'code')).toEqual(['Неверный код. Осталось попыток: 2']);
      expect(fieldErrors(await submitCode(browser, first, wrong), 'code')).toEqual(['Неверный код. Осталось попыток: 1']);
      const third = await submitCode(browser, first, wrong);
      expect(fieldErrors(third, 'code')).toEqual(['Код больше не действует, запросите новый']);
      const late = await submitCode(browser, third, right);
      expect(late.status).toBe(400);
      expect(fieldErrors(late, 'code')).toEqual(['Код больше не действует, запросите новый']);
      expect(await citizensWith('phone', phone.stored)).toHaveLength(0);
    });

    it('asks for the code when the field is empty, without spending a try', async () => {
      const phone = freshPhone();
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, phone.typed);
      const empty = await submitCode(browser, codePage, ' ');
      expect(fieldErrors(empty, 'code')).toEqual(['Введите код из сообщения']);
      const code = await db().selectFrom('one_time_codes').select('attempts_left').where('flow_id', '=', flowIdOf(codePage)).executeTakeFirstOrThrow();
      expect(code.attempts_left).toBe(3);
    });

    it('refuses an expired code, and a new one works', async () => {
      const phone = freshPhone();
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, phone.typed);
      const code = await lastCodeSentTo(db(), phone.stored);
      clock.advance(301);
      const expired = await submitCode(browser, codePage, code);
      expect(fieldErrors(expired, 'code')).toEqual(['Код истёк, запросите новый']);

      const resent = await resend(browser, expired);
      expect(resent.status).toBe(200);
      expect(resent.html).toContain('Мы отправили новый код.');
      const fresh = await lastCodeSentTo(db(), phone.stored);
      expect(await messagesTo(db(), phone.stored)).toHaveLength(2);
      expect((await submitCode(browser, resent, fresh)).html).toContain('Учётная запись создана');
    });

    it('refuses a re-send within 60 s and says how many seconds are left', async () => {
      const phone = freshPhone();
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, phone.typed);
      clock.advance(15);
      const early = await resend(browser, codePage);
      expect(early.status).toBe(429);
      expect(early.headers.get('retry-after')).toBe('45');
      expect(early.html).toContain('Отправить код повторно можно через 45 с.');
      expect(await messagesTo(db(), phone.stored)).toHaveLength(1);

      clock.advance(30);
      const reloaded = await browser.open(codePage.url);
      expect(reloaded.html).toContain('Отправить код повторно можно через 15 с.');
      clock.advance(15);
      const ready = await browser.open(codePage.url);
      expect(ready.html).not.toContain('id="resend-wait"');
      expect(ready.html).toMatch(/<button class="link" type="submit">Отправить код повторно<\/button>/);
    });

    it('refuses the sixth code to one contact within an hour with 429, Retry-After and when to come back', async () => {
      const phone = freshPhone();
      const browser = new BrowserSession();
      let page = await startRegistration(browser, phone.typed);
      for (let send = 2; send <= 5; send++) {
        clock.advance(61);
        page = await resend(browser, page);
        expect(page.status).toBe(200);
      }
      clock.advance(61);
      const refused = await resend(browser, page);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBe(3600 - 5 * 61);
      expect(refused.html).toMatch(/Слишком много запросов кода на этот контакт\. Новый код можно будет запросить через 55 мин\. \(после \d\d:\d\d МСК\)\./);
      expect(await messagesTo(db(), phone.stored)).toHaveLength(5);

      // A fresh registration for the same contact is refused the same way, keeping what was typed.
      const other = new BrowserSession();
      const again = await submitForm(other, await openForm(other), { contact: phone.typed });
      expect(again.status).toBe(429);
      expect(again.headers.get('retry-after')).toBe(String(retryAfter));
      expect(again.html).toContain('Слишком много запросов кода на этот контакт');
      expect(again.html).toContain(`value="${phone.typed}"`);
      expect(await messagesTo(db(), phone.stored)).toHaveLength(5);
    });
  });

  describe('form checks', () => {
    it('shows every rule a weak password breaks, beside the field, and never echoes passwords', async () => {
      const browser = new BrowserSession();
      const answer = await submitForm(browser, await openForm(browser), { contact: freshPhone().typed, password: 'abc', passwordRepeat: 'abd' });
      expect(answer.status).toBe(400);
      expect(fieldErrors(answer, 'password')).toEqual([
        PASSWORD_MESSAGES_RU['password.too_short'], PASSWORD_MESSAGES_RU['password.needs_upper'],
        PASSWORD_MESSAGES_RU['password.needs_digit'], PASSWORD_MESSAGES_RU['password.needs_special'],
      ]);
      expect(fieldErrors(answer, 'passwordRepeat')).toEqual(['Пароли не совпадают']);
      expect(answer.html).not.toContain('value="abc"');
      expect(answer.html).toContain('value="Иванов"');
    });

    it('refuses a common password and one containing the phone, the e-mail or the last name', async () => {
      const browser = new BrowserSession();
      const form = await openForm(browser);
      const phone = freshPhone();
      const cases: Array<[Record<string, string>, string]> = [
        [{ contact: phone.typed, password: 'Password1!' }, PASSWORD_MESSAGES_RU['password.common']],
        [{ contact: phone.typed, password: `Aa!${phone.stored.slice(1)}` }, PASSWORD_MESSAGES_RU['password.contains_phone']],
        [{ contact: 'kuznetsova@example.ru', password: 'Kuznetsova-7!' }, PASSWORD_MESSAGES_RU['password.contains_email']],
        [{ contact: phone.typed, lastName: 'Смирнов', password: 'Smirnov-2024!' }, PASSWORD_MESSAGES_RU['password.contains_last_name']],
      ];
      for (const [fields, expected] of cases) {
        const answer = await submitForm(browser, form, { ...fields, passwordRepeat: fields.password });
        expect(answer.status).toBe(400);
        expect(fieldErrors(answer, 'password')).toEqual([expected]);
      }
      expect(await messagesTo(db(), phone.stored)).toHaveLength(0);
    });

    it('names each bad or missing name and contact beside its field, keeping what was typed', async () => {
      const browser = new BrowserSession();
      const form = await openForm(browser);
      const answer = await submitForm(browser, form, { lastName: 'Ivanov', firstName: '  ', middleName: 'Иван0вич', contact: '+7 999 123' });
      expect(answer.status).toBe(400);
      expect(fieldErrors(answer, 'lastName')).toEqual(['Фамилия может содержать только русские буквы, дефис, апостроф и пробел']);
      expect(fieldErrors(answer, 'firstName')).toEqual(['Введите имя']);
      expect(fieldErrors(answer, 'middleName')).toEqual(['Отчество может содержать только русские буквы, дефис, апостроф и пробел']);
      expect(fieldErrors(answer, 'contact')).toEqual(['Введите номер мобильного телефона, например +7 999 123-45-67']);
      expect(answer.html).toContain('value="Ivanov"');
      expect(answer.html).toContain('value="+7 999 123"');

      const contacts: Array<[string, string]> = [
        ['', 'Введите номер мобильного телефона или адрес электронной почты'],
        ['ivan@', 'Введите адрес электронной почты, например name@example.ru'],
        ['ivan @example.ru', 'Введите адрес электронной почты, например name@example.ru'],
        ['+7 495 123-45-67', 'Введите номер мобильного телефона, например +7 999 123-45-67'],
        ['+8 999 123-45-67', 'Введите номер мобильного телефона, например +7 999 123-45-67'],
      ];
      for (const [contact, message] of contacts) {
        expect(fieldErrors(await submitForm(browser, form, { contact }), 'contact')).toEqual([message]);
      }
      const names = ['Анна--Мария', "О'", 'Анна  -Мария', 'Anna'];
      for (const firstName of names) {
        expect(fieldErrors(await submitForm(browser, form, { contact: freshPhone().typed, firstName }), 'firstName')).toHaveLength(1);
      }
      expect(await db().selectFrom('registration_flows').select('id').where('first_name', 'in', names).execute()).toHaveLength(0);
    });

    it('escapes what it echoes back', async () => {
      const browser = new BrowserSession();
      const answer = await submitForm(browser, await openForm(browser), { lastName: '"><script>alert(1)</script>', contact: '<b>x' });
      expect(answer.html).not.toContain('<script>alert(1)</script>');
      expect(answer.html).toContain('&quot;&gt;&lt;script&gt;');
    });

    it('refuses a POST without the CSRF token', async () => {
      const browser = new BrowserSession();
      await openForm(browser);
      const phone = freshPhone();
      const answer = await browser.submit(`${idp.issuer}/registration`, { lastName: 'Иванов', firstName: 'Иван', contact: phone.typed, password: GOOD_PASSWORD, passwordRepeat: GOOD_PASSWORD });
      expect(answer.status).toBe(403);
      expect(await db().selectFrom('registration_flows').select('id').where('contact_value', '=', phone.stored).execute()).toHaveLength(0);

      const codePage = await startRegistration(browser, freshPhone().typed);
      const confirm = await browser.submit(formAction(codePage, '/confirm'), { code: '123456' });
      expect(confirm.status).toBe(403);
    });
  });

  describe('contacts that already have an account', () => {
    it('sends the code as for anyone, and says the number is taken only once the code proves the contact', async () => {
      const existing = freshPhone();
      await idp.makeCitizen({ phone: existing.stored });
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, existing.typed);
      expect(codePage.html).toContain('Мы отправили SMS с кодом на номер');
      expect(codePage.html).not.toMatch(/зарегистрирован/);

      const answer = await submitCode(browser, codePage, await lastCodeSentTo(db(), existing.stored));
      expect(answer.status).toBe(409);
      expect(answer.html).toContain('Этот номер уже зарегистрирован — войдите или восстановите пароль.');
      expect(answer.html).toContain('href="/recovery"');
      expect(await citizensWith('phone', existing.stored)).toHaveLength(1);
      const flow = await db().selectFrom('registration_flows').select('state').where('id', '=', flowIdOf(codePage)).executeTakeFirstOrThrow();
      expect(flow.state).toBe('failed');
    });

    it('lets exactly one of two registrations racing for one phone win', async () => {
      const phone = freshPhone();
      const [first, second] = [new BrowserSession(), new BrowserSession()];
      const firstPage = await startRegistration(first, phone.typed, { firstName: 'Первый' });
      const secondPage = await startRegistration(second, phone.typed, { firstName: 'Второй' });
      const [firstCode, secondCode] = (await messagesTo(db(), phone.stored)).map((m) => String(m.payload.code));

      const answers = await Promise.all([submitCode(first, firstPage, firstCode), submitCode(second, secondPage, secondCode)]);
      const won = answers.filter((a) => a.html.includes('Учётная запись создана'));
      const lost = answers.filter((a) => a.html.includes('Этот номер уже зарегистрирован'));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0].status).toBe(409);
      expect(await citizensWith('phone', phone.stored)).toHaveLength(1);
      const states = await db().selectFrom('registration_flows').select('state').where('contact_value', '=', phone.stored).orderBy('state').execute();
      expect(states.map((s) => s.state)).toEqual(['completed', 'failed']);
    });
  });

  describe('flow binding', () => {
    it('opens a flow only in the browser that started it', async () => {
      const phone = freshPhone();
      const owner = new BrowserSession();
      const codePage = await startRegistration(owner, phone.typed);
      const code = await lastCodeSentTo(db(), phone.stored);

      const stranger = new BrowserSession();
      const peek = await stranger.open(codePage.url);
      expect(peek.status).toBe(404);
      expect(peek.html).toContain('Регистрация не найдена');
      expect(peek.html).not.toContain('555');
      const strangerForm = await openForm(stranger);
      const attempt = await stranger.submit(formAction(codePage, '/confirm'), { _csrf: csrfToken(strangerForm), code });
      expect(attempt.status).toBe(404);
      expect(await citizensWith('phone', phone.stored)).toHaveLength(0);

      // The stranger spent nothing: the owner's code still works.
      expect((await submitCode(owner, codePage, code)).html).toContain('Учётная запись создана');
    });

    it('refuses a forged flow cookie and a malformed flow id', async () => {
      const owner = new BrowserSession();
      const codePage = await startRegistration(owner, freshPhone().typed);
      const forged = await fetch(codePage.url, { headers: { accept: 'text/html', cookie: `registration_flow=${flowIdOf(codePage)}` } });
      expect(forged.status).toBe(404);
      expect((await owner.open(`${idp.issuer}/registration/not-a-uuid`)).status).toBe(404);
    });

    it('keeps a standalone flow out of the interaction entry and the other way round', async () => {
      const browser = new BrowserSession();
      const codePage = await startRegistration(browser, freshPhone().typed);
      const rp = await idp.makeClient();
      const login = await openAuthorization(browser, await startAuthorization(await discoverClient(idp.issuer, rp), rp.redirectUri));
      const registerLink = login.html.match(/href="(\/interaction\/[^"]+\/register)"/)![1];
      const crossed = await browser.open(`${idp.issuer}${registerLink}/${flowIdOf(codePage)}`);
      expect(crossed.status).toBe(404);
      expect(crossed.html).toContain('Регистрация не найдена');

      const inInteraction = await submitForm(browser, await openForm(browser, registerLink), { contact: freshPhone().typed });
      expect(inInteraction.url).toContain(registerLink);
      const back = await browser.open(`${idp.issuer}/registration/${flowIdOf(inInteraction)}`);
      expect(back.status).toBe(404);
    });

    it('refuses CSRF-less POSTs inside an interaction too', async () => {
      const rp = await idp.makeClient();
      const browser = new BrowserSession();
      const login = await openAuthorization(browser, await startAuthorization(await discoverClient(idp.issuer, rp), rp.redirectUri));
      const registerLink = login.html.match(/href="(\/interaction\/[^"]+\/register)"/)![1];
      await openForm(browser, registerLink);
      const answer = await browser.submit(`${idp.issuer}${registerLink}`, { lastName: 'Иванов', firstName: 'Иван', contact: freshPhone().typed, password: GOOD_PASSWORD, passwordRepeat: GOOD_PASSWORD });
      expect(answer.status).toBe(403);
    });
  });
});
