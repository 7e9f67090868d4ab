import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createMockCivilRegistry, loadMockCivilRegistrySeed } from '../../src/family/mock-civil-registry.ts';
import {
  CHILD_CHECK_MAX_ATTEMPTS, childCheckRetryDelaySeconds, claimDueChildCheck, processDueChildChecks, type ChildCheckWorkerDeps,
} from '../../src/family/child-check.worker.ts';
import { finishChildCheck } from '../../src/family/children.service.ts';
import type { CivilRegistry } from '../../src/family/civil-registry.ts';
import { deleteAccount } from '../../src/sessions/account-deletion.service.ts';
import { snilsControl } from '../../src/shared/validators.ts';
import { fileURLToPath } from 'node:url';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { childCheckWorker, PARENT, signedInParent } from './family-support.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { csrfToken } from '../support/account.ts';

/**
 * «Дети»: a parent adds a child from the birth certificate, the ЗАГС check runs in the background
 * (driven here by hand, as the registry-check tests drive theirs), and the page says what came of it.
 */
describe('children: adding a child and the civil-registry check', () => {
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

  const ZAGS = 'Отдел ЗАГС Тверского района Управления ЗАГС Москвы';

  interface ChildData { lastName: string; firstName: string; middleName: string | null; birthDate: string; gender: 'M' | 'F'; snils: string | null; series: string; number: string; issueDate: string }
  let serial = 0;
  function newChild(overrides: Partial<ChildData> = {}): ChildData {
    const n = ++serial;
    return { lastName: 'Тестова', firstName: 'Анна', middleName: 'Тестовна', birthDate: '2018-05-06', gender: 'F', snils: null, series: 'III-МЮ', number: String(400_000 + n), issueDate: '2018-05-20', ...overrides };
  }

  async function addBirthRecord(child: ChildData, parents: Array<typeof PARENT> = [PARENT]): Promise<void> {
    await db.insertInto('mock_civil_registry_records').values({
      cert_series: child.series, cert_number: child.number, cert_issue_date: child.issueDate, cert_issued_by: ZAGS,
      last_name: child.lastName, first_name: child.firstName, middle_name: child.middleName, birth_date: child.birthDate, gender: child.gender, snils: child.snils,
      parents: JSON.stringify(parents),
    }).execute();
  }

  const ru = (iso: string) => iso.split('-').reverse().join('.');
  const formOf = (child: ChildData): Record<string, string> => ({
    last_name: child.lastName, first_name: child.firstName, middle_name: child.middleName ?? '', birth_date: ru(child.birthDate), gender: child.gender,
    cert_series: child.series, cert_number: child.number, cert_issue_date: ru(child.issueDate), cert_issued_by: ZAGS, snils: child.snils ?? '',
  });

  const parent = (level?: 'simplified' | 'standard' | 'confirmed') => signedInParent(idp, level);

  const url = (path: string) => `${idp.issuer}${path}`;
  async function submitChild(browser: BrowserSession, form: Record<string, string>, path = '/account/children/new'): Promise<Page> {
    const page = await browser.open(url(path));
    expect(page.status).toBe(200);
    return browser.submit(formAction(page, path), { _csrf: csrfToken(page), ...form });
  }
  /** The session's CSRF token, from a page that always has a form. */
  const anyCsrf = async (browser: BrowserSession) => csrfToken(await browser.open(url('/account/personal')));
  const childrenOf = (oid: string) => db.selectFrom('children').selectAll().where('parent_oid', '=', oid).orderBy('id').execute();
  const auditTypes = async (oid: string) => (await db.selectFrom('audit_events').select('type').where('citizen_oid', '=', oid).where('type', 'like', 'child.%').orderBy('id').execute()).map((e) => e.type);
  const fieldError = (page: Page, field: string) => page.html.match(new RegExp(`data-error-for="${field}">([^<]*)<`))?.[1];
  /** One record's part of the «Дети» list: from its item to the next record or the section's end. */
  function childItem(page: Page, id: string): string {
    const start = page.html.indexOf(`<li class="child" data-child-id="${id}"`);
    if (start < 0) return '';
    const next = page.html.indexOf('<li class="child"', start + 1);
    return page.html.slice(start, next > 0 ? next : page.html.indexOf('</section>', start));
  }

  /** Registry calls that fail while `failing()` says so (a scripted random source, no chance involved). */
  function flakyRegistry(failing: () => boolean): CivilRegistry {
    return createMockCivilRegistry({ db, latencyMs: 0, failureRate: 0.5, random: () => (failing() ? 0 : 1) });
  }

  // ─── the journey ─────────────────────────────────────────────────────────────────────────────────

  it('adds a child: «Проверяется» until the ЗАГС confirms, then the child under «Дети»', async () => {
    const { oid, browser } = await parent('confirmed');
    const snils = `345678901${String(snilsControl('345678901')).padStart(2, '0')}`;
    const child = newChild({ snils });
    await addBirthRecord(child);

    const list = await browser.open(url('/account/children'));
    expect(list.status).toBe(200);
    expect(list.html).toContain('aria-current="page">Дети<');
    expect(list.html).toContain('Вы ещё не добавили детей');
    expect(list.html).toContain('href="/account/children/new"');

    const sent = await submitChild(browser, { ...formOf(child), snils: `345-678-901 ${snils.slice(9)}` });
    expect(sent.status).toBe(200);
    expect(sent.url).toBe(url('/account/children?notice=added'));
    expect(sent.html).toContain('Данные ребёнка отправлены на проверку в ЗАГС.');
    const [row] = await childrenOf(oid);
    expect(row).toMatchObject({
      last_name: 'Тестова', first_name: 'Анна', middle_name: 'Тестовна', birth_date: '2018-05-06', gender: 'F', snils,
      cert_series: 'III-МЮ', cert_number: child.number, cert_issue_date: '2018-05-20', cert_issued_by: ZAGS, check_status: 'pending', child_oid: null, link_state: null,
    });
    expect(childItem(sent, row.id)).toContain('Проверяется');
    expect(childItem(sent, row.id)).toContain('Проверяем данные в ЗАГС');

    expect(await processDueChildChecks(worker)).toBe(1);
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'verified', attempts: 1, leased_until: null, checked_at: clock.now(), reason_code: null });
    expect(await auditTypes(oid)).toEqual(['child.added', 'child.verified']);

    const after = await browser.open(url('/account/children'));
    const item = childItem(after, row.id);
    expect(item).toContain('data-check-status="verified"');
    expect(item).toContain('Тестова Анна Тестовна');
    expect(item).toContain('06.05.2018');
    expect(item).toContain(`III-МЮ № ${child.number}, 20.05.2018, ${ZAGS}`);
    expect(item).toContain(`345-678-901 ${snils.slice(9)}`);
    expect(item).toContain('Собственной учётной записи у ребёнка нет: она доступна с 14 лет.');
    expect(item).not.toContain('Предложить объединение');
    expect(await processDueChildChecks(worker)).toBe(0);
  });

  it('forgives case and look-alike letters in the series and ё/е in names', async () => {
    const { oid, browser } = await parent();
    const child = newChild({ lastName: 'Семёнова', series: 'XII-АВ' });
    await addBirthRecord(child);
    const sent = await submitChild(browser, { ...formOf(child), last_name: 'семенова', cert_series: 'хii ab' });
    expect(sent.url).toContain('notice=added');
    expect((await childrenOf(oid))[0]).toMatchObject({ cert_series: 'XII-АВ', last_name: 'семенова' });
    await processDueChildChecks(worker);
    expect((await childrenOf(oid))[0].check_status).toBe('verified');
  });

  // ─── validation ──────────────────────────────────────────────────────────────────────────────────

  it('refuses invalid data with a message beside each field (400), keeping what was typed', async () => {
    const { oid, browser } = await parent();
    const typed = {
      last_name: 'Smith', first_name: '', middle_name: 'Тестовна', birth_date: '31.02.2020', gender: '',
      cert_series: 'IV-12', cert_number: '12345', cert_issue_date: '01.01.2030', cert_issued_by: '   ', snils: '112-233-445 96',
    };
    const page = await submitChild(browser, typed);
    expect(page.status).toBe(400);
    expect(fieldError(page, 'last_name')).toBe('Фамилия может содержать только русские буквы, пробел, дефис и апостроф');
    expect(fieldError(page, 'first_name')).toBe('Укажите имя ребёнка');
    expect(fieldError(page, 'birth_date')).toBe('Такой даты нет в календаре');
    expect(fieldError(page, 'gender')).toBe('Укажите пол ребёнка');
    expect(fieldError(page, 'cert_series')).toBe('Серия — римские цифры, дефис и две русские буквы, например IV-МЮ');
    expect(fieldError(page, 'cert_number')).toBe('Номер свидетельства — 6 цифр');
    expect(fieldError(page, 'cert_issue_date')).toBe('Дата выдачи не может быть в будущем');
    expect(fieldError(page, 'cert_issued_by')).toBe('Укажите, кем выдано свидетельство');
    expect(fieldError(page, 'snils')).toBe('Контрольное число СНИЛС не совпадает. Проверьте номер.');
    expect(fieldError(page, 'middle_name')).toBeUndefined();
    // Nothing lost: every typed value is back in its field.
    for (const [name, value] of Object.entries(typed)) {
      if (name !== 'gender' && value.trim()) expect(page.html).toContain(`name="${name}" type="text" value="${value}"`);
    }
    expect(await childrenOf(oid)).toEqual([]);
  });

  it.each([
    { case: 'an adult (18 today)', birth: '01.12.2008', issue: '10.12.2008', field: 'birth_date', text: 'Ребёнку уже исполнилось 18 лет: добавить можно только несовершеннолетнего' },
    { case: 'a birth date in the future', birth: '02.12.2026', issue: '01.12.2026', field: 'birth_date', text: 'Дата рождения должна быть в прошлом' },
    { case: 'a certificate issued before the birth', birth: '06.05.2018', issue: '05.05.2018', field: 'cert_issue_date', text: 'Свидетельство не может быть выдано раньше даты рождения' },
  ])('refuses $case', async ({ birth, issue, field, text }) => {
    const { oid, browser } = await parent();
    const page = await submitChild(browser, { ...formOf(newChild()), birth_date: birth, cert_issue_date: issue });
    expect(page.status).toBe(400);
    expect(fieldError(page, field)).toBe(text);
    expect(await childrenOf(oid)).toEqual([]);
  });

  it('accepts a child one day short of 18', async () => {
    const { oid, browser } = await parent();
    const child = newChild({ birthDate: '2008-12-02', issueDate: '2008-12-10' });
    expect((await submitChild(browser, formOf(child))).url).toContain('notice=added');
    expect(await childrenOf(oid)).toHaveLength(1);
  });

  it('explains to a simplified account why it cannot add children and how to rise', async () => {
    const { oid, browser } = await parent('simplified');
    const list = await browser.open(url('/account/children'));
    expect(list.html).toContain('Добавлять детей можно со стандартной или подтверждённой учётной записью.');
    expect(list.html).not.toContain('href="/account/children/new"');

    const form = await browser.open(url('/account/children/new'));
    expect(form.status).toBe(403);
    expect(form.html).toContain('Нужна стандартная или подтверждённая учётная запись');
    expect(form.html).toContain('Уровень вашей учётной записи: «Упрощённая».');
    expect(form.html).toContain('href="/account/verification"');
    expect(form.html).not.toContain('name="cert_series"');

    const posted = await browser.submit(url('/account/children/new'), { _csrf: await anyCsrf(browser), ...formOf(newChild()) });
    expect(posted.status).toBe(403);
    expect(await childrenOf(oid)).toEqual([]);
  });

  it('refuses the same certificate twice for one parent, but lets the other parent add it', async () => {
    const first = await parent();
    const child = newChild();
    expect((await submitChild(first.browser, formOf(child))).url).toContain('notice=added');
    const again = await submitChild(first.browser, { ...formOf(child), first_name: 'Ольга' });
    expect(again.status).toBe(409);
    expect(fieldError(again, 'cert_number')).toBe('Ребёнок с этим свидетельством уже есть в разделе «Дети»');
    expect(again.html).toContain('value="Ольга"');
    expect(await childrenOf(first.oid)).toHaveLength(1);

    const other = await parent();
    expect((await submitChild(other.browser, formOf(child))).url).toContain('notice=added');
    expect(await childrenOf(other.oid)).toHaveLength(1);
  });

  it('needs the CSRF token', async () => {
    const { oid, browser } = await parent();
    const refused = await browser.submit(url('/account/children/new'), formOf(newChild()));
    expect(refused.status).toBe(403);
    expect(await childrenOf(oid)).toEqual([]);
  });

  // ─── the registry says no ────────────────────────────────────────────────────────────────────────

  it('says «Данные не найдены» and what to check when the ЗАГС has no such certificate', async () => {
    const { oid, browser } = await parent();
    const child = newChild();
    await submitChild(browser, formOf(child));
    await processDueChildChecks(worker);

    const [row] = await childrenOf(oid);
    expect(row).toMatchObject({ check_status: 'not_found', reason_code: 'certificate_not_found', mismatched_fields: null });
    expect(await auditTypes(oid)).toEqual(['child.added', 'child.not_found']);
    const item = childItem(await browser.open(url('/account/children')), row.id);
    expect(item).toContain('Данные не найдены: в ЗАГС нет свидетельства с такими серией и номером, где вы указаны родителем.');
    expect(item).toContain('Сверьте со свидетельством о рождении:');
    expect(item).toContain('Серия свидетельства');
    expect(item).toContain('Номер свидетельства');
    expect(item).toContain('Ваши ФИО и дата рождения в разделе «Личные данные»');
    expect(item).toContain(`href="/account/children/${row.id}/edit">Исправить данные`);
  });

  it('gives the same answer when the certificate exists but names other parents — nothing about someone else’s child', async () => {
    const { oid } = await parent();
    const child = newChild();
    await addBirthRecord(child, [{ ...PARENT, firstName: 'Другой' }]);
    const stranger = await parent();
    await submitChild(stranger.browser, formOf(child));
    await processDueChildChecks(worker);
    expect((await childrenOf(stranger.oid))[0]).toMatchObject({ check_status: 'not_found', reason_code: 'certificate_not_found', mismatched_fields: null });
    expect(await childrenOf(oid)).toEqual([]);
  });

  it('names the fields that differ from the birth record, then verifies the corrected data', async () => {
    const { oid, browser } = await parent();
    const child = newChild({ snils: null });
    await addBirthRecord(child);
    await submitChild(browser, { ...formOf(child), first_name: 'Алла', birth_date: '07.05.2018', gender: 'M', snils: '112-233-445 95' });
    await processDueChildChecks(worker);

    const [row] = await childrenOf(oid);
    expect(row).toMatchObject({ check_status: 'not_found', reason_code: 'data_mismatch', mismatched_fields: ['first_name', 'birth_date', 'gender', 'snils'] });
    const list = await browser.open(url('/account/children'));
    const item = childItem(list, row.id);
    expect(item).toContain('Данные не найдены: данные ребёнка не совпадают с записью ЗАГС о рождении.');
    expect([...item.matchAll(/data-field="family\.field\.(\w+)"/g)].map((m) => m[1])).toEqual(['first_name', 'birth_date', 'gender', 'snils']);

    // The correction form comes filled in with what was sent; the corrected data go back to the registry.
    const edit = await browser.open(url(`/account/children/${row.id}/edit`));
    expect(edit.html).toContain('Исправить данные ребёнка');
    expect(edit.html).toContain('name="first_name" type="text" value="Алла"');
    expect(edit.html).toContain('name="snils" type="text" value="112-233-445 95"');
    const invalid = await browser.submit(formAction(edit, `/account/children/${row.id}/edit`), { _csrf: csrfToken(edit), ...formOf(child), cert_number: 'abc' });
    expect(invalid.status).toBe(400);
    expect(fieldError(invalid, 'cert_number')).toBe('Номер свидетельства — 6 цифр');
    const resent = await browser.submit(formAction(edit, `/account/children/${row.id}/edit`), { _csrf: csrfToken(edit), ...formOf(child) });
    expect(resent.url).toContain('notice=resubmitted');
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'pending', check_revision: 2, attempts: 0, reason_code: null, mismatched_fields: null, first_name: 'Анна', snils: null });

    await processDueChildChecks(worker);
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'verified', attempts: 1 });
    expect(await auditTypes(oid)).toEqual(['child.added', 'child.not_found', 'child.resubmitted', 'child.verified']);

    // A verified record is not corrected by hand.
    const refused = await browser.open(url(`/account/children/${row.id}/edit`));
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('Эти данные уже проверяются или проверены — их нельзя изменить.');
    const posted = await browser.submit(url(`/account/children/${row.id}/edit`), { _csrf: await anyCsrf(browser), ...formOf(child), first_name: 'Алла' });
    expect(posted.status).toBe(409);
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'verified', first_name: 'Анна' });
  });

  it('does not let one parent see or correct another parent’s record', async () => {
    const owner = await parent();
    await submitChild(owner.browser, formOf(newChild()));
    await processDueChildChecks(worker);
    const [row] = await childrenOf(owner.oid);
    const other = await parent();
    const list = await other.browser.open(url('/account/children'));
    expect(list.html).not.toContain(`data-child-id="${row.id}"`);
    expect((await other.browser.open(url(`/account/children/${row.id}/edit`))).status).toBe(404);
    expect((await other.browser.submit(url(`/account/children/${row.id}/remove`), { _csrf: await anyCsrf(other.browser) })).status).toBe(404);
    expect(await childrenOf(owner.oid)).toHaveLength(1);
  });

  // ─── the registry does not answer ────────────────────────────────────────────────────────────────

  it('retries a registry that times out, after a pause, then verifies', async () => {
    const { oid, browser } = await parent();
    const child = newChild();
    await addBirthRecord(child);
    await submitChild(browser, formOf(child));

    let outage = true;
    const registry = flakyRegistry(() => outage);
    expect(await processDueChildChecks({ ...worker, registry })).toBe(1);
    const [afterFailure] = await childrenOf(oid);
    expect(afterFailure).toMatchObject({ check_status: 'pending', attempts: 1, leased_until: null, last_error: 'ЗАГС: registry timeout' });
    expect(afterFailure.next_attempt_at).toEqual(new Date(clock.now().getTime() + childCheckRetryDelaySeconds(1) * 1000));
    expect(childItem(await browser.open(url('/account/children')), afterFailure.id)).toContain('Проверяется');

    outage = false;
    expect(await processDueChildChecks({ ...worker, registry })).toBe(0); // not due yet
    clock.advance(childCheckRetryDelaySeconds(1));
    expect(await processDueChildChecks({ ...worker, registry })).toBe(1);
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'verified', attempts: 2 });
  });

  it(`gives up after ${CHILD_CHECK_MAX_ATTEMPTS} attempts; the parent sees it and sends the data again`, async () => {
    const { oid, browser } = await parent();
    const child = newChild();
    await addBirthRecord(child);
    await submitChild(browser, formOf(child));

    const down = flakyRegistry(() => true);
    for (let attempt = 1; attempt <= CHILD_CHECK_MAX_ATTEMPTS; attempt++) {
      expect(await processDueChildChecks({ ...worker, registry: down })).toBe(1);
      const [row] = await childrenOf(oid);
      expect(row.attempts).toBe(attempt);
      expect(row.check_status).toBe(attempt < CHILD_CHECK_MAX_ATTEMPTS ? 'pending' : 'failed');
      clock.advance(childCheckRetryDelaySeconds(attempt));
    }
    const [failed] = await childrenOf(oid);
    expect(failed).toMatchObject({ check_status: 'failed', reason_code: 'registry_unavailable' });
    expect(await auditTypes(oid)).toEqual(['child.added', 'child.check_failed']);
    const item = childItem(await browser.open(url('/account/children')), failed.id);
    expect(item).toContain('ЗАГС не ответил на запрос. Отправьте данные на проверку ещё раз позже.');
    expect(item).toContain('Отправить на проверку ещё раз');

    const edit = await browser.open(url(`/account/children/${failed.id}/edit`));
    expect((await browser.submit(formAction(edit, `/account/children/${failed.id}/edit`), { _csrf: csrfToken(edit), ...formOf(child) })).url).toContain('notice=resubmitted');
    await processDueChildChecks(worker);
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'verified', attempts: 1, check_revision: 2 });
  });

  it('finishes a check exactly once when a worker outlives its lease', async () => {
    const { oid, browser } = await parent();
    const child = newChild();
    await addBirthRecord(child);
    await submitChild(browser, formOf(child));

    const first = await claimDueChildCheck(db, clock.now());
    expect(first).toMatchObject({ parent_oid: oid, attempts: 1 });
    expect(await claimDueChildCheck(db, clock.now())).toBeUndefined(); // leased
    clock.advance(61);
    const second = await claimDueChildCheck(db, clock.now());
    expect(second).toMatchObject({ id: first!.id, attempts: 2 });

    // The first worker wakes up with a (stale, wrong) verdict: nothing changes.
    expect(await finishChildCheck(db, first!, { ok: false, reason: 'certificate_not_found' }, clock.now())).toBe('stale');
    expect((await childrenOf(oid))[0]).toMatchObject({ check_status: 'pending', reason_code: null });
    expect(await finishChildCheck(db, second!, { ok: true }, clock.now())).toBe('verified');
    expect(await finishChildCheck(db, second!, { ok: true }, clock.now())).toBe('stale');
    expect(await auditTypes(oid)).toEqual(['child.added', 'child.verified']);
  });

  it('leaves a record removed while it was being checked removed', async () => {
    const { oid, browser } = await parent();
    await submitChild(browser, formOf(newChild()));
    const claimed = await claimDueChildCheck(db, clock.now());
    expect(claimed?.parent_oid).toBe(oid);

    const confirm = await browser.open(url(`/account/children/${claimed!.id}/remove`));
    expect(confirm.html).toContain('Удалить «Тестова Анна Тестовна» из раздела «Дети»?');
    const removed = await browser.submit(formAction(confirm, `/account/children/${claimed!.id}/remove`), { _csrf: csrfToken(confirm) });
    expect(removed.url).toContain('notice=removed');
    expect(removed.html).toContain('Ребёнок удалён из раздела «Дети».');
    expect(await finishChildCheck(db, claimed!, { ok: true }, clock.now())).toBe('stale');
    expect(await childrenOf(oid)).toEqual([]);
    expect(await auditTypes(oid)).toEqual(['child.added', 'child.removed']);
  });

  // ─── the demo data and account deletion ──────────────────────────────────────────────────────────

  it('loads the demo birth records, refusing a malformed file as a whole', async () => {
    const file = fileURLToPath(new URL('../../config/mock-civil-registry.json', import.meta.url));
    expect(await loadMockCivilRegistrySeed(db, file)).toBe(3);
    expect(await loadMockCivilRegistrySeed(db, file)).toBe(3); // upserted, not doubled
    const maria = await db.selectFrom('mock_civil_registry_records').selectAll().where('cert_series', '=', 'IV-МЮ').where('cert_number', '=', '612345').executeTakeFirstOrThrow();
    expect(maria).toMatchObject({ last_name: 'Иванова', first_name: 'Мария', birth_date: '2015-04-12', gender: 'F' });
    expect(maria.parents).toContainEqual({ lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', birthDate: '1980-01-15' });
  });

  it('erases a deleted parent’s children records with the account', async () => {
    const { oid, browser } = await parent();
    await submitChild(browser, formOf(newChild()));
    await submitChild(browser, formOf(newChild()));
    expect(await childrenOf(oid)).toHaveLength(2);
    expect(await deleteAccount(idp.runtime.provider, db, { oid })).toMatchObject({ result: 'deleted' });
    expect(await childrenOf(oid)).toEqual([]);
  });
});
