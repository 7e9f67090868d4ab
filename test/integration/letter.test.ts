import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createCodeHasher, type CodeHasher } from '../../src/codes/codes.service.ts';
import { confirmLetterCode, LETTER_CODE_POLICY, orderConfirmationLetter } from '../../src/verification/letter.service.ts';
import { shownDate } from '../../src/verification/verification-view.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { lastCodeSentTo, lastMessageTo, messagesTo } from '../support/outbox.ts';

const DAY = 24 * 3600;

describe('confirmation letter: standard → confirmed', () => {
  const clock = createTestClock(new Date('2026-12-01T09:00:00Z'));
  let idp: TestIdp;
  let db: Db;
  let hash: CodeHasher;

  beforeAll(async () => {
    // Sessions live by the test clock too: keep them longer than the month a letter lives.
    idp = await startTestIdp({ clock, env: { SESSION_TTL: String(90 * DAY), SESSION_IDLE_TTL: String(90 * DAY) } });
    db = idp.runtime.database.db;
    hash = createCodeHasher(idp.runtime.secrets.codeHashKey);
  });
  afterAll(() => idp?.close());

  let serial = 0;
  /** A standard citizen, signed in, with a registration address unless told otherwise. */
  async function standardCitizen(options: { address?: boolean } = {}) {
    const citizen = await idp.makeCitizen({ lastName: 'Почтовая', firstName: 'Вера', middleName: 'Львовна', trustLevel: 'standard' });
    const address = `101000, г. Москва, ул. Мясницкая, д. ${++serial}, кв. 7`;
    if (options.address !== false) {
      await db.insertInto('citizen_addresses').values({ citizen_oid: citizen.oid, type: 'PRG', address_str: address }).execute();
    }
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return { ...citizen, address, browser };
  }

  const level = async (oid: string) => (await db.selectFrom('citizens').select('trust_level').where('oid', '=', oid).executeTakeFirstOrThrow()).trust_level;
  const lettersOf = (oid: string) => db.selectFrom('confirmation_letters').selectAll().where('citizen_oid', '=', oid).orderBy('created_at').execute();
  const open = (browser: BrowserSession) => browser.open(`${idp.issuer}/account/verification`);
  const order = (browser: BrowserSession, page: Page) => browser.submit(formAction(page, '/account/verification/letter'), { _csrf: csrfToken(page) });
  const enter = (browser: BrowserSession, page: Page, code: string) => browser.submit(formAction(page, '/letter/code'), { _csrf: csrfToken(page), code });
  const wrongCode = (code: string) => String((Number(code) + 1) % 10 ** LETTER_CODE_POLICY.digits).padStart(LETTER_CODE_POLICY.digits, '0');

  it('sends a letter with a code by post; the right code confirms the account', async () => {
    const citizen = await standardCitizen();
    const page = await open(citizen.browser);
    expect(page.html).toContain(citizen.address);
    const ordered = await order(citizen.browser, page);
    expect(ordered.url).toContain('notice=letter_ordered');
    const inThirtyDays = new Date(clock.now().getTime() + 30 * DAY * 1000);
    expect(ordered.html).toContain(`Письмо отправлено ${shownDate(clock.now())}`);
    expect(ordered.html).toContain(`Код действует до ${shownDate(inThirtyDays)}`);

    const letter = await lastMessageTo(db, citizen.address);
    expect(letter).toMatchObject({ channel: 'post', template: 'letter_code', payload: { fullName: 'Почтовая Вера Львовна', expiresOn: inThirtyDays.toISOString().slice(0, 10) } });
    const code = await lastCodeSentTo(db, citizen.address);
    expect(code).toMatch(/^\d{8}$/);
    const [row] = await lettersOf(citizen.oid);
    expect(row).toMatchObject({ state: 'sent', address_str: citizen.address, expires_at: inThirtyDays });

    clock.advance(5 * DAY); // the post is slow
    const confirmed = await enter(citizen.browser, await open(citizen.browser), `${code.slice(0, 4)} ${code.slice(4)}`);
    expect(confirmed.url).toContain('notice=confirmed');
    expect(confirmed.html).toContain('data-trust-level="confirmed"');
    expect(await level(citizen.oid)).toBe('confirmed');
    expect((await lettersOf(citizen.oid))[0].state).toBe('confirmed');
    const change = await db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).where('type', '=', 'trust_level.changed').executeTakeFirstOrThrow();
    expect(change).toMatchObject({ actor: { type: 'citizen', oid: citizen.oid }, details: { from: 'standard', to: 'confirmed', method: 'letter', letterId: row.id } });
    const phone = citizen.login.replace('+', '');
    expect((await messagesTo(db, phone)).filter((m) => m.template === 'trust_level_changed')).toMatchObject([{ channel: 'sms', payload: { level: 'confirmed' } }]);
  });

  it('locks the letter after 5 wrong codes; a new letter may be ordered a day later', async () => {
    const citizen = await standardCitizen();
    await order(citizen.browser, await open(citizen.browser));
    const code = await lastCodeSentTo(db, citizen.address);
    const nextDay = shownDate(new Date(clock.now().getTime() + DAY * 1000));

    for (let left = 4; left >= 1; left--) {
      const answer = await enter(citizen.browser, await open(citizen.browser), wrongCode(code));
      expect(answer.status).toBe(400);
      expect(answer.html).toContain(`Неверный код. Осталось попыток: ${left}`);
    }
    const codeForm = await open(citizen.browser);
    const fifth = await enter(citizen.browser, codeForm, wrongCode(code));
    expect(fifth.html).toContain('Код заблокирован, закажите новое письмо');
    expect((await lettersOf(citizen.oid))[0].state).toBe('locked');

    // The right code no longer helps: the letter is locked.
    const late = await confirmLetterCode(db, hash, { citizenOid: citizen.oid, code, now: clock.now() });
    expect(late).toEqual({ result: 'no_letter' });
    expect(await level(citizen.oid)).toBe('standard');

    const lockedPage = await open(citizen.browser);
    expect(lockedPage.html).toContain('data-letter-state="locked"');
    expect(lockedPage.html).toContain(`Новое письмо можно заказать ${nextDay}`);
    expect(lockedPage.html).not.toContain('Получить код подтверждения письмом');
    // A forged order (the page offers no button now) is refused too.
    const tooSoon = await citizen.browser.submit(`${idp.issuer}/account/verification/letter`, { _csrf: csrfToken(codeForm) });
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.headers.get('retry-after')).toBe(String(DAY));
    expect(tooSoon.html).toContain(`Новое письмо можно заказать ${nextDay}`);

    clock.advance(DAY);
    const reorder = await open(citizen.browser);
    expect(reorder.html).toContain('Получить код подтверждения письмом');
    await order(citizen.browser, reorder);
    expect(await lettersOf(citizen.oid)).toHaveLength(2);
    const newCode = await lastCodeSentTo(db, citizen.address);
    await enter(citizen.browser, await open(citizen.browser), newCode);
    expect(await level(citizen.oid)).toBe('confirmed');
  });

  it('expires the letter after 30 days', async () => {
    const citizen = await standardCitizen();
    await order(citizen.browser, await open(citizen.browser));
    const code = await lastCodeSentTo(db, citizen.address);
    const page = await open(citizen.browser);

    clock.advance(30 * DAY);
    const answer = await enter(citizen.browser, page, code);
    expect(answer.status).toBe(400);
    expect(answer.html).toContain('Срок действия кода истёк, закажите новое письмо');
    expect((await lettersOf(citizen.oid))[0].state).toBe('expired');
    expect(await level(citizen.oid)).toBe('standard');
    const after = await open(citizen.browser);
    expect(after.html).toContain('data-letter-state="expired"');
    expect(after.html).toContain('Получить код подтверждения письмом');
  });

  it('marks an overdue letter expired as soon as the page is looked at', async () => {
    const citizen = await standardCitizen();
    await order(citizen.browser, await open(citizen.browser));
    clock.advance(30 * DAY + 1);
    expect((await open(citizen.browser)).html).toContain('data-letter-state="expired"');
    expect((await lettersOf(citizen.oid))[0].state).toBe('expired');
  });

  it('refuses to order without a registration address and links to where to add one', async () => {
    const citizen = await standardCitizen({ address: false });
    const page = await open(citizen.browser);
    expect(page.html).toContain('Для письма нужен адрес регистрации.');
    expect(page.html).toMatch(/<a href="\/account\/addresses">Указать адрес регистрации<\/a>/);
    expect(page.html).not.toContain('Получить код подтверждения письмом');

    // The address vanishes between showing the button (another tab) and pressing it.
    await db.insertInto('citizen_addresses').values({ citizen_oid: citizen.oid, type: 'PRG', address_str: citizen.address }).execute();
    const withButton = await open(citizen.browser);
    await db.deleteFrom('citizen_addresses').where('citizen_oid', '=', citizen.oid).execute();
    const refused = await order(citizen.browser, withButton);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Укажите адрес регистрации, чтобы заказать письмо');
    expect(refused.html).toContain('href="/account/addresses"');
    expect(await lettersOf(citizen.oid)).toEqual([]);
  });

  it('keeps at most one active letter, also when two orders race', async () => {
    const citizen = await standardCitizen();
    const page = await open(citizen.browser);
    await order(citizen.browser, page);
    const second = await citizen.browser.submit(`${idp.issuer}/account/verification/letter`, { _csrf: csrfToken(page) });
    expect(second.status).toBe(409);
    expect(second.html).toContain('Письмо уже отправлено');

    const racer = await standardCitizen();
    const results = await Promise.allSettled([1, 2].map(() => orderConfirmationLetter(db, hash, { citizenOid: racer.oid, now: clock.now() })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await lettersOf(racer.oid)).toHaveLength(1);
    expect((await messagesTo(db, racer.address)).filter((m) => m.template === 'letter_code')).toHaveLength(1);
  });

  it('confirms once when the right code is sent twice at the same moment', async () => {
    const citizen = await standardCitizen();
    await orderConfirmationLetter(db, hash, { citizenOid: citizen.oid, now: clock.now() });
    const code = await lastCodeSentTo(db, citizen.address);
    const results = await Promise.all([1, 2].map(() => confirmLetterCode(db, hash, { citizenOid: citizen.oid, code, now: clock.now() })));
    expect(results.map((r) => r.result).sort()).toEqual(['confirmed', 'no_letter']);
    const changes = await db.selectFrom('audit_events').select('id').where('citizen_oid', '=', citizen.oid).where('type', '=', 'trust_level.changed').execute();
    expect(changes).toHaveLength(1);
  });

  it('does not spend a try on a code that is not 8 digits', async () => {
    const citizen = await standardCitizen();
    await order(citizen.browser, await open(citizen.browser));
    const page = await open(citizen.browser);
    const empty = await enter(citizen.browser, page, '');
    expect(empty.html).toContain('Введите код из письма');
    const short = await enter(citizen.browser, page, '12345');
    expect(short.status).toBe(400);
    expect(short.html).toContain('Код состоит из 8 цифр');
    const [letter] = await lettersOf(citizen.oid);
    const stored = await db.selectFrom('one_time_codes').select('attempts_left').where('flow_id', '=', letter.id).executeTakeFirstOrThrow();
    expect(stored.attempts_left).toBe(LETTER_CODE_POLICY.maxAttempts);
  });

  it('offers no letter to a simplified account and refuses one if asked', async () => {
    const citizen = await idp.makeCitizen();
    await db.insertInto('citizen_addresses').values({ citizen_oid: citizen.oid, type: 'PRG', address_str: 'г. Тверь, ул. Советская, д. 1' }).execute();
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    expect((await open(browser)).html).not.toContain('Получить код подтверждения письмом');
    await expect(orderConfirmationLetter(db, hash, { citizenOid: citizen.oid, now: clock.now() })).rejects.toMatchObject({ code: 'letter.not_standard', status: 409 });
    expect(await lettersOf(citizen.oid)).toEqual([]);
  });
});
