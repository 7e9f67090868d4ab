import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { lastCodeSentTo, messagesTo } from '../support/outbox.ts';
import { BrowserSession } from '../support/browser-session.ts';
import { decode, merging, newIdentity, refusalsOn, type Person } from './merge-support.ts';

/**
 * «Связать аккаунты», up to the link: which accounts are offered, proving control of the other one
 * (its password or a code to its contact, with the limits), and every reason a link is refused.
 */
describe('linking accounts: candidates, proof of control, refusals (/account/accounts)', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let m: ReturnType<typeof merging>;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    m = merging(idp);
  });
  afterAll(() => idp?.close());
  beforeEach(() => clock.set(new Date()));

  const candidatesOn = (html: string) => [...html.matchAll(/data-candidate-oid="(\d+)"/g)].map((match) => match[1]);
  const fieldError = (html: string, id: string) => decode(html.match(new RegExp(`data-error-for="${id}">([^<]*)<`))?.[1] ?? '');

  describe('candidates', () => {
    it('offers the accounts sharing the SNILS, the passport or a once-confirmed contact — not strangers, not itself', async () => {
      const identity = newIdentity();
      const me = await m.person(identity);
      const bySnils = await m.person({ ...identity, passport: newIdentity().passport });
      const byPassport = await m.person({ ...identity, snils: newIdentity().snils });
      const byContact = await m.person(newIdentity({ lastName: 'Другая' }));
      const stranger = await m.person(newIdentity());
      // The phone `byContact` holds now was once confirmed on `me` (a completed contact change).
      const flow = await m.db.insertInto('contact_change_flows').values({ citizen_oid: me.oid, contact_kind: 'phone', new_value: byContact.phone, expires_at: clock.now() }).returning('id').executeTakeFirstOrThrow();
      await m.db.updateTable('contact_change_flows').set({ state: 'completed' }).where('id', '=', flow.id).execute();

      const page = await (await m.signedIn(me)).open(m.url('/account/accounts'));
      expect(page.status).toBe(200);
      expect(candidatesOn(page.html).toSorted()).toEqual([bySnils.oid, byPassport.oid, byContact.oid].toSorted());
      expect(page.html).not.toContain(`data-candidate-oid="${stranger.oid}"`);
      expect(decode(page.html)).toContain(`OID ${bySnils.oid} — Совпадает: СНИЛС.`);
      expect(decode(page.html)).toContain(`OID ${byPassport.oid} — Совпадает: паспорт.`);
      expect(decode(page.html)).toContain(`OID ${byContact.oid} — Совпадает: телефон или электронная почта.`);
    });

    it('tells a citizen whose account is not confirmed why nothing is offered, and refuses to start', async () => {
      const identity = newIdentity({ level: 'standard' });
      const [me, other] = await m.twins(identity, { level: 'confirmed' });
      const browser = await m.signedIn(me);
      const page = await browser.open(m.url('/account/accounts'));
      expect(candidatesOn(page.html)).toEqual([]);
      expect(decode(page.html)).toContain('Связать аккаунты может только подтверждённая учётная запись, а ваша — «Стандартная».');

      const start = await browser.open(m.url(`/account/accounts/${other.oid}/link`));
      expect(start.status).toBe(409);
      expect(refusalsOn(start)).toEqual({ this_not_confirmed: 'Ваша учётная запись не подтверждена. Подтвердите личность в разделе «Подтверждение»: в центре обслуживания или кодом из письма.' });
      const guess = await m.proveByPassword(browser, other);
      expect(guess.status).toBe(409);
    });

    it('answers 404 «Учетная запись не найдена» for an unknown OID, a stranger and a malformed OID', async () => {
      const me = await m.person();
      const stranger = await m.person();
      const browser = await m.signedIn(me);
      for (const path of ['/account/accounts/9999999999/link', `/account/accounts/${stranger.oid}/link`, `/account/accounts/${stranger.oid}/confirm`, '/account/accounts/abc/link', `/account/accounts/${me.oid}/link`]) {
        const page = await browser.open(m.url(path));
        expect(page.status, path).toBe(404);
        expect(page.html, path).toContain('Учетная запись не найдена');
      }
      const posted = await m.proveByPassword(browser, stranger);
      expect(posted.status).toBe(404);
      expect(posted.html).toContain('Учетная запись не найдена');

      // A client asking for JSON gets the same answer as JSON.
      const host = new URL(idp.issuer).hostname;
      const cookie = ['_session', '_session.sig'].map((name) => `${name}=${browser.cookie(host, name)}`).join('; ');
      const api = await fetch(m.url(`/account/accounts/${stranger.oid}/confirm`), { headers: { accept: 'application/json', cookie } });
      expect(api.status).toBe(404);
      expect(await api.json()).toMatchObject({ error: 'merge.account_not_found', error_description: 'Учетная запись не найдена' });
      expect(await m.db.selectFrom('merge_flows').select('id').where('citizen_oid', '=', me.oid).execute()).toEqual([]);
    });

    it('answers 403 for a candidate whose control was not proved, and links nothing', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      const look = await browser.open(m.url(`/account/accounts/${other.oid}/confirm`));
      expect(look.status).toBe(403);
      expect(look.html).toContain('Сначала подтвердите, что эта учётная запись ваша');
      const forced = await m.post(browser, `/account/accounts/${other.oid}/confirm`);
      expect(forced.status).toBe(403);
      expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();
    });
  });

  describe('proof of control', () => {
    it('accepts the other account\'s password and shows both accounts\' data side by side', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      const form = await browser.open(m.url(`/account/accounts/${other.oid}/link`));
      expect(decode(form.html)).toContain(`Подтвердите, что учётная запись OID ${other.oid} — ваша`);
      expect(form.html).toContain(`+7 ${other.phone.slice(1, 4)} ***-**-${other.phone.slice(9)}`);

      const wrong = await m.proveByPassword(browser, other, me.password);
      expect(wrong.status).toBe(400);
      expect(fieldError(wrong.html, 'password')).toBe('Неверный пароль');
      const empty = await m.proveByPassword(browser, other, '');
      expect(empty.status).toBe(400);
      expect(fieldError(empty.html, 'password')).toBe('Введите пароль');

      const confirm = await m.proveByPassword(browser, other);
      expect(confirm.url).toBe(m.url(`/account/accounts/${other.oid}/confirm`));
      expect(confirm.status).toBe(200);
      expect(decode(confirm.html)).toContain(`Основной останется ваша учётная запись OID ${me.oid}`);
      expect(confirm.html).toContain('14.03.1986');
      const flow = await m.db.selectFrom('merge_flows').selectAll().where('citizen_oid', '=', me.oid).where('candidate_oid', '=', other.oid).executeTakeFirstOrThrow();
      expect(flow).toMatchObject({ state: 'proved', proof_method: 'password' });
      // Going back to the proof step once proved leads on to the confirmation.
      expect((await browser.open(m.url(`/account/accounts/${other.oid}/link`))).url).toBe(m.url(`/account/accounts/${other.oid}/confirm`));
    });

    it('counts wrong passwords per other account: after five, 429 with Retry-After even for the right one', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      for (let i = 1; i <= 5; i++) {
        const wrong = await m.proveByPassword(browser, other, `Wrong-Guess-${i}!`);
        expect(wrong.status).toBe(400);
      }
      const blocked = await m.proveByPassword(browser, other);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(fieldError(blocked.html, 'password')).toMatch(/^Слишком много неверных попыток\. Повторите через \d+ (сек|мин)\.$/);
      expect((await m.db.selectFrom('merge_flows').select('state').where('candidate_oid', '=', other.oid).execute()).map((f) => f.state)).not.toContain('proved');

      clock.advance(Number(blocked.headers.get('retry-after')));
      expect((await m.proveByPassword(browser, other)).url).toBe(m.url(`/account/accounts/${other.oid}/confirm`));
    });

    it('accepts a code sent to the other account\'s phone; a wrong code costs a try', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      const sent = await m.post(browser, `/account/accounts/${other.oid}/link/code`, { channel: 'phone' });
      expect(sent.url).toBe(m.url(`/account/accounts/${other.oid}/link?sent=1`));
      expect(sent.html).toContain('Код отправлен. Он действует 5 минут.');
      const [message] = await messagesTo(m.db, other.phone);
      expect(message).toMatchObject({ channel: 'sms', template: 'merge_code' });
      const code = await lastCodeSentTo(m.db, other.phone);

      const wrong = await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code: code === '000000' ? '111111' : '000000' });
      expect(wrong.status).toBe(400);
      expect(fieldError(wrong.html, 'code')).toBe('Неверный код. Осталось попыток: 2');

      const proved = await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code });
      expect(proved.url).toBe(m.url(`/account/accounts/${other.oid}/confirm`));
      const flow = await m.db.selectFrom('merge_flows').selectAll().where('candidate_oid', '=', other.oid).executeTakeFirstOrThrow();
      expect(flow).toMatchObject({ state: 'proved', proof_method: 'phone' });
    });

    it('limits codes: a pause before the next one, three tries per code (then 429 with Retry-After), five minutes of life', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      await m.post(browser, `/account/accounts/${other.oid}/link/code`, { channel: 'email' });
      const code = await lastCodeSentTo(m.db, other.email);

      const again = await m.post(browser, `/account/accounts/${other.oid}/link/code`, { channel: 'email' });
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(decode(again.html)).toMatch(/Новый код можно запросить через \d+ (сек|мин)\./);

      const other1 = code === '000000' ? '111111' : '000000';
      expect((await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code: other1 })).status).toBe(400);
      expect((await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code: other1 })).status).toBe(400);
      const exhausted = await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code: other1 });
      expect(exhausted.status).toBe(429);
      expect(Number(exhausted.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(fieldError(exhausted.html, 'code')).toMatch(/^Слишком много неверных попыток\. Запросите новый код через \d+ (сек|мин)\.$/);
      // The burnt code is no good even when right.
      expect(fieldError((await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code })).html, 'code')).toBe('Код больше не действует. Запросите новый.');

      clock.advance(61);
      await m.post(browser, `/account/accounts/${other.oid}/link/code`, { channel: 'email' });
      const fresh = await lastCodeSentTo(m.db, other.email);
      clock.advance(5 * 60 + 1);
      const late = await m.post(browser, `/account/accounts/${other.oid}/link/code/confirm`, { code: fresh });
      expect(late.status).toBe(400);
      expect(fieldError(late.html, 'code')).toBe('Срок действия кода истёк. Запросите новый.');
    });

    it('forgets a proof that was not used in time', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      await m.proveByPassword(browser, other);
      clock.advance(16 * 60);
      expect((await browser.open(m.url(`/account/accounts/${other.oid}/confirm`))).status).toBe(403);
      expect((await m.post(browser, `/account/accounts/${other.oid}/confirm`)).status).toBe(403);
      expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();
    });
  });

  describe('refusals', () => {
    /** Proves control (password) and asks for the link; returns the refusal page. */
    async function attempt(me: Person, other: Person) {
      const browser = await m.signedIn(me);
      const confirm = await m.proveByPassword(browser, other);
      const posted = await m.post(browser, `/account/accounts/${other.oid}/confirm`);
      return { browser, confirm, posted };
    }

    async function expectRefused(me: Person, other: Person, expected: Record<string, string>) {
      const { confirm, posted } = await attempt(me, other);
      expect(confirm.status).toBe(409);
      expect(confirm.html).toContain('Эти учётные записи пока нельзя связать');
      expect(refusalsOn(confirm)).toEqual(expected);
      expect(posted.status).toBe(409);
      expect(refusalsOn(posted)).toEqual(expected);
      expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();
      expect(await m.db.selectFrom('account_merges').select('id').where('alias_oid', '=', other.oid).execute()).toEqual([]);
    }

    it('refuses when the other account is not confirmed', async () => {
      const [me, other] = await m.twins(newIdentity(), { level: 'standard' });
      await expectRefused(me, other, {
        other_not_confirmed: `Учётная запись OID ${other.oid} не подтверждена. Войдите в неё и подтвердите личность (в центре обслуживания или кодом из письма), затем повторите.`,
      });
    });

    it('refuses when this account lost its confirmation after the proof', async () => {
      const [me, other] = await m.twins();
      const browser = await m.signedIn(me);
      await m.proveByPassword(browser, other);
      await m.db.updateTable('citizens').set({ trust_level: 'simplified' }).where('oid', '=', me.oid).execute();
      const posted = await m.post(browser, `/account/accounts/${other.oid}/confirm`);
      expect(posted.status).toBe(409);
      expect(Object.keys(refusalsOn(posted))).toEqual(['this_not_confirmed']);
      expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();
    });

    it.each([
      ['last name', { lastName: 'Иванова' }, 'last_name', (o: string) => `Не совпадает фамилия: «Ёлкина» у вас и «Иванова» у OID ${o}. Исправьте её в разделе «Личные данные» той учётной записи, где она указана неверно, и дождитесь проверки.`],
      ['first name', { firstName: 'Марина' }, 'first_name', (o: string) => `Не совпадает имя: «Мария» у вас и «Марина» у OID ${o}. Исправьте его в разделе «Личные данные» той учётной записи, где оно указано неверно, и дождитесь проверки.`],
      ['middle name', { middleName: 'Павловна' }, 'middle_name', (o: string) => `Не совпадает отчество: «Петровна» у вас и «Павловна» у OID ${o}. Исправьте его в разделе «Личные данные» той учётной записи, где оно указано неверно, и дождитесь проверки.`],
      ['missing middle name', { middleName: null }, 'middle_name', (o: string) => `Не совпадает отчество: «Петровна» у вас и «не указано» у OID ${o}. Исправьте его в разделе «Личные данные» той учётной записи, где оно указано неверно, и дождитесь проверки.`],
      ['birth date', { birthDate: '1986-04-14' }, 'birth_date', (o: string) => `Не совпадает дата рождения: 14.03.1986 у вас и 14.04.1986 у OID ${o}. Исправьте её в разделе «Личные данные» той учётной записи, где она указана неверно, и дождитесь проверки.`],
    ] as const)('refuses when the %s differs, naming both values and what to do', async (_case, difference, key, text) => {
      const [me, other] = await m.twins(newIdentity(), difference);
      await expectRefused(me, other, { [key]: text(other.oid) });
    });

    it('refuses when the SNILS differs (a candidate by passport)', async () => {
      const identity = newIdentity({ snils: '11223344595' });
      const [me, other] = await m.twins(identity, { snils: '12345678964' });
      await expectRefused(me, other, {
        snils: `Не совпадает СНИЛС: 112-233-445 95 у вас и 123-456-789 64 у OID ${other.oid}. Исправьте его в разделе «Личные данные» той учётной записи, где он указан неверно, и дождитесь проверки.`,
      });
    });

    it('refuses when the passport differs (a candidate by SNILS)', async () => {
      const identity = newIdentity({ passport: { series: '4510', number: '111111' } });
      const [me, other] = await m.twins(identity, { passport: { series: '4511', number: '222222' } });
      await expectRefused(me, other, {
        passport: `Не совпадает паспорт: 4510 111111 у вас и 4511 222222 у OID ${other.oid}. Укажите действующий паспорт в разделе «Документы» той учётной записи, где он устарел или указан неверно, и дождитесь проверки.`,
      });
    });

    it('lists every reason at once', async () => {
      const [me, other] = await m.twins(newIdentity(), { level: 'standard', firstName: 'Марина', birthDate: '1990-01-01', passport: null });
      const { confirm } = await attempt(me, other);
      expect(Object.keys(refusalsOn(confirm))).toEqual(['other_not_confirmed', 'first_name', 'birth_date', 'passport']);
    });

    it('reads names as people do: «ё» and «е», letter case and spacing do not differ', async () => {
      const [me, other] = await m.twins(newIdentity(), { lastName: 'Елкина', firstName: 'мария', middleName: 'ПЕТРОВНА' });
      const { confirm } = await attempt(me, other);
      expect(confirm.status).toBe(200);
      expect(confirm.html).toContain('Связать учётные записи?');
    });

    it('refuses while a power of attorney ties the accounts or both trust one representative with a shared right; revoked ones do not count', async () => {
      const [me, other] = await m.twins();
      const representative = await m.person();
      const now = clock.now();
      const power = (principal: string, to: string, rights: Array<'view' | 'apply' | 'manage_poa'>, state: 'active' | 'draft' | 'revoked' = 'active') =>
        m.db.insertInto('powers_of_attorney').values({
          principal_kind: 'citizen', principal_citizen_oid: principal, principal_organisation_oid: null, representative_oid: to, rights, client_ids: null,
          valid_from: new Date(now.getTime() - 86_400_000), valid_to: new Date(now.getTime() + 30 * 86_400_000), state, created_by_oid: principal, created_at: now,
        }).returning('id').executeTakeFirstOrThrow().then((r) => r.id);
      const between = await power(me.oid, other.oid, ['view']);
      const mine = await power(me.oid, representative.oid, ['view', 'apply']);
      const theirs = await power(other.oid, representative.oid, ['apply'], 'draft');
      await power(other.oid, representative.oid, ['view'], 'revoked');

      const { browser, confirm } = await attempt(me, other);
      expect(confirm.status).toBe(409);
      expect(refusalsOn(confirm)).toEqual({ powers_conflict: 'Мешают доверенности. Отзовите их (черновики — удалите) в разделе «Доверенности», затем повторите:' });
      const list = confirm.html.match(/data-refusal="powers_conflict">[\s\S]*?<ul>([\s\S]*?)<\/ul>/)?.[1] ?? '';
      const items = [...list.matchAll(/<li>([^<]*)<\/li>/g)].map((match) => decode(match[1]));
      expect(items).toEqual([
        `доверенность №${between}: OID ${me.oid} доверяет OID ${other.oid} — нельзя быть представителем самого себя`,
        `доверенность №${mine}: OID ${me.oid} доверяет OID ${representative.oid}, которому доверяет и другая учётная запись`,
        `доверенность №${theirs}: OID ${other.oid} доверяет OID ${representative.oid}, которому доверяет и другая учётная запись`,
      ]);
      expect(confirm.html).toContain('href="/account/powers"');

      await m.db.updateTable('powers_of_attorney').set({ state: 'revoked', ended_at: now }).where('id', 'in', [between, mine]).execute();
      await m.db.deleteFrom('powers_of_attorney').where('id', '=', theirs).execute();
      const allowed = await browser.open(m.url(`/account/accounts/${other.oid}/confirm`));
      expect(allowed.status).toBe(200);
      expect(allowed.html).toContain('Связать учётные записи?');
    });

    it('refuses an account that is already linked elsewhere (it is no candidate any more)', async () => {
      const identity = newIdentity();
      const [first, second] = await m.twins(identity);
      const third = await m.person({ ...identity }, 'Tretij-Parol-2026!');
      const browser = await m.signedIn(first);
      expect((await m.link(browser, second)).url).toBe(m.url('/account/accounts?done=merged'));
      const late = await m.signedIn(third);
      const page = await late.open(m.url('/account/accounts'));
      expect(candidatesOn(page.html)).toEqual([first.oid]);
      expect((await late.open(m.url(`/account/accounts/${second.oid}/link`))).status).toBe(404);
    });
  });

  it('keeps the per-IP limit on sending codes', async () => {
    const identity = newIdentity();
    const [me, first] = await m.twins(identity);
    const second = await m.person({ ...identity }, 'Tretij-Parol-2026!');
    const browser = await m.signedIn(me);
    await m.post(browser, `/account/accounts/${first.oid}/link/code`, { channel: 'phone' });
    // The address has spent its budget (30 codes an hour) meanwhile.
    await m.db.updateTable('rate_limits').set({ points: 30 }).where('key', 'like', 'code_send:ip:%').execute();
    const refused = await m.post(browser, `/account/accounts/${second.oid}/link/code`, { channel: 'phone' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await messagesTo(m.db, second.phone)).toEqual([]);
    await m.db.deleteFrom('rate_limits').where('key', 'like', 'code_send:ip:%').execute();
  });

  it('sends a signed-out browser to sign in first', async () => {
    const [, other] = await m.twins();
    const page = await new BrowserSession().open(m.url(`/account/accounts/${other.oid}/link`));
    expect(page.url).toContain('/interaction/');
    expect(page.html).toContain('/login"');
  });
});
