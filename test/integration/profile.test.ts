import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, hiddenInputs, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { lastCodeSentTo, messagesTo } from '../support/outbox.ts';
import type { Db } from '../../src/db/database.ts';
import type { TrustLevel } from '../../src/citizens/citizen.table.ts';
import { addYears, calendarDate, snilsControl } from '../../src/shared/validators.ts';

const snils = (body: string) => body + String(snilsControl(body)).padStart(2, '0');
const VALID_INN = '500100732259';

describe('account: identity data pages', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let db: Db;
  let phoneCounter = 0;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
  });
  afterAll(() => idp?.close());

  const url = (path: string) => `${idp.issuer}${path}`;
  const nextPhone = () => `7990${String(process.pid % 1000).padStart(3, '0')}${String(++phoneCounter).padStart(4, '0')}`;

  interface Person { oid: string; login: string; password: string; browser: BrowserSession }

  /** A citizen signed in to the account in their own browser. */
  async function signedInCitizen(input: { email?: string; phone?: string } = {}): Promise<Person> {
    const citizen = await idp.makeCitizen(input.email && !input.phone ? { email: input.email } : { phone: input.phone ?? `+${nextPhone()}`, email: input.email });
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return { ...citizen, browser };
  }

  /**
   * A citizen whose data a registry check verified: personal data, SNILS and a verified passport,
   * set directly in the database (as the verification area would leave them).
   */
  async function verifiedCitizen(level: TrustLevel = 'standard', options: { pendingCheck?: boolean } = {}): Promise<Person & { snils: string }> {
    const person = await signedInCitizen();
    const number = snils(String(100_000_000 + Number(person.oid) % 800_000_000));
    await db.updateTable('citizens').set({ trust_level: level, birth_date: '1990-05-15', gender: 'M', birth_place: 'г. Москва', citizenship: 'RUS', snils: number }).where('oid', '=', person.oid).execute();
    await db.insertInto('citizen_documents').values({ citizen_oid: person.oid, type: 'RF_PASSPORT', series: '4510', number: '123456', issue_date: '2010-06-01', issue_id: '770-001', issued_by: 'ОВД Тверского района г. Москвы', vrf_status: 'verified' }).execute();
    if (options.pendingCheck) {
      await db.insertInto('registry_checks').values({
        citizen_oid: person.oid,
        snapshot: { lastName: 'Тестов', firstName: 'Тест', middleName: 'Тестович', birthDate: '1990-05-15', snils: number, passport: { series: '4510', number: '123456', issueDate: '2010-06-01' } },
      }).execute();
    }
    return { ...person, snils: number };
  }

  async function submit(person: Person, path: string, fields: Record<string, string>): Promise<Page> {
    const page = await person.browser.open(url(path));
    return person.browser.submit(url(path), { _csrf: csrfToken(page), ...fields });
  }

  const citizenRow = (oid: string) => db.selectFrom('citizens').selectAll().where('oid', '=', oid).executeTakeFirstOrThrow();
  const passportRow = (oid: string) => db.selectFrom('citizen_documents').selectAll().where('citizen_oid', '=', oid).executeTakeFirst();
  const auditOf = (oid: string, type: string) => db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', oid).where('type', '=', type).orderBy('id').execute();
  const fieldError = (page: Page, id: string) => page.html.match(new RegExp(`data-error-for="${id}">([^<]*)<`))?.[1];

  const personalForm = (overrides: Record<string, string> = {}) => ({
    last_name: 'Сидорова', first_name: 'Мария', middle_name: 'Ивановна', birth_date: '15.05.1990', gender: 'F',
    birth_place: 'г. Тула', citizenship: 'RUS', snils: '112-233-445 95', inn: VALID_INN, ...overrides,
  });

  describe('personal data', () => {
    it('saves the form and shows dates as dd.MM.yyyy and SNILS as XXX-XXX-XXX YY', async () => {
      const person = await signedInCitizen();
      const saved = await submit(person, '/account/personal', personalForm());
      expect(saved.url).toBe(url('/account/personal?done=saved'));
      expect(saved.html).toContain('Данные сохранены.');
      expect(saved.html).toContain('value="15.05.1990"');
      expect(saved.html).toContain('value="112-233-445 95"');
      expect(saved.html).toMatch(/<option value="RUS" selected>Российская Федерация<\/option>/);
      expect(await citizenRow(person.oid)).toMatchObject({
        last_name: 'Сидорова', first_name: 'Мария', middle_name: 'Ивановна', birth_date: '1990-05-15', gender: 'F',
        birth_place: 'г. Тула', citizenship: 'RUS', snils: '11223344595', inn: VALID_INN, trust_level: 'simplified',
      });
      const [event] = await auditOf(person.oid, 'profile.updated');
      expect(event.details).toEqual({ section: 'personal', fields: expect.arrayContaining(['last_name', 'birth_date', 'snils', 'inn']) });
      expect(JSON.stringify(event.details)).not.toMatch(/Сидорова|1990|11223344595|500100732259/);
    });

    it('accepts an ISO birth date (input type=date), an empty patronymic and an empty INN', async () => {
      const person = await signedInCitizen();
      const saved = await submit(person, '/account/personal', personalForm({ birth_date: '1985-12-31', middle_name: '', inn: '', snils: '123 456 789 64' }));
      expect(saved.url).toContain('done=saved');
      expect(await citizenRow(person.oid)).toMatchObject({ birth_date: '1985-12-31', middle_name: null, inn: null, snils: '12345678964' });
    });

    const today = () => calendarDate(clock.now());
    const formatRu = (iso: string) => iso.split('-').reverse().join('.');
    it.each([
      ['a SNILS with a wrong check number', { snils: '112-233-445 96' }, 'snils', 'Контрольное число СНИЛС не совпадает. Проверьте номер.'],
      ['a SNILS of 10 digits', { snils: '112-233-445 9' }, 'snils', 'СНИЛС — 11 цифр, например 123-456-789 01'],
      ['an INN with wrong check digits', { inn: '500100732258' }, 'inn', 'Контрольные цифры ИНН не совпадают. Проверьте номер.'],
      ['an INN of 10 digits', { inn: '7707083893' }, 'inn', 'ИНН физического лица — 12 цифр'],
      ['someone younger than 14', { birth_date: formatRu(addYears(today(), -10)) }, 'birth_date', 'Собственная учётная запись доступна с 14 лет'],
      ['a birth date in the future', { birth_date: formatRu(addYears(today(), 1)) }, 'birth_date', 'Дата рождения должна быть в прошлом'],
      ['an impossible date', { birth_date: '31.02.1990' }, 'birth_date', 'Такой даты нет в календаре'],
      ['a last name in Latin letters', { last_name: 'Smith' }, 'last_name', 'Фамилия может содержать только русские буквы, пробел, дефис и апостроф'],
      ['a first name with digits', { first_name: 'Мария2' }, 'first_name', 'Имя может содержать только русские буквы, пробел, дефис и апостроф'],
      ['no last name', { last_name: '  ' }, 'last_name', 'Укажите фамилию'],
      ['no gender', { gender: '' }, 'gender', 'Укажите пол'],
      ['an unknown citizenship', { citizenship: 'XYZ' }, 'citizenship', 'Выберите гражданство из списка'],
    ])('refuses %s with a message beside the field and keeps what was typed', async (_case, overrides, id, message) => {
      const person = await signedInCitizen();
      const before = await citizenRow(person.oid);
      const form = personalForm(overrides);
      const answer = await submit(person, '/account/personal', form);
      expect(answer.status).toBe(400);
      expect(fieldError(answer, id)).toBe(message);
      expect(answer.html).toContain(`value="${form.birth_place}"`);
      expect(await citizenRow(person.oid)).toEqual(before);
    });

    it('refuses a SNILS that another account already has', async () => {
      const other = await verifiedCitizen('simplified');
      const person = await signedInCitizen();
      const answer = await submit(person, '/account/personal', personalForm({ snils: other.snils }));
      expect(answer.status).toBe(409);
      expect(fieldError(answer, 'snils')).toBe('Этот СНИЛС уже указан в другой учётной записи. Обратитесь в центр обслуживания.');
      expect((await citizenRow(person.oid)).snils).toBeNull();
    });

    it('escapes what it shows back', async () => {
      const person = await signedInCitizen();
      const answer = await submit(person, '/account/personal', personalForm({ last_name: '"><script>alert(1)</script>' }));
      expect(answer.status).toBe(400);
      expect(answer.html).not.toContain('<script>alert(1)</script>');
      expect(answer.html).toContain('&lt;script&gt;');
    });

    it('lets a standard citizen change unverified data (gender, birthplace, INN) without losing the level', async () => {
      const person = await verifiedCitizen('standard');
      const answer = await submit(person, '/account/personal', {
        last_name: 'Тестов', first_name: 'Тест', middle_name: 'Тестович', birth_date: '15.05.1990', gender: 'F', birth_place: 'г. Тула', citizenship: 'RUS', snils: person.snils, inn: VALID_INN,
      });
      expect(answer.url).toContain('done=saved');
      expect(await citizenRow(person.oid)).toMatchObject({ trust_level: 'standard', gender: 'F', birth_place: 'г. Тула', inn: VALID_INN });
      expect((await passportRow(person.oid))?.vrf_status).toBe('verified');
    });

    it('treats saving the values as shown as no change: no warning, no downgrade, no audit event', async () => {
      const person = await verifiedCitizen('confirmed');
      const page = await person.browser.open(url('/account/personal'));
      const answer = await person.browser.submit(url('/account/personal'), { _csrf: csrfToken(page), ...shownValues(page) });
      expect(answer.url).toContain('done=unchanged');
      expect(answer.html).toContain('Данные не изменились.');
      expect((await citizenRow(person.oid)).trust_level).toBe('confirmed');
      expect(await auditOf(person.oid, 'profile.updated')).toEqual([]);
    });

    it('warns before a name change ends a confirmed account, then makes it simplified', async () => {
      const person = await verifiedCitizen('confirmed');
      const form = { ...shownValues(await person.browser.open(url('/account/personal'))), last_name: 'Новикова' };
      const warning = await submit(person, '/account/personal', form);
      expect(warning.html).toContain('После изменения фамилии учётная запись станет упрощённой до повторной проверки.');
      expect((await citizenRow(person.oid)).last_name).toBe('Тестов');

      const done = await person.browser.submit(url('/account/personal'), hiddenInputs(warning, 'confirm-change'));
      expect(done.url).toContain('done=saved_simplified');
      expect(await citizenRow(person.oid)).toMatchObject({ last_name: 'Новикова', trust_level: 'simplified' });
      expect((await passportRow(person.oid))?.vrf_status).toBe('not_verified');
      const [levelChange] = await auditOf(person.oid, 'trust_level.changed');
      expect(levelChange.details).toMatchObject({ from: 'confirmed', to: 'simplified', method: 'data_changed' });
      expect(levelChange.actor).toEqual({ type: 'citizen', oid: person.oid });
    });
  });

  describe('passport', () => {
    const passportForm = (overrides: Record<string, string> = {}) => ({
      series: '45 06', number: '654321', issue_date: '20.05.2004', issue_id: '770001', issued_by: 'ОВД района Арбат г. Москвы', ...overrides,
    });

    async function withBirthDate(): Promise<Person> {
      const person = await signedInCitizen();
      await db.updateTable('citizens').set({ birth_date: '1990-05-15' }).where('oid', '=', person.oid).execute();
      return person;
    }

    it('asks for the birth date first', async () => {
      const person = await signedInCitizen();
      const page = await person.browser.open(url('/account/documents'));
      expect(page.html).toContain('Сначала укажите дату рождения в разделе «Личные данные»');
      const answer = await person.browser.submit(url('/account/documents'), { _csrf: csrfToken(await person.browser.open(url('/account/personal'))), ...passportForm() });
      expect(answer.status).toBe(400);
      expect(await passportRow(person.oid)).toBeUndefined();
    });

    it('saves the passport, normalised, as not verified', async () => {
      const person = await withBirthDate();
      const saved = await submit(person, '/account/documents', passportForm());
      expect(saved.url).toContain('done=saved');
      expect(saved.html).toMatch(/data-vrf-status="not_verified">не проверен</);
      expect(saved.html).toContain('value="20.05.2004"');
      expect(await passportRow(person.oid)).toMatchObject({ series: '4506', number: '654321', issue_date: '2004-05-20', issue_id: '770-001', vrf_status: 'not_verified' });
      const [event] = await auditOf(person.oid, 'profile.updated');
      expect(event.details).toEqual({ section: 'passport', fields: ['series', 'number', 'issue_date', 'issue_id', 'issued_by'] });
    });

    it.each([
      ['issued before the 14th birthday', { issue_date: '14.05.2004' }, 'issue_date', 'Паспорт выдаётся с 14 лет: дата выдачи раньше вашего 14-летия'],
      ['issued in the future', { issue_date: '01.01.2099' }, 'issue_date', 'Дата выдачи не может быть в будущем'],
      ['a division code with the hyphen misplaced', { issue_id: '7700-01' }, 'issue_id', 'Код подразделения — в формате 123-456'],
      ['a division code of 5 digits', { issue_id: '770-01' }, 'issue_id', 'Код подразделения — 6 цифр в формате 123-456'],
      ['a series of 3 digits', { series: '450' }, 'series', 'Серия паспорта — 4 цифры'],
      ['a number with letters', { number: '65432A' }, 'number', 'Номер паспорта — 6 цифр'],
      ['no issuing authority', { issued_by: '' }, 'issued_by', 'Укажите, кем выдан паспорт'],
    ])('refuses a passport %s', async (_case, overrides, id, message) => {
      const person = await withBirthDate();
      const answer = await submit(person, '/account/documents', passportForm(overrides));
      expect(answer.status).toBe(400);
      expect(fieldError(answer, id)).toBe(message);
      expect(await passportRow(person.oid)).toBeUndefined();
    });

    it('warns a standard citizen, and on confirmation makes the account simplified and supersedes the pending check', async () => {
      const person = await verifiedCitizen('standard', { pendingCheck: true });
      const warning = await submit(person, '/account/documents', passportForm({ series: '4510', number: '999999', issue_date: '01.06.2010', issue_id: '770-001', issued_by: 'ОВД Тверского района г. Москвы' }));
      expect(warning.status).toBe(200);
      expect(warning.html).toContain('После изменения паспорта учётная запись станет упрощённой до повторной проверки.');
      const hidden = hiddenInputs(warning, 'confirm-change');
      expect(hidden).toMatchObject({ number: '999999', confirm_downgrade: '1', _csrf: expect.any(String) });
      expect(await passportRow(person.oid)).toMatchObject({ number: '123456', vrf_status: 'verified' });

      const done = await person.browser.submit(url('/account/documents'), hidden);
      expect(done.url).toContain('done=saved_simplified');
      expect(done.html).toContain('Учётная запись стала упрощённой до повторной проверки.');
      expect(done.html).toContain('data-trust-level="simplified"');
      expect((await citizenRow(person.oid)).trust_level).toBe('simplified');
      expect(await passportRow(person.oid)).toMatchObject({ number: '999999', vrf_status: 'not_verified' });
      const checks = await db.selectFrom('registry_checks').select('status').where('citizen_oid', '=', person.oid).execute();
      expect(checks).toEqual([{ status: 'superseded' }]);
      const [levelChange] = await auditOf(person.oid, 'trust_level.changed');
      expect(levelChange.details).toMatchObject({ from: 'standard', to: 'simplified', method: 'data_changed', section: 'passport', fields: ['number'] });
      const [update] = await auditOf(person.oid, 'profile.updated');
      expect(update.details).toEqual({ section: 'passport', fields: ['number'] });
      const [notice] = await messagesTo(db, person.login.slice(1));
      expect(notice).toMatchObject({ template: 'trust_level_changed', payload: { level: 'simplified', previousLevel: 'standard' } });
    });

    it('treats the same passport typed differently as no change, so a standard account keeps its level', async () => {
      const person = await verifiedCitizen('standard');
      const answer = await submit(person, '/account/documents', { series: '45 10', number: '123456', issue_date: '2010-06-01', issue_id: '770001', issued_by: 'ОВД  Тверского района г. Москвы' });
      expect(answer.url).toContain('done=unchanged');
      expect((await citizenRow(person.oid)).trust_level).toBe('standard');
      expect((await passportRow(person.oid))?.vrf_status).toBe('verified');
    });

    it('changes nothing when the citizen cancels at the warning', async () => {
      const person = await verifiedCitizen('standard', { pendingCheck: true });
      const warning = await submit(person, '/account/documents', passportForm({ series: '4510', number: '999999', issue_date: '01.06.2010' }));
      const cancelHref = warning.html.match(/href="([^"]+)" id="cancel-change"/)?.[1];
      expect(cancelHref).toBe('/account/documents');
      const back = await person.browser.open(url(cancelHref!));
      expect(back.html).toContain('value="123456"');
      expect((await citizenRow(person.oid)).trust_level).toBe('standard');
      expect(await passportRow(person.oid)).toMatchObject({ number: '123456', vrf_status: 'verified' });
      expect(await db.selectFrom('registry_checks').select('status').where('citizen_oid', '=', person.oid).execute()).toEqual([{ status: 'pending' }]);
      expect(await auditOf(person.oid, 'trust_level.changed')).toEqual([]);
    });

    it('a simplified citizen changing the passport gets no warning, but a pending check is superseded', async () => {
      const person = await verifiedCitizen('simplified', { pendingCheck: true });
      const done = await submit(person, '/account/documents', passportForm({ series: '4510', number: '111111', issue_date: '01.06.2010' }));
      expect(done.url).toContain('done=saved');
      expect(await db.selectFrom('registry_checks').select('status').where('citizen_oid', '=', person.oid).execute()).toEqual([{ status: 'superseded' }]);
      expect(await auditOf(person.oid, 'trust_level.changed')).toEqual([]);
    });
  });

  describe('addresses', () => {
    const registration = { PRG_address_str: '125009, г. Москва, ул. Тверская, д. 1, кв. 2', PRG_zip_code: '125009', PRG_region: 'Москва', PRG_city: 'Москва', PRG_street: 'Тверская', PRG_house: '1', PRG_flat: '2' };

    it('saves the registration address and copies it as the residence when they are the same', async () => {
      const person = await signedInCitizen();
      const saved = await submit(person, '/account/addresses', { ...registration, PLV_same: '1', PLV_address_str: 'ignored' });
      expect(saved.url).toContain('done=saved');
      expect(saved.html).toMatch(/name="PLV_same" value="1" checked/);
      const rows = await db.selectFrom('citizen_addresses').select(['type', 'address_str', 'zip_code', 'flat']).where('citizen_oid', '=', person.oid).orderBy('type').execute();
      expect(rows).toEqual([
        { type: 'PLV', address_str: registration.PRG_address_str, zip_code: '125009', flat: '2' },
        { type: 'PRG', address_str: registration.PRG_address_str, zip_code: '125009', flat: '2' },
      ]);
      const [event] = await auditOf(person.oid, 'profile.updated');
      expect(event.details).toEqual({ section: 'addresses', fields: ['registration_address', 'residence_address'] });

      const cleared = await submit(person, '/account/addresses', registration);
      expect(cleared.url).toContain('done=saved');
      expect(await db.selectFrom('citizen_addresses').select('type').where('citizen_oid', '=', person.oid).execute()).toEqual([{ type: 'PRG' }]);
    });

    it('refuses a postcode that is not 6 digits and an address without its one-line form', async () => {
      const person = await signedInCitizen();
      const answer = await submit(person, '/account/addresses', { ...registration, PRG_zip_code: '12500', PLV_city: 'Тула' });
      expect(answer.status).toBe(400);
      expect(fieldError(answer, 'PRG_zip_code')).toBe('Индекс — 6 цифр');
      expect(fieldError(answer, 'PLV_address_str')).toBe('Укажите адрес одной строкой');
      expect(answer.html).toContain('value="Тула"');
      expect(await db.selectFrom('citizen_addresses').select('type').where('citizen_oid', '=', person.oid).execute()).toEqual([]);
    });

    it('does not lower a confirmed level when the address changes', async () => {
      const person = await verifiedCitizen('confirmed');
      const saved = await submit(person, '/account/addresses', registration);
      expect(saved.url).toContain('done=saved');
      expect((await citizenRow(person.oid)).trust_level).toBe('confirmed');
      expect((await passportRow(person.oid))?.vrf_status).toBe('verified');
    });
  });

  describe('contacts', () => {
    async function startChange(person: Person, kind: 'phone' | 'email', value: string, password = person.password): Promise<Page> {
      return submitTo(person, '/account/contacts/change', { kind, value, password });
    }
    async function submitTo(person: Person, path: string, fields: Record<string, string>): Promise<Page> {
      const page = await person.browser.open(url('/account/contacts'));
      return person.browser.submit(url(path), { _csrf: csrfToken(page), ...fields });
    }
    const pendingFlowId = (page: Page) => page.html.match(/name="flow_id" value="([^"]+)"/)?.[1] ?? '';
    const flowOf = async (oid: string) => db.selectFrom('contact_change_flows').select(['id', 'state']).where('citizen_oid', '=', oid).orderBy('created_at', 'desc').executeTakeFirstOrThrow();

    it('adds an e-mail after the code sent to it is entered; a wrong code costs a try', async () => {
      const person = await signedInCitizen();
      const started = await startChange(person, 'email', ' New.Mail@Example.RU ');
      expect(started.url).toContain('done=code_sent');
      expect(started.html).toContain('new.mail@example.ru');
      expect(started.html).toContain('не подтверждён — введите код');
      const [sent] = await messagesTo(db, 'new.mail@example.ru');
      expect(sent).toMatchObject({ channel: 'email', template: 'contact_change_code', payload: { contact: 'email', ttlMinutes: 5 } });
      expect((await citizenRow(person.oid)).email).toBeNull();

      const code = await lastCodeSentTo(db, 'new.mail@example.ru');
      const wrong = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'email', code: code === '000000' ? '111111' : '000000' });
      expect(wrong.status).toBe(400);
      expect(fieldError(wrong, 'email_code')).toBe('Неверный код. Осталось попыток: 2');

      const done = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'email', code });
      expect(done.url).toContain('done=contact_changed');
      expect(done.html).toMatch(/data-contact="email">new\.mail@example\.ru<\/span> <span class="status status-verified">подтверждён/);
      expect((await citizenRow(person.oid)).email).toBe('new.mail@example.ru');
      expect((await flowOf(person.oid)).state).toBe('completed');
      expect((await auditOf(person.oid, 'contact.changed'))[0].details).toEqual({ kind: 'email', added: true });
      // The code is single-use.
      const again = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'email', code });
      expect(again.status).toBe(400);
    });

    it('changes the phone and tells the old phone about it', async () => {
      const oldPhone = nextPhone();
      const newPhone = nextPhone();
      const person = await signedInCitizen({ phone: `+${oldPhone}` });
      const started = await startChange(person, 'phone', `8 (${newPhone.slice(1, 4)}) ${newPhone.slice(4, 7)}-${newPhone.slice(7, 9)}-${newPhone.slice(9)}`);
      const done = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'phone', code: await lastCodeSentTo(db, newPhone) });
      expect(done.url).toContain('done=contact_changed');
      expect((await citizenRow(person.oid)).phone).toBe(newPhone);
      const notices = await messagesTo(db, oldPhone);
      expect(notices.map((m) => [m.channel, m.template, m.payload])).toEqual([['sms', 'security_notice', { event: 'contact_changed', kind: 'phone', at: expect.any(String) }]]);
    });

    it('asks for the current password and sends nothing when it is wrong', async () => {
      const person = await signedInCitizen();
      const answer = await startChange(person, 'email', 'wrong.password@example.ru', 'Not-The-Password-1');
      expect(answer.status).toBe(400);
      expect(fieldError(answer, 'email_password')).toBe('Неверный пароль');
      expect(answer.html).toContain('value="wrong.password@example.ru"');
      expect(await messagesTo(db, 'wrong.password@example.ru')).toEqual([]);
      expect(await db.selectFrom('contact_change_flows').select('id').where('citizen_oid', '=', person.oid).execute()).toEqual([]);
    });

    it('refuses a malformed phone and the contact the account already has', async () => {
      const person = await signedInCitizen();
      const bad = await startChange(person, 'phone', '+7 12');
      expect(fieldError(bad, 'phone_value')).toBe('Введите номер мобильного телефона, например +7 999 123-45-67');
      const same = await startChange(person, 'phone', person.login);
      expect(fieldError(same, 'phone_value')).toBe('Этот контакт уже указан в вашей учётной записи');
    });

    it('refuses an expired code (5 minutes)', async () => {
      const person = await signedInCitizen();
      const started = await startChange(person, 'email', 'expired.code@example.ru');
      const code = await lastCodeSentTo(db, 'expired.code@example.ru');
      clock.advance(5 * 60 + 1);
      const answer = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'email', code });
      expect(answer.status).toBe(400);
      expect(fieldError(answer, 'email_code')).toBe('Код больше не действует. Запросите новый код.');
      expect((await citizenRow(person.oid)).email).toBeNull();
    });

    it('answers a resend within 60 seconds with 429 and Retry-After; later a new code replaces the old one', async () => {
      const person = await signedInCitizen();
      const started = await startChange(person, 'email', 'resend@example.ru');
      const first = await lastCodeSentTo(db, 'resend@example.ru');
      clock.advance(20);
      const tooSoon = await submitTo(person, '/account/contacts/resend', { flow_id: pendingFlowId(started) });
      expect(tooSoon.status).toBe(429);
      expect(tooSoon.headers.get('retry-after')).toBe('40');
      expect(await messagesTo(db, 'resend@example.ru')).toHaveLength(1);

      clock.advance(41);
      const resent = await submitTo(person, '/account/contacts/resend', { flow_id: pendingFlowId(started) });
      expect(resent.url).toContain('done=code_sent');
      const second = await lastCodeSentTo(db, 'resend@example.ru');
      expect(await messagesTo(db, 'resend@example.ru')).toHaveLength(2);
      expect(first).toMatch(/^\d{6}$/);
      // The first code stopped working when the second was issued.
      const codes = await db.selectFrom('one_time_codes').select('consumed_at').where('flow_id', '=', pendingFlowId(started)).orderBy('created_at').execute();
      expect(codes.map((row) => row.consumed_at !== null)).toEqual([true, false]);
      const done = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'email', code: second });
      expect(done.url).toContain('done=contact_changed');
    });

    it('lets exactly one of two simultaneous confirmations with the right code through', async () => {
      const person = await signedInCitizen();
      const started = await startChange(person, 'email', 'race@example.ru');
      const form = { _csrf: csrfToken(started), flow_id: pendingFlowId(started), kind: 'email', code: await lastCodeSentTo(db, 'race@example.ru') };
      const answers = await Promise.all([1, 2].map(() => person.browser.submit(url('/account/contacts/confirm'), form)));
      expect(answers.map((answer) => answer.url.includes('done=contact_changed')).sort()).toEqual([false, true]);
      expect(await auditOf(person.oid, 'contact.changed')).toHaveLength(1);
      expect((await citizenRow(person.oid)).email).toBe('race@example.ru');
    });

    it('caps codes to one contact at 5 an hour', async () => {
      const person = await signedInCitizen();
      for (let i = 0; i < 5; i++) expect((await startChange(person, 'email', 'capped@example.ru')).status).toBe(200);
      const capped = await startChange(person, 'email', 'capped@example.ru');
      expect(capped.status).toBe(429);
      expect(Number(capped.headers.get('retry-after'))).toBeGreaterThan(3000);
      expect(await messagesTo(db, 'capped@example.ru')).toHaveLength(5);
    });

    it('does not reveal a phone taken by another account until the code proves control, then refuses it', async () => {
      const takenPhone = nextPhone();
      await idp.makeCitizen({ phone: `+${takenPhone}` });
      const person = await signedInCitizen();
      const started = await startChange(person, 'phone', `+${takenPhone}`);
      expect(started.url).toContain('done=code_sent');
      const answer = await submitTo(person, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'phone', code: await lastCodeSentTo(db, takenPhone) });
      expect(answer.status).toBe(409);
      expect(fieldError(answer, 'phone_code')).toBe('Этот номер уже используется в другой учётной записи. Укажите другой номер.');
      expect((await citizenRow(person.oid)).phone).toBe(person.login.slice(1));
      expect((await flowOf(person.oid)).state).toBe('failed');
    });

    it("does not let one citizen confirm another's change", async () => {
      const owner = await signedInCitizen();
      const started = await startChange(owner, 'email', 'owner.flow@example.ru');
      const intruder = await signedInCitizen();
      const answer = await submitTo(intruder, '/account/contacts/confirm', { flow_id: pendingFlowId(started), kind: 'email', code: await lastCodeSentTo(db, 'owner.flow@example.ru') });
      expect(answer.status).toBe(400);
      expect(answer.html).toContain('Запрос на изменение контакта устарел или не найден. Начните заново.');
      expect((await flowOf(owner.oid)).state).toBe('awaiting_code');
      expect((await citizenRow(intruder.oid)).email).toBeNull();
    });

    it('refuses to remove the only contact, and removes one of two with a notice to it', async () => {
      const person = await signedInCitizen();
      const only = await submitTo(person, '/account/contacts/remove', { kind: 'phone', password: person.password });
      expect(only.status).toBe(400);
      expect(only.html).toContain('Нельзя удалить единственный контакт');
      expect((await citizenRow(person.oid)).phone).not.toBeNull();

      const both = await signedInCitizen({ phone: `+${nextPhone()}`, email: 'two.contacts@example.ru' });
      const wrongPassword = await submitTo(both, '/account/contacts/remove', { kind: 'email', password: 'nope' });
      expect(fieldError(wrongPassword, 'email_remove_password')).toBe('Неверный пароль');
      const removed = await submitTo(both, '/account/contacts/remove', { kind: 'email', password: both.password });
      expect(removed.url).toContain('done=contact_removed');
      expect((await citizenRow(both.oid)).email).toBeNull();
      expect((await messagesTo(db, 'two.contacts@example.ru')).map((m) => m.payload)).toEqual([{ event: 'contact_removed', kind: 'email', at: expect.any(String) }]);
    });
  });

  describe('access', () => {
    it('sends an anonymous visitor to sign in and back', async () => {
      const response = await fetch(url('/account/personal'), { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/account/login?return_to=%2Faccount%2Fpersonal');
    });

    it('speaks English with ?lang=en and keeps the language across the form', async () => {
      const person = await signedInCitizen();
      const page = await person.browser.open(url('/account/personal?lang=en'));
      expect(page.html).toContain('<html lang="en">');
      expect(page.html).toContain('action="/account/personal?lang=en"');
      const answer = await person.browser.submit(url('/account/personal?lang=en'), { _csrf: csrfToken(page), ...personalForm({ snils: '112-233-445 96' }) });
      expect(fieldError(answer, 'snils')).toBe('The SNILS check number does not match. Check the number.');
    });

    it('refuses a form posted without the CSRF token', async () => {
      const person = await signedInCitizen();
      for (const path of ['/account/personal', '/account/documents', '/account/addresses', '/account/contacts/change']) {
        const answer = await person.browser.submit(url(path), { ...personalForm(), kind: 'email', value: 'csrf@example.ru', password: person.password });
        expect(answer.status).toBe(403);
      }
      expect((await citizenRow(person.oid)).last_name).toBe('Тестов');
      expect(await messagesTo(db, 'csrf@example.ru')).toEqual([]);
    });
  });
});

/** The values a form shows: text inputs, the checked radio, the selected option — what a browser would post back. */
function shownValues(page: Page): Record<string, string> {
  const decode = (text: string) => text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const values: Record<string, string> = {};
  for (const [tag] of page.html.matchAll(/<input[^>]*>/g)) {
    const attr = (name: string) => tag.match(new RegExp(`\\s${name}="([^"]*)"`))?.[1];
    const name = attr('name');
    if (!name || name === '_csrf' || (attr('type') === 'radio' && !/\schecked/.test(tag))) continue;
    values[name] = decode(attr('value') ?? '');
  }
  for (const [, name, options] of page.html.matchAll(/<select[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    values[name] = options.match(/<option value="([^"]*)" selected>/)?.[1] ?? '';
  }
  return values;
}
