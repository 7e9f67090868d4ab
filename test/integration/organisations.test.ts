import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { giveIdentity, uniqueSnils } from '../support/identity.ts';
import { messagesTo } from '../support/outbox.ts';
import type { Db } from '../../src/db/database.ts';
import type { TrustLevel } from '../../src/citizens/citizen.table.ts';
import { findMembership, findOrganisation, listMemberships } from '../../src/organisations/memberships.ts';
import { INVITATION_RATE_LIMIT, INVITATION_TTL_DAYS, inviteMember } from '../../src/organisations/invitations.service.ts';
import { findCitizenByOid } from '../../src/citizens/citizens.repository.ts';

/** Numbers of config/mock-business-registry.json. */
const ROMASHKA = { kind: 'legal', inn: '7701234560', ogrn: '1027700123450' };
const IVANOV_IP = { kind: 'sole_proprietor', inn: '770123456703', ogrn: '304770000123453' };
const LIQUIDATED = { kind: 'legal', inn: '7707654321', ogrn: '1037700543210' };
const VECTOR = { kind: 'legal', inn: '5001112228', ogrn: '1155000111221' };
/** Valid control digits, but the register has no such pair. */
const UNKNOWN_PAIR = { kind: 'legal', inn: '7701234560', ogrn: '1155000111221' };
const IVANOV_SNILS = '11223344595';
const KUZNETSOVA_SNILS = '34567892329';

