import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import { snilsControl } from '../../src/shared/validators.ts';
import { processDueChildChecks, type ChildCheckWorkerDeps } from '../../src/family/child-check.worker.ts';
import { answerLinkRequest } from '../../src/family/children.service.ts';
import { seedDemoFamily, DEMO_CHILD_ACCOUNT } from '../../src/family/demo-family.ts';
import { deleteAccount } from '../../src/sessions/account-deletion.service.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { childCheckWorker, PARENT, signedIn, signedInParent } from './family-support.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { csrfToken } from '../support/account.ts';

/**
 * A child of 14 or older has an own account: after the ЗАГС confirms the parent's record, the link
 * between the accounts waits for the child's consent in the child's own account
 * (pending_child_consent → linked | declined; linked → unlinked by the parent after a confirmation).
 */
describe('children: linking a 14+ child’s own account', () => {
  const clock = createTestClock(new Date('2026-12-01T09:00:00Z'));
  let idp: TestIdp;
  let db: Db;
  let worker: ChildCheckWorkerDeps;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
    worker = childCheckWorker(db, clock);
  });
  afterAll(() => idp?.close());

  // ─── fixtures ────────────────────────────────────────────────────────────────────────────────────

  const url = (path: string) => `${idp.issuer}${path}`;
  let serial = 0;
  const nextSnils = () => {
    const body = String(500_000_000 + ++serial);
    return body + String(snilsControl(body)).padStart(2, '0');
  };

  interface Kid { firstName: string; birthDate: string; snils: string | null; number: string }
  /** A 15-year-old on the test clock (2026-12-01), unless told otherwise. */
  // Each child a first name of their own: accounts are matched by name and birth date too.
  const NAMES = ['Пётр', 'Павел', 'Михаил', 'Сергей', 'Олег', 'Антон', 'Глеб', 'Денис', 'Егор', 'Кирилл', 'Лев', 'Марк', 'Никита', 'Роман', 'Степан', 'Тимур', 'Фёдор', 'Юрий'];
  let kids = 0;
  const newKid = (overrides: Partial<Kid> = {}): Kid => ({ firstName: NAMES[kids++], birthDate: '2011-02-03', snils: nextSnils(), number: String(600_000 + ++serial), ...overrides });

  const parentWithBrowser = () => signedInParent(idp);

  /** The child's own account: their name and birth date, at a level, with or without a SNILS. */
  async function kidAccount(kid: Kid, options: { level?: 'simplified' | 'standard' | 'confirmed'; snils?: string | null } = {}) {
    const citizen = await idp.makeCitizen({ lastName: 'Тестов', firstName: kid.firstName, middleName: 'Тестович', trustLevel: options.level ?? 'standard' });
    const snils = options.snils === undefined ? kid.snils : options.snils;
    await db.updateTable('citizens').set({ birth_date: kid.birthDate, snils }).where('oid', '=', citizen.oid).execute();
    return { ...citizen, browser: await signedIn(idp, citizen) };
  }

  /** The parent adds the child through the page; the ЗАГС knows the record; the worker runs. */
  async function addAndVerify(parent: { browser: BrowserSession }, kid: Kid, options: { typedSnils?: string | null } = {}) {
    const typedSnils = options.typedSnils === undefined ? kid.snils : options.typedSnils;
    await db.insertInto('mock_civil_registry_records').values({
      cert_series: 'V-МЮ', cert_number: kid.number, cert_issue_date: kid.birthDate, cert_issued_by: 'ЗАГС',
      last_name: 'Тестов', first_name: kid.firstName, middle_name: 'Тестович', birth_date: kid.birthDate, gender: 'M', snils: kid.snils, parents: JSON.stringify([PARENT]),
    }).execute();
    const form = await parent.browser.open(url('/account/children/new'));
    const ru = kid.birthDate.split('-').reverse().join('.');
    const sent = await parent.browser.submit(formAction(form, '/account/children/new'), {
      _csrf: csrfToken(form), last_name: 'Тестов', first_name: kid.firstName, middle_name: 'Тестович', birth_date: ru, gender: 'M',
      cert_series: 'V-МЮ', cert_number: kid.number, cert_issue_date: ru, cert_issued_by: 'ЗАГС', snils: typedSnils ?? '',
    });
    expect(sent.url).toContain('notice=added');
    await processDueChildChecks(worker);
    return db.selectFrom('children').selectAll().where('cert_number', '=', kid.number).executeTakeFirstOrThrow();
  }

  const record = (id: string) => db.selectFrom('children').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const list = (browser: BrowserSession) => browser.open(url('/account/children'));
  const post = async (browser: BrowserSession, path: string) => browser.submit(url(path), { _csrf: csrfToken(await browser.open(url('/account/personal'))) });
  const parentItem = (page: Page, id: string) => page.html.match(new RegExp(`<li class="parent-link" data-child-id="${id}"[\\s\\S]*?</li>`))?.[0] ?? '';
  const linkAudit = async (id: string) =>
    (await db.selectFrom('audit_events').select(['type', 'citizen_oid']).where('type', 'like', 'child.link%').where(sql<string>`details->>'childId'`, '=', id).orderBy('id').execute());

  // ─── consent ─────────────────────────────────────────────────────────────────────────────────────

  it('asks the child, who allows the link in their own account; both then see it', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid();
    const child = await kidAccount(kid);
    const row = await addAndVerify(parent, kid);
    expect(row).toMatchObject({ check_status: 'verified', child_oid: child.oid, link_state: 'pending_child_consent', link_changed_at: clock.now() });

    const parentPage = await list(parent.browser);
    expect(parentPage.html).toContain('Ждём согласия ребёнка: объединение нужно разрешить в его учётной записи');
    expect(parentPage.html).not.toContain('Отменить объединение');

    const childPage = await list(child.browser);
    const request = parentItem(childPage, row.id);
    expect(request).toContain('data-link-state="pending_child_consent"');
    expect(request).toContain('Тестов Тест Тестович указывает вас своим ребёнком и просит объединить ваши учётные записи.');
    expect(request).toContain('Разрешить объединение с родительским аккаунтом');
    expect(request).toContain('Отклонить');

    const accepted = await child.browser.submit(formAction(childPage, `/account/children/requests/${row.id}/accept`), { _csrf: csrfToken(childPage) });
    expect(accepted.url).toContain('notice=link_accepted');
    expect(accepted.html).toContain('Учётные записи объединены.');
    expect(parentItem(accepted, row.id)).toContain('Ваша учётная запись объединена с учётной записью родителя: Тестов Тест Тестович (с 01.12.2026).');
    expect(parentItem(accepted, row.id)).toContain('Отменить объединение может родитель');
    expect(await record(row.id)).toMatchObject({ link_state: 'linked', child_oid: child.oid });
    expect((await list(parent.browser)).html).toContain('Объединено с учётной записью ребёнка.');
    expect(await linkAudit(row.id)).toEqual([
      { type: 'child.link_requested', citizen_oid: parent.oid },
      { type: 'child.link_accepted', citizen_oid: child.oid },
    ]);

    // Accepting twice (a second tab) and declining after accepting are refused without change.
    const twice = await post(child.browser, `/account/children/requests/${row.id}/accept`);
    expect(twice.status).toBe(409);
    expect(twice.html).toContain('Этот запрос на объединение уже не ждёт ответа.');
    expect((await post(child.browser, `/account/children/requests/${row.id}/decline`)).status).toBe(409);
    expect(await record(row.id)).toMatchObject({ link_state: 'linked' });
    expect(await linkAudit(row.id)).toHaveLength(2);
  });

  it('lets the child decline; the parent sees it and may ask again, which the child may now allow', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid();
    const child = await kidAccount(kid);
    const row = await addAndVerify(parent, kid);

    const declined = await post(child.browser, `/account/children/requests/${row.id}/decline`);
    expect(declined.url).toContain('notice=link_declined');
    expect(declined.html).toContain('Вы отклонили объединение.');
    expect(declined.html).not.toContain('data-link-state="pending_child_consent"');
    expect(await record(row.id)).toMatchObject({ link_state: 'declined', child_oid: child.oid });
    expect((await post(child.browser, `/account/children/requests/${row.id}/accept`)).status).toBe(409);
    expect(await record(row.id)).toMatchObject({ link_state: 'declined' });

    const parentPage = await list(parent.browser);
    expect(parentPage.html).toContain('Ребёнок отклонил объединение с вашей учётной записью.');
    const again = await parent.browser.submit(formAction(parentPage, `/account/children/${row.id}/link`), { _csrf: csrfToken(parentPage) });
    expect(again.url).toContain('notice=link_requested');
    expect(await record(row.id)).toMatchObject({ link_state: 'pending_child_consent' });
    // Asking while a request is pending is refused.
    expect((await post(parent.browser, `/account/children/${row.id}/link`)).status).toBe(409);

    expect((await post(child.browser, `/account/children/requests/${row.id}/accept`)).url).toContain('notice=link_accepted');
    expect(await record(row.id)).toMatchObject({ link_state: 'linked' });
  });

  it('lets only the parent unlink, after a confirmation page; the record stays', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid();
    const child = await kidAccount(kid);
    const row = await addAndVerify(parent, kid);
    await answerLinkRequest(db, { childOid: child.oid, childId: row.id, accept: true, now: clock.now() });

    // The child has no unlink action; posting one is not theirs to make.
    const childPage = await list(child.browser);
    expect(childPage.html).not.toContain(`/account/children/${row.id}/unlink`);
    expect((await post(child.browser, `/account/children/${row.id}/unlink`)).status).toBe(404);
    expect((await child.browser.open(url(`/account/children/${row.id}/unlink`))).status).toBe(404);
    // Nor may a linked record be removed before unlinking.
    expect((await post(parent.browser, `/account/children/${row.id}/remove`)).status).toBe(409);
    expect(await record(row.id)).toMatchObject({ link_state: 'linked' });

    const confirm = await parent.browser.open(url(`/account/children/${row.id}/unlink`));
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain(`Отменить объединение с учётной записью «Тестов ${kid.firstName} Тестович»?`);
    expect(await record(row.id)).toMatchObject({ link_state: 'linked' });
    const unlinked = await parent.browser.submit(formAction(confirm, `/account/children/${row.id}/unlink`), { _csrf: csrfToken(confirm) });
    expect(unlinked.url).toContain('notice=unlinked');
    expect(unlinked.html).toContain('Объединение с учётной записью ребёнка отменено.');
    expect(await record(row.id)).toMatchObject({ link_state: 'unlinked', check_status: 'verified', child_oid: child.oid });
    expect((await list(child.browser)).html).not.toContain(`data-child-id="${row.id}"`);

    // Unlinking twice is refused; the confirmation page is not offered for an unlinked record.
    expect((await post(parent.browser, `/account/children/${row.id}/unlink`)).status).toBe(409);
    expect((await parent.browser.open(url(`/account/children/${row.id}/unlink`))).status).toBe(409);
    expect(await linkAudit(row.id)).toEqual([
      { type: 'child.link_requested', citizen_oid: parent.oid },
      { type: 'child.link_accepted', citizen_oid: child.oid },
    ]);
    const unlinkedAudit = await db.selectFrom('audit_events').select('type').where('citizen_oid', '=', parent.oid).where('type', '=', 'child.unlinked').execute();
    expect(unlinkedAudit).toHaveLength(1);
  });

  it('lets neither a stranger nor the parent answer the child’s request', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid();
    await kidAccount(kid);
    const row = await addAndVerify(parent, kid);
    const stranger = await parentWithBrowser();
    expect((await post(stranger.browser, `/account/children/requests/${row.id}/accept`)).status).toBe(404);
    expect((await post(parent.browser, `/account/children/requests/${row.id}/accept`)).status).toBe(404);
    expect((await post(parent.browser, `/account/children/requests/not-a-number/accept`)).status).toBe(404);
    expect(await record(row.id)).toMatchObject({ link_state: 'pending_child_consent' });
  });

  // ─── finding the account ─────────────────────────────────────────────────────────────────────────

  it('matches by name and birth date when no SNILS was given', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid({ snils: null });
    const child = await kidAccount(kid, { snils: nextSnils() });
    const row = await addAndVerify(parent, kid, { typedSnils: null });
    expect(row).toMatchObject({ child_oid: child.oid, link_state: 'pending_child_consent' });
  });

  it('never guesses: no link to a simplified account, to an account with another SNILS, or when two accounts fit', async () => {
    const parent = await parentWithBrowser();

    const unverified = newKid();
    await kidAccount(unverified, { level: 'simplified' });
    expect(await addAndVerify(parent, unverified)).toMatchObject({ check_status: 'verified', child_oid: null, link_state: null });

    const otherSnils = newKid();
    await kidAccount(otherSnils, { snils: nextSnils() });
    expect(await addAndVerify(parent, otherSnils)).toMatchObject({ child_oid: null, link_state: null });

    const twins = newKid({ firstName: 'Близнец', snils: null });
    await kidAccount(twins, { snils: null });
    await kidAccount(twins, { snils: null });
    expect(await addAndVerify(parent, twins, { typedSnils: null })).toMatchObject({ child_oid: null, link_state: null });
  });

  it('offers the link later, once the child has an account; refuses it for a child under 14', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid();
    const row = await addAndVerify(parent, kid);
    expect(row).toMatchObject({ child_oid: null, link_state: null });
    let page = await list(parent.browser);
    expect(page.html).toContain('Учётная запись ребёнка не найдена.');
    const none = await parent.browser.submit(formAction(page, `/account/children/${row.id}/link`), { _csrf: csrfToken(page) });
    expect(none.url).toContain('notice=no_account');
    expect(none.html).toContain('Стандартная или подтверждённая учётная запись ребёнка с такими данными не найдена.');

    const child = await kidAccount(kid);
    page = await list(parent.browser);
    expect((await parent.browser.submit(formAction(page, `/account/children/${row.id}/link`), { _csrf: csrfToken(page) })).url).toContain('notice=link_requested');
    expect(await record(row.id)).toMatchObject({ child_oid: child.oid, link_state: 'pending_child_consent' });

    // A 13-year-old has no account of their own: no link offered, and a forged request is refused.
    const young = newKid({ birthDate: '2012-12-02' });
    const youngRow = await addAndVerify(parent, young);
    expect(youngRow).toMatchObject({ check_status: 'verified', link_state: null });
    expect((await list(parent.browser)).html).not.toContain(`/account/children/${youngRow.id}/link`);
    const refused = await post(parent.browser, `/account/children/${youngRow.id}/link`);
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('Собственная учётная запись у ребёнка бывает с 14 лет.');
  });

  // ─── account deletion ────────────────────────────────────────────────────────────────────────────

  it('keeps the parent’s record without the link when the child deletes their account', async () => {
    const parent = await parentWithBrowser();
    const kid = newKid();
    const child = await kidAccount(kid);
    const row = await addAndVerify(parent, kid);
    await answerLinkRequest(db, { childOid: child.oid, childId: row.id, accept: true, now: clock.now() });

    expect(await deleteAccount(idp.runtime.provider, db, { oid: child.oid })).toMatchObject({ result: 'deleted' });
    expect(await record(row.id)).toMatchObject({ check_status: 'verified', child_oid: null, link_state: null, link_changed_at: null, first_name: kid.firstName });
    expect((await list(parent.browser)).html).toContain('Учётная запись ребёнка не найдена.');

    // The parent's deletion takes the record with it.
    expect(await deleteAccount(idp.runtime.provider, db, { oid: parent.oid })).toMatchObject({ result: 'deleted' });
    expect(await db.selectFrom('children').select('id').where('id', '=', row.id).execute()).toEqual([]);
  });

  // ─── the demo ────────────────────────────────────────────────────────────────────────────────────

  it('seeds the demo family once: Мария (record only) and Пётр awaiting his consent', async () => {
    const ivanov = await idp.makeCitizen({ lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', phone: '79990000001', trustLevel: 'confirmed' });
    await seedDemoFamily(db, idp.runtime.hasher, { parentPhone: '79990000001' });
    await seedDemoFamily(db, idp.runtime.hasher, { parentPhone: '79990000001' });
    const rows = await db.selectFrom('children').selectAll().where('parent_oid', '=', ivanov.oid).orderBy('birth_date').execute();
    expect(rows.map((r) => [r.first_name, r.birth_date, r.check_status, r.link_state])).toEqual([
      ['Пётр', '2011-02-03', 'verified', 'pending_child_consent'],
      ['Мария', '2015-04-12', 'verified', null],
    ]);
    const petr = await db.selectFrom('citizens').selectAll().where('oid', '=', rows[0].child_oid!).executeTakeFirstOrThrow();
    expect(petr).toMatchObject({ last_name: 'Иванов', first_name: 'Пётр', trust_level: 'standard', birth_date: '2011-02-03', snils: DEMO_CHILD_ACCOUNT.snils });
    const page = await list(await signedIn(idp, { login: `+${DEMO_CHILD_ACCOUNT.phone}`, password: DEMO_CHILD_ACCOUNT.password }));
    expect(page.html).toContain('Иванов Иван Иванович указывает вас своим ребёнком');
  });
});