describe('organisations in the account (/account/organisations)', () => {
  const clock = createTestClock(new Date('2026-11-23T09:00:00Z'));
  let idp: TestIdp;
  let db: Db;
  let serial = 0;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
  });
  afterAll(() => idp?.close());

  const url = (path: string) => `${idp.issuer}${path}`;

  interface Person { oid: string; login: string; password: string; email: string; snils: string; browser: BrowserSession; csrf: string }

  /** A citizen with identity data (verified at `level` unless simplified), signed in to the account in their own browser. */
  async function person(options: { level?: TrustLevel; snils?: string } = {}): Promise<Person> {
    const email = `org-${process.pid}-${++serial}@example.ru`;
    const citizen = await idp.makeCitizen({ email });
    const snils = options.snils ?? uniqueSnils();
    const level = options.level ?? 'standard';
    await giveIdentity(db, citizen.oid, { snils, ...(level === 'simplified' ? {} : { verifiedAs: level }) });
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return { ...citizen, email, snils, browser, csrf: await csrfOf(browser) };
  }

  /** The page's CSRF token (any account form carries it; «Личные данные» always has one). */
  const csrfOf = async (browser: BrowserSession) => csrfToken(await browser.open(url('/account/personal')));

  /** Posts a form; stops at the redirect (if any) so the test sees where it leads. */
  function post(who: Person, path: string, fields: Record<string, string> = {}): Promise<Page> {
    return who.browser.submit(url(path), { _csrf: who.csrf, ...fields }, () => true);
  }

  async function addThroughPage(who: Person, numbers: Record<string, string>): Promise<string> {
    const done = await post(who, '/account/organisations', numbers);
    expect(done.status).toBe(303);
    const oid = new URL(done.url).pathname.split('/').at(-1)!;
    expect(done.url).toBe(url(`/account/organisations/${oid}?done=added`));
    return oid;
  }

  const invitationRow = (id: string) => db.selectFrom('organisation_invitations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const pendingIdFor = async (organisationOid: string, invitee: { snils?: string; email?: string }) =>
    String(
      (await db
        .selectFrom('organisation_invitations')
        .select('id')
        .where('organisation_oid', '=', organisationOid)
        .where('state', '=', 'pending')
        .where(invitee.snils ? 'invitee_snils' : 'invitee_email', '=', (invitee.snils ?? invitee.email)!)
        .executeTakeFirstOrThrow()).id,
    );
  const rolesOf = async (organisationOid: string, oid: string) => (await findMembership(db, oid, organisationOid))?.roles;

  // ─── Adding an organisation ───

  let ivanov: Person;
  let romashka: string;

  it('lets only a confirmed citizen add an organisation and tells the others why', async () => {
    const standard = await person({ level: 'standard', snils: KUZNETSOVA_SNILS });
    const page = await standard.browser.open(url('/account/organisations'));
    expect(page.status).toBe(200);
    expect(page.html).toContain('data-reason="not_confirmed"');
    expect(page.html).toContain('только с подтверждённой учётной записью');
    expect(page.html).not.toContain('name="ogrn"');
    // Even the head named by the register: the form's POST refuses too.
    const refused = await post(standard, '/account/organisations', VECTOR);
    expect(refused.status).toBe(403);
    expect(await db.selectFrom('organisations').select('oid').where('inn', '=', VECTOR.inn).executeTakeFirst()).toBeUndefined();
  });

  it('shows mistakes in the numbers next to their fields, keeping what was typed', async () => {
    ivanov = await person({ level: 'confirmed', snils: IVANOV_SNILS });
    const typo = await post(ivanov, '/account/organisations', { ...ROMASHKA, inn: '7701234561' });
    expect(typo.status).toBe(400);
    expect(typo.html).toMatch(/data-error-for="inn">ИНН введён с ошибкой: не сходится контрольное число</);
    expect(typo.html).toContain('value="7701234561"');
    expect(typo.html).toContain('value="1027700123450"');
    expect(typo.html).toMatch(/<option value="legal" selected>/);

    const wrongKind = await post(ivanov, '/account/organisations', { ...ROMASHKA, kind: 'sole_proprietor' });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.html).toMatch(/data-error-for="inn">ИНН индивидуального предпринимателя состоит из 12 цифр</);
    expect(wrongKind.html).toMatch(/data-error-for="ogrn">ОГРНИП состоит из 15 цифр</);

    const noKind = await post(ivanov, '/account/organisations', { ...ROMASHKA, kind: '' });
    expect(noKind.status).toBe(400);
    expect(noKind.html).toMatch(/data-error-for="kind">Выберите тип организации</);
    expect(await listMemberships(db, ivanov.oid)).toEqual([]);
  });

  it.each([
    ['not_found', UNKNOWN_PAIR, 422, 'В ЕГРЮЛ / ЕГРИП нет организации с такими ИНН и ОГРН'],
    ['liquidated', LIQUIDATED, 422, 'организация ликвидирована'],
    ['not_head', VECTOR, 422, 'руководитель этой организации — не вы'],
  ])('refuses when the register says %s, and says so', async (reason, numbers, status, text) => {
    const refused = await post(ivanov, '/account/organisations', numbers);
    expect(refused.status).toBe(status);
    expect(refused.html).toContain(`data-refusal="${reason}"`);
    expect(refused.html).toContain(text);
    expect(refused.html).toContain(`value="${numbers.inn}"`);
    expect(await db.selectFrom('organisations').select('oid').where('inn', '=', numbers.inn).executeTakeFirst()).toBeUndefined();
  });

  it('adds the organisation the register names the citizen head of, with them as its chief', async () => {
    romashka = await addThroughPage(ivanov, ROMASHKA);
    expect(BigInt(romashka)).toBeGreaterThanOrEqual(2000000001n);
    const page = await ivanov.browser.open(url(`/account/organisations/${romashka}?done=added`));
    expect(page.status).toBe(200);
    expect(page.html).toContain('Организация добавлена. Вы — её руководитель.');
    expect(page.html).toContain('ООО «Ромашка»');
    expect(page.html).toContain('Общество с ограниченной ответственностью «Ромашка»');
    expect(page.html).toContain('data-field="kpp">770101001');
    expect(await findMembership(db, ivanov.oid, romashka)).toEqual({
      organisation: { oid: romashka, kind: 'legal', fullName: 'Общество с ограниченной ответственностью «Ромашка»', shortName: 'ООО «Ромашка»', inn: ROMASHKA.inn, ogrn: ROMASHKA.ogrn, kpp: '770101001' },
      roles: ['chief'],
    });
    const audit = await db.selectFrom('audit_events').selectAll().where('type', '=', 'organisation.added').where('citizen_oid', '=', ivanov.oid).execute();
    expect(audit.map((e) => e.details)).toEqual([{ organisationOid: romashka, kind: 'legal' }]);

    const list = await ivanov.browser.open(url('/account/organisations'));
    expect(list.html).toContain(`data-organisation-oid="${romashka}"`);
    expect(list.html).toContain('Ваши роли: Руководитель');
  });

  it('adds a sole proprietorship (INN 12 + OGRNIP 15) and refuses a second registration of either', async () => {
    const ip = await addThroughPage(ivanov, IVANOV_IP);
    expect(await findOrganisation(db, ip)).toMatchObject({ kind: 'sole_proprietor', kpp: null, ogrn: IVANOV_IP.ogrn });
    for (const numbers of [ROMASHKA, IVANOV_IP]) {
      const again = await post(ivanov, '/account/organisations', numbers);
      expect(again.status).toBe(409);
      expect(again.html).toContain('data-refusal="already_registered"');
      expect(again.html).toContain('уже зарегистрирована на Госуслугах');
    }
    expect((await listMemberships(db, ivanov.oid)).map((m) => m.organisation.shortName)).toEqual(['ИП Иванов И. И.', 'ООО «Ромашка»']);
  });

  it('keeps one chief per organisation, in the schema too', async () => {
    const other = await person();
    await expect(
      db.insertInto('organisation_members').values({ organisation_oid: romashka, citizen_oid: other.oid, roles: ['chief'], joined_at: clock.now() }).execute(),
    ).rejects.toMatchObject({ code: '23505' });
    // An invitation can never carry the chief's role.
    await expect(
      db.insertInto('organisation_invitations').values({ organisation_oid: romashka, invitee_snils: other.snils, invitee_email: null, roles: ['chief' as never], state: 'pending', invited_by_oid: ivanov.oid, decided_by_oid: null, created_at: clock.now(), expires_at: clock.now(), decided_at: null }).execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });

  // ─── The organisation's page ───

  it('shows an organisation only to its members: 404 for anyone else, an unknown or a malformed OID', async () => {
    const stranger = await person();
    for (const path of [`/account/organisations/${romashka}`, '/account/organisations/2999999999', '/account/organisations/abc', '/account/organisations/99999999999999999999999']) {
      expect((await stranger.browser.open(url(path))).status, path).toBe(404);
    }
    const invite = await post(stranger, `/account/organisations/${romashka}/invitations`, { invitee: stranger.snils, role: 'employee' });
    expect(invite.status).toBe(404);
    expect((await post(stranger, `/account/organisations/${romashka}/members/${ivanov.oid}/remove`)).status).toBe(404);
    expect(await db.selectFrom('organisation_invitations').select('id').where('organisation_oid', '=', romashka).execute()).toEqual([]);
  });

  // ─── Invitations ───

  it('invites by SNILS: the invitee sees it, gets a notice, accepts once, and joins with the invited role', async () => {
    const anna = await person({ level: 'standard' });
    const sent = await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: ` ${anna.snils.slice(0, 3)}-${anna.snils.slice(3, 6)}-${anna.snils.slice(6, 9)} ${anna.snils.slice(9)}`, role: 'employee' });
    expect(sent.url).toBe(url(`/account/organisations/${romashka}?done=invited`));
    const orgPage = await ivanov.browser.open(sent.url);
    expect(orgPage.html).toContain('Приглашение отправлено.');
    expect(orgPage.html).toContain(`СНИЛС ${anna.snils.slice(0, 3)}-${anna.snils.slice(3, 6)}`);
    const id = await pendingIdFor(romashka, { snils: anna.snils });

    const notices = await messagesTo(db, anna.email);
    expect(notices.map((m) => [m.template, m.payload])).toEqual([['organisation_invitation', { organisation: 'ООО «Ромашка»', role: 'employee' }]]);

    const list = await anna.browser.open(url('/account/organisations'));
    expect(list.html).toContain(`data-invitation-id="${id}"`);
    expect(list.html).toContain('ООО «Ромашка» приглашает вас: Сотрудник.');
    expect(list.html).toContain('07.12.2026');

    const accepted = await post(anna, `/account/organisations/invitations/${id}/accept`);
    expect(accepted.url).toBe(url(`/account/organisations/${romashka}?done=accepted`));
    expect(await rolesOf(romashka, anna.oid)).toEqual(['employee']);
    expect(await invitationRow(id)).toMatchObject({ state: 'accepted', decided_by_oid: anna.oid });
    const members = (await anna.browser.open(url(`/account/organisations/${romashka}`))).html;
    expect(members).toMatch(new RegExp(`data-member-oid="${ivanov.oid}" data-roles="chief"`));
    expect(members).toMatch(new RegExp(`data-member-oid="${anna.oid}" data-roles="employee"`));
    // A plain employee sees the members, not the tools to manage them.
    expect(members).not.toContain('/remove"');

    const twice = await post(anna, `/account/organisations/invitations/${id}/accept`);
    expect(twice.status).toBe(409);
    expect(twice.html).toContain('Вы уже приняли это приглашение.');
    expect((await post(anna, `/account/organisations/invitations/${id}/decline`)).status).toBe(409);
    expect(await invitationRow(id)).toMatchObject({ state: 'accepted' });
  });

  it('never says whether the invitee has an account: the same answer, no notice to unknown addresses', async () => {
    const before = await db.selectFrom('outbox_messages').select('id').execute();
    const nobodySnils = uniqueSnils();
    const bySnils = await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: nobodySnils, role: 'employee' });
    const byEmail = await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: 'Nobody@Example.RU', role: 'employee' });
    for (const answer of [bySnils, byEmail]) expect([answer.status, answer.url]).toEqual([303, url(`/account/organisations/${romashka}?done=invited`)]);
    await pendingIdFor(romashka, { snils: nobodySnils });
    await pendingIdFor(romashka, { email: 'nobody@example.ru' });
    expect(await db.selectFrom('outbox_messages').select('id').execute()).toHaveLength(before.length);
  });

  it('shows an invitation by SNILS only once the SNILS is verified, and by e-mail to the confirmed address', async () => {
    const unverified = await person({ level: 'simplified' });
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: unverified.snils, role: 'employee' });
    const id = await pendingIdFor(romashka, { snils: unverified.snils });
    expect((await unverified.browser.open(url('/account/organisations'))).html).not.toContain(`data-invitation-id="${id}"`);
    expect((await post(unverified, `/account/organisations/invitations/${id}/accept`)).status).toBe(404);
    expect(await invitationRow(id)).toMatchObject({ state: 'pending' });
    expect(await messagesTo(db, unverified.email)).toEqual([]);

    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: unverified.email.toUpperCase(), role: 'employee' });
    const byEmail = await pendingIdFor(romashka, { email: unverified.email });
    expect((await unverified.browser.open(url('/account/organisations'))).html).toContain(`data-invitation-id="${byEmail}"`);
    expect((await messagesTo(db, unverified.email)).map((m) => m.template)).toEqual(['organisation_invitation']);
    expect((await post(unverified, `/account/organisations/invitations/${byEmail}/accept`)).status).toBe(303);
    expect(await rolesOf(romashka, unverified.oid)).toEqual(['employee']);
  });

  it('refuses someone else\'s invitation as if it did not exist', async () => {
    const invitee = await person();
    const intruder = await person();
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'employee' });
    const id = await pendingIdFor(romashka, { snils: invitee.snils });
    for (const action of ['accept', 'decline']) expect((await post(intruder, `/account/organisations/invitations/${id}/${action}`)).status).toBe(404);
    expect((await post(intruder, '/account/organisations/invitations/abc/accept')).status).toBe(404);
    expect(await invitationRow(id)).toMatchObject({ state: 'pending' });
    expect(await findMembership(db, intruder.oid, romashka)).toBeUndefined();

    const declined = await post(invitee, `/account/organisations/invitations/${id}/decline`);
    expect(declined.url).toBe(url('/account/organisations?done=declined'));
    expect(await invitationRow(id)).toMatchObject({ state: 'declined', decided_by_oid: invitee.oid });
    expect(await findMembership(db, invitee.oid, romashka)).toBeUndefined();
    const late = await post(invitee, `/account/organisations/invitations/${id}/accept`);
    expect(late.status).toBe(409);
    expect(late.html).toContain('Вы уже отклонили это приглашение.');
  });

  it('lets the chief withdraw a pending invitation, not an answered one', async () => {
    const invitee = await person();
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'employee' });
    const id = await pendingIdFor(romashka, { snils: invitee.snils });
    const cancelled = await post(ivanov, `/account/organisations/${romashka}/invitations/${id}/cancel`);
    expect(cancelled.url).toBe(url(`/account/organisations/${romashka}?done=cancelled`));
    expect(await invitationRow(id)).toMatchObject({ state: 'cancelled' });
    const tooLate = await post(invitee, `/account/organisations/invitations/${id}/accept`);
    expect(tooLate.status).toBe(409);
    expect(tooLate.html).toContain('Организация отозвала это приглашение.');
    expect(await findMembership(db, invitee.oid, romashka)).toBeUndefined();

    // Cancelling an accepted invitation changes nothing.
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'employee' });
    const second = await pendingIdFor(romashka, { snils: invitee.snils });
    await post(invitee, `/account/organisations/invitations/${second}/accept`);
    const refused = await post(ivanov, `/account/organisations/${romashka}/invitations/${second}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('Это приглашение уже принято.');
    expect(await invitationRow(second)).toMatchObject({ state: 'accepted' });
    expect(await rolesOf(romashka, invitee.oid)).toEqual(['employee']);
    // Another organisation's invitation id is not found under this one.
    expect((await post(ivanov, `/account/organisations/${romashka}/invitations/999999/cancel`)).status).toBe(404);
  });

  it(`expires an invitation after ${INVITATION_TTL_DAYS} days: it is gone from the list, and accepting or cancelling it is refused`, async () => {
    const invitee = await person();
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'employee' });
    const id = await pendingIdFor(romashka, { snils: invitee.snils });
    const other = await person();
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: other.snils, role: 'employee' });
    const otherId = await pendingIdFor(romashka, { snils: other.snils });

    clock.advance(INVITATION_TTL_DAYS * 24 * 3600 + 1);
    try {
      // Sessions do not survive two idle weeks: sign in again.
      for (const who of [invitee, ivanov, other]) {
        who.browser = new BrowserSession();
        await signInToAccount(who.browser, idp.issuer, who);
        who.csrf = await csrfOf(who.browser);
      }
      expect((await invitee.browser.open(url('/account/organisations'))).html).not.toContain(`data-invitation-id="${id}"`);
      expect((await ivanov.browser.open(url(`/account/organisations/${romashka}`))).html).not.toContain(`data-invitation-id="${id}"`);
      const accept = await post(invitee, `/account/organisations/invitations/${id}/accept`);
      expect(accept.status).toBe(409);
      expect(accept.html).toContain('Срок приглашения истёк.');
      expect(await invitationRow(id)).toMatchObject({ state: 'expired' });
      expect(await findMembership(db, invitee.oid, romashka)).toBeUndefined();

      const cancel = await post(ivanov, `/account/organisations/${romashka}/invitations/${otherId}/cancel`);
      expect(cancel.status).toBe(409);
      expect(cancel.html).toContain('Срок этого приглашения уже истёк.');
      expect(await invitationRow(otherId)).toMatchObject({ state: 'expired' });
      expect((await post(other, `/account/organisations/invitations/${otherId}/accept`)).status).toBe(409);

      // A new invitation to the same person may go out once the old one expired.
      expect((await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'employee' })).status).toBe(303);
    } finally {
      clock.set(new Date('2026-11-23T09:00:00Z'));
      for (const who of [invitee, ivanov, other]) {
        who.browser = new BrowserSession();
        await signInToAccount(who.browser, idp.issuer, who);
        who.csrf = await csrfOf(who.browser);
      }
    }
  });

  it('explains what is wrong with an invitation, next to the field', async () => {
    const invitee = await person();
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ invitee: '', role: 'employee' }, 'invitee', 'Введите СНИЛС или адрес электронной почты'],
      [{ invitee: '123-456-789 00', role: 'employee' }, 'invitee', 'СНИЛС введён с ошибкой'],
      [{ invitee: '12345', role: 'employee' }, 'invitee', 'СНИЛС состоит из 11 цифр'],
      [{ invitee: 'anna@', role: 'employee' }, 'invitee', 'Введите СНИЛС (например, 123-456-789 01) или адрес электронной почты'],
      [{ invitee: IVANOV_SNILS, role: 'employee' }, 'invitee', 'Это ваши собственные данные'],
      [{ invitee: invitee.snils, role: 'chief' }, 'role', 'Выберите роль'],
    ];
    for (const [fields, field, text] of cases) {
      const page = await post(ivanov, `/account/organisations/${romashka}/invitations`, fields);
      expect(page.status, JSON.stringify(fields)).toBe(400);
      expect(page.html).toMatch(new RegExp(`data-error-for="${field}">[^<]*${text.replace(/[()]/g, '\\$&')}`));
      if (fields.invitee) expect(page.html).toContain(`value="${fields.invitee}"`);
    }
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'employee' });
    const duplicate = await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: invitee.snils, role: 'admin' });
    expect(duplicate.status).toBe(400);
    expect(duplicate.html).toContain('Приглашение этому пользователю уже отправлено и ждёт ответа');
  });

  // ─── Roles: admins, removal, «Сменить администратора» ───

  let admin: Person;
  let employee: Person;

  it('lets the chief invite an admin; an admin invites employees only; an employee invites nobody', async () => {
    admin = await person();
    employee = await person();
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: admin.email, role: 'admin' });
    await post(admin, `/account/organisations/invitations/${await pendingIdFor(romashka, { email: admin.email })}/accept`);
    expect(await rolesOf(romashka, admin.oid)).toEqual(['admin', 'employee']);

    const adminPage = await admin.browser.open(url(`/account/organisations/${romashka}`));
    expect(adminPage.html).toContain('id="invite"');
    expect(adminPage.html).not.toContain('<option value="admin"');
    expect(adminPage.html).not.toContain('id="change-admin"');
    const asAdmin = await post(admin, `/account/organisations/${romashka}/invitations`, { invitee: employee.snils, role: 'admin' });
    expect(asAdmin.status).toBe(400);
    expect(asAdmin.html).toContain('Назначить администратора может только руководитель');
    expect((await post(admin, `/account/organisations/${romashka}/invitations`, { invitee: employee.snils, role: 'employee' })).status).toBe(303);
    await post(employee, `/account/organisations/invitations/${await pendingIdFor(romashka, { snils: employee.snils })}/accept`);
    expect(await rolesOf(romashka, employee.oid)).toEqual(['employee']);

    const employeePage = await employee.browser.open(url(`/account/organisations/${romashka}`));
    expect(employeePage.status).toBe(200);
    expect(employeePage.html).not.toContain('id="invite"');
    expect((await post(employee, `/account/organisations/${romashka}/invitations`, { invitee: uniqueSnils(), role: 'employee' })).status).toBe(403);
  });

  it('removes an employee: the membership is gone at once and the page is closed to them', async () => {
    const leaving = await person();
    await post(admin, `/account/organisations/${romashka}/invitations`, { invitee: leaving.snils, role: 'employee' });
    await post(leaving, `/account/organisations/invitations/${await pendingIdFor(romashka, { snils: leaving.snils })}/accept`);
    expect(await findMembership(db, leaving.oid, romashka)).toBeDefined();

    // An employee may not remove a colleague.
    expect((await post(employee, `/account/organisations/${romashka}/members/${leaving.oid}/remove`)).status).toBe(403);
    expect(await findMembership(db, leaving.oid, romashka)).toBeDefined();

    const removed = await post(admin, `/account/organisations/${romashka}/members/${leaving.oid}/remove`);
    expect(removed.url).toBe(url(`/account/organisations/${romashka}?done=removed`));
    expect(await findMembership(db, leaving.oid, romashka)).toBeUndefined();
    expect((await leaving.browser.open(url(`/account/organisations/${romashka}`))).status).toBe(404);
    expect((await listMemberships(db, leaving.oid)).map((m) => m.organisation.oid)).not.toContain(romashka);
    const trail = await db.selectFrom('audit_events').selectAll().where('type', '=', 'organisation.member_removed').where('citizen_oid', '=', leaving.oid).execute();
    expect(trail).toMatchObject([{ actor: { type: 'citizen', oid: admin.oid }, details: { organisationOid: romashka, roles: ['employee'] } }]);
    // Removing them again: they are not there.
    expect((await post(admin, `/account/organisations/${romashka}/members/${leaving.oid}/remove`)).status).toBe(404);
  });

  it('never removes the chief; an admin cannot remove another admin (the chief can)', async () => {
    const chiefRemoval = await post(admin, `/account/organisations/${romashka}/members/${ivanov.oid}/remove`);
    expect(chiefRemoval.status).toBe(409);
    expect(chiefRemoval.html).toContain('Руководителя нельзя удалить из организации');
    const chiefLeaving = await post(ivanov, `/account/organisations/${romashka}/leave`);
    expect(chiefLeaving.status).toBe(409);
    expect(await rolesOf(romashka, ivanov.oid)).toEqual(['chief']);

    const second = await person();
    await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: second.snils, role: 'admin' });
    await post(second, `/account/organisations/invitations/${await pendingIdFor(romashka, { snils: second.snils })}/accept`);
    const byAdmin = await post(admin, `/account/organisations/${romashka}/members/${second.oid}/remove`);
    expect(byAdmin.status).toBe(409);
    expect(byAdmin.html).toContain('Администратора может удалить только руководитель.');
    expect(await rolesOf(romashka, second.oid)).toEqual(['admin', 'employee']);
    expect((await post(ivanov, `/account/organisations/${romashka}/members/${second.oid}/remove`)).status).toBe(303);
    expect(await findMembership(db, second.oid, romashka)).toBeUndefined();
  });

  it('«Сменить администратора»: the chief moves the admin role to another member; nobody else may', async () => {
    const chiefPage = await ivanov.browser.open(url(`/account/organisations/${romashka}`));
    expect(chiefPage.html).toContain('Сменить администратора');

    expect((await post(admin, `/account/organisations/${romashka}/admin`, { from: admin.oid, to: employee.oid })).status).toBe(403);
    expect(await rolesOf(romashka, employee.oid)).toEqual(['employee']);

    const changed = await post(ivanov, `/account/organisations/${romashka}/admin`, { from: admin.oid, to: employee.oid });
    expect(changed.url).toBe(url(`/account/organisations/${romashka}?done=admin_changed`));
    expect(await rolesOf(romashka, admin.oid)).toEqual(['employee']);
    expect(await rolesOf(romashka, employee.oid)).toEqual(['admin', 'employee']);

    const refusals: Array<[Record<string, string>, string]> = [
      [{ from: employee.oid, to: ivanov.oid }, 'уже администратор или руководитель'],
      [{ from: admin.oid, to: employee.oid }, 'уже администратор или руководитель'],
      [{ from: ivanov.oid, to: admin.oid }, 'Выбранный сотрудник не администратор.'],
      [{ from: employee.oid, to: '2999999999' }, 'Выбранного человека нет среди сотрудников организации.'],
      [{ from: employee.oid, to: employee.oid }, 'Выберите другого сотрудника.'],
    ];
    for (const [fields, text] of refusals) {
      const page = await post(ivanov, `/account/organisations/${romashka}/admin`, fields);
      expect(page.status, JSON.stringify(fields)).toBe(409);
      expect(page.html).toContain(text);
    }
    expect((await post(ivanov, `/account/organisations/${romashka}/admin`, { from: '', to: 'x' })).status).toBe(400);
    expect(await rolesOf(romashka, employee.oid)).toEqual(['admin', 'employee']);
    expect(await rolesOf(romashka, ivanov.oid)).toEqual(['chief']);
  });

  it('lets a member leave on their own', async () => {
    const left = await post(admin, `/account/organisations/${romashka}/leave`);
    expect(left.url).toBe(url('/account/organisations?done=left'));
    expect(await findMembership(db, admin.oid, romashka)).toBeUndefined();
  });

  it(`limits invitations per organisation (${INVITATION_RATE_LIMIT.points} an hour): 429 with Retry-After, the form kept`, async () => {
    const chief = await findCitizenByOid(db, ivanov.oid);
    const ip = String((await listMemberships(db, ivanov.oid)).find((m) => m.organisation.kind === 'sole_proprietor')!.organisation.oid);
    for (let i = 0; i < INVITATION_RATE_LIMIT.points; i++) {
      const outcome = await inviteMember(db, { actor: chief!, organisationOid: ip, invitee: uniqueSnils(), role: 'employee', now: clock.now() });
      expect(outcome.result).toBe('invited');
    }
    const snils = uniqueSnils();
    const limited = await post(ivanov, `/account/organisations/${ip}/invitations`, { invitee: snils, role: 'employee' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.html).toContain('Слишком много попыток');
    expect(limited.html).toContain(`value="${snils}"`);
    // Other organisations are not affected.
    expect((await post(ivanov, `/account/organisations/${romashka}/invitations`, { invitee: uniqueSnils(), role: 'employee' })).status).toBe(303);
  });
});
