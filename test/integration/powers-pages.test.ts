import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { giveIdentity, uniqueSnils } from '../support/identity.ts';
import { BrowserSession, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import type { Db } from '../../src/db/database.ts';
import { addYears, calendarDate, formatDateRu, formatSnils } from '../../src/shared/validators.ts';
import { addDays } from '../../src/powers/power-form.ts';

describe('«Доверенности» pages (/account/powers)', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let db: Db;

  beforeAll(async () => {
    // Long sessions: one test moves our clock past a power's end with the citizens still signed in.
    idp = await startTestIdp({ clock, env: { SESSION_TTL: String(30 * 24 * 3600), SESSION_IDLE_TTL: String(30 * 24 * 3600) } });
    db = idp.runtime.database.db;
  });
  afterAll(async () => idp?.close());
  beforeEach(() => clock.set(new Date()));

  const url = (path: string) => `${idp.issuer}${path}`;
  const today = () => calendarDate(clock.now());
  let n = 0;
  const lastNames = ['Доверителева', 'Представителев', 'Посторонняя', 'Руководителев', 'Сотрудникова'];

  async function verifiedCitizen() {
    const lastName = `${lastNames[n % lastNames.length]}${'а'.repeat(Math.floor(n / lastNames.length))}`;
    n++;
    const citizen = await idp.makeCitizen({ lastName });
    const snils = uniqueSnils();
    await giveIdentity(db, citizen.oid, { verifiedAs: 'standard', snils });
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return { ...citizen, snils, lastName, browser };
  }

  type Signed = Awaited<ReturnType<typeof verifiedCitizen>>;

  /** Posts a form of the page the browser is on (its CSRF token included). */
  async function post(who: Signed, from: Page, path: string, fields: Record<string, string> = {}): Promise<Page> {
    return who.browser.submit(url(path), { _csrf: csrfToken(from), ...fields });
  }

  function createFields(representativeSnils: string, extra: Record<string, string> = {}) {
    return { principal: 'self', representative_snils: representativeSnils, 'right-view': 'on', valid_from: formatDateRu(today()), valid_to: formatDateRu(addDays(addYears(today(), 1), -1)), ...extra };
  }

  async function createDraft(principal: Signed, representativeSnils: string, extra: Record<string, string> = {}): Promise<{ id: string; page: Page }> {
    const formPage = await principal.browser.open(url('/account/powers/new'));
    const page = await post(principal, formPage, '/account/powers', createFields(representativeSnils, extra));
    const id = new URL(page.url).pathname.match(/\/account\/powers\/(\d+)$/)?.[1];
    if (!id) throw new Error(`no draft created: ${page.status} ${page.url}`);
    return { id, page };
  }

  const text = (page: Page) => page.html.replace(/<[^>]+>/g, ' ').replace(/&laquo;/g, '«').replace(/&raquo;/g, '»').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/\s+/g, ' ');

  it('re-shows the form with every mistake beside its field (400), keeping what was typed', async () => {
    const principal = await verifiedCitizen();
    const formPage = await principal.browser.open(url('/account/powers/new'));
    expect(formPage.status).toBe(200);
    expect(formPage.html).toContain(`value="${formatDateRu(today())}"`);
    const page = await post(principal, formPage, '/account/powers', { principal: 'self', representative_snils: '112-233-445 96', valid_from: '31.02.2026', valid_to: 'потом', clients: 'no-such-client' });
    expect(page.status).toBe(400);
    const body = text(page);
    expect(body).toContain('Проверьте СНИЛС: контрольное число не совпадает');
    expect(body).toContain('Выберите хотя бы одно право');
    expect(body).toContain('Такого сервиса нет — выберите сервисы из списка');
    expect(body).toContain('Такой даты не бывает');
    expect(body).toContain('Введите дату в формате ДД.ММ.ГГГГ');
    expect(page.html).toContain('value="112-233-445 96"');
    expect(page.html).toContain('value="потом"');
    expect(page.html).toMatch(/id="representative_snils"[^>]*aria-invalid="true"/);

    const stranger = await post(principal, formPage, '/account/powers', createFields(uniqueSnils(), { 'right-apply': 'on' }));
    expect(stranger.status).toBe(400);
    expect(text(stranger)).toContain('Представитель с таким СНИЛС не найден');
    expect(stranger.html).toMatch(/name="right-apply" value="on" checked/);
    const self = await post(principal, formPage, '/account/powers', createFields(formatSnils(principal.snils)));
    expect(text(self)).toContain('Нельзя выдать доверенность самому себе');
    expect(await db.selectFrom('powers_of_attorney').select('id').execute()).toEqual([]);
  });

  it('walks a power from draft to signed to revoked, for both sides', async () => {
    const [principal, representative, stranger] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
    const { id, page: draftPage } = await createDraft(principal, formatSnils(representative.snils));
    expect(draftPage.status).toBe(200);
    expect(text(draftPage)).toContain('Черновик сохранён');
    expect(draftPage.html).toContain('data-state="draft"');
    expect(text(draftPage)).toContain('Подписать и выдать');
    // A draft is the principal's alone.
    expect((await representative.browser.open(url(`/account/powers/${id}`))).status).toBe(404);
    expect(text(await representative.browser.open(url('/account/powers')))).toContain('Вам пока не выдавали доверенностей');

    const signed = await post(principal, draftPage, `/account/powers/${id}/activate`);
    expect(signed.status).toBe(200);
    expect(signed.url).toContain(`/account/powers/${id}?done=activated`);
    expect(signed.html).toContain('data-state="active"');
    expect(text(signed)).toContain(`Представитель ${representative.lastName} Тест Тестович`);
    expect(text(signed)).toContain('Просмотр данных');
    expect(text(signed)).toContain('Все сервисы');

    const granted = await principal.browser.open(url('/account/powers'));
    expect(granted.html).toMatch(new RegExp(`id="granted"[\\s\\S]*data-power="${id}" data-state="active"[\\s\\S]*id="received"`));
    const received = await representative.browser.open(url('/account/powers'));
    expect(received.html).toMatch(new RegExp(`id="received"[\\s\\S]*data-power="${id}" data-state="active"`));
    expect(text(received)).toContain(`от ${principal.lastName} Тест Тестович`);
    const held = await representative.browser.open(url(`/account/powers/${id}`));
    expect(text(held)).toContain('Отказаться от доверенности');

    // Someone on neither side learns nothing, not even that it exists.
    expect((await stranger.browser.open(url(`/account/powers/${id}`))).status).toBe(404);
    const strangerForm = await stranger.browser.open(url('/account/powers/new'));
    expect((await post(stranger, strangerForm, `/account/powers/${id}/revoke`, { reason: 'хочу' })).status).toBe(404);
    expect((await stranger.browser.open(url('/account/powers/abc'))).status).toBe(404);

    const revoked = await post(principal, signed, `/account/powers/${id}/revoke`, { reason: 'Поручение выполнено' });
    expect(revoked.url).toContain('done=revoked');
    expect(revoked.html).toContain('data-state="revoked"');
    expect(text(revoked)).toContain('Поручение выполнено');
    expect(text(revoked)).not.toContain('Отозвать доверенность');

    const again = await post(principal, signed, `/account/powers/${id}/revoke`, { reason: 'ещё раз' });
    expect(again.status).toBe(409);
    expect(text(again)).toContain('Доверенность отозвана — изменить её нельзя');
    const reactivate = await post(principal, signed, `/account/powers/${id}/activate`);
    expect(reactivate.status).toBe(409);
    expect(text(await principal.browser.open(url('/account/powers')))).toContain('Истёкшие и отозванные');
  });

  it('lets the representative renounce, and refuses a too long reason with the text kept', async () => {
    const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
    const { id, page } = await createDraft(principal, representative.snils);
    const signed = await post(principal, page, `/account/powers/${id}/activate`);
    const long = 'п'.repeat(501);
    const tooLong = await post(principal, signed, `/account/powers/${id}/revoke`, { reason: long });
    expect(tooLong.status).toBe(400);
    expect(text(tooLong)).toContain('Причина — не более 500 символов');
    expect(tooLong.html).toContain(long);

    const held = await representative.browser.open(url(`/account/powers/${id}`));
    const renounced = await post(representative, held, `/account/powers/${id}/revoke`);
    expect(renounced.url).toContain('done=renounced');
    expect(text(renounced)).toContain('Вы отказались от доверенности');
  });

  it('refuses to sign a second power with the same right, naming the first (409)', async () => {
    const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
    const first = await createDraft(principal, representative.snils);
    const second = await createDraft(principal, representative.snils, { 'right-apply': 'on' });
    await post(principal, first.page, `/account/powers/${first.id}/activate`);
    const refused = await post(principal, second.page, `/account/powers/${second.id}/activate`);
    expect(refused.status).toBe(409);
    expect(text(refused)).toContain(`У представителя уже есть право «Просмотр данных» по действующей доверенности №${first.id}`);
    expect(refused.html).toContain('data-state="draft"');

    // The create form says the same before a third draft is even saved.
    const formPage = await principal.browser.open(url('/account/powers/new'));
    const third = await post(principal, formPage, '/account/powers', createFields(representative.snils));
    expect(third.status).toBe(400);
    expect(text(third)).toContain(`по действующей доверенности №${first.id}`);

    const discarded = await post(principal, second.page, `/account/powers/${second.id}/discard`);
    expect(discarded.url).toContain('/account/powers?done=discarded');
    expect(text(discarded)).toContain('Черновик удалён');
  });

  it('refuses to sign a draft whose representative no longer holds a verified SNILS (409), keeping the draft', async () => {
    const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
    const { id, page } = await createDraft(principal, representative.snils);
    // Meanwhile the representative's account fell to simplified (its SNILS is only typed in now).
    await db.updateTable('citizens').set({ trust_level: 'simplified' }).where('oid', '=', representative.oid).execute();
    const refused = await post(principal, page, `/account/powers/${id}/activate`);
    expect(refused.status).toBe(409);
    expect(text(refused)).toContain('Подписать нельзя: у представителя больше нет учётной записи с подтверждённым СНИЛС. Черновик сохранён');
    expect(refused.html).toContain('data-state="draft"');
    expect(await db.selectFrom('powers_of_attorney').select('state').where('id', '=', id).executeTakeFirst()).toEqual({ state: 'draft' });
  });

  it('shows a power past its end under the expired ones, without a revoke button', async () => {
    const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
    const { id, page } = await createDraft(principal, representative.snils, { valid_to: formatDateRu(today()) });
    await post(principal, page, `/account/powers/${id}/activate`);
    clock.advance(2 * 24 * 3600);
    const list = await representative.browser.open(url('/account/powers'));
    expect(list.html).toContain(`data-power="${id}" data-state="expired"`);
    expect(text(list)).toContain('Истёк срок');
    const detail = await principal.browser.open(url(`/account/powers/${id}`));
    expect(text(detail)).not.toContain('Отозвать доверенность');
  });

  it('offers the organisations the citizen heads or administers, and refuses a plain employee (403)', async () => {
    const [chief, employee, representative] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
    const org = await db.insertInto('organisations').values({ kind: 'legal', full_name: 'ООО «Ромашка»', short_name: 'Ромашка', inn: '7700000099', ogrn: '1027700000099', kpp: null, created_at: clock.now() }).returning('oid').executeTakeFirstOrThrow();
    await db.insertInto('organisation_members').values([
      { organisation_oid: org.oid, citizen_oid: chief.oid, roles: ['chief'], joined_at: clock.now() },
      { organisation_oid: org.oid, citizen_oid: employee.oid, roles: ['employee'], joined_at: clock.now() },
    ]).execute();

    const chiefForm = await chief.browser.open(url(`/account/powers/new?principal=${org.oid}`));
    expect(chiefForm.html).toContain(`<option value="${org.oid}" selected>Ромашка</option>`);
    const created = await post(chief, chiefForm, '/account/powers', createFields(representative.snils, { principal: org.oid }));
    expect(created.status).toBe(200);
    expect(text(created)).toContain('Доверитель Ромашка');
    const list = await chief.browser.open(url('/account/powers'));
    expect(text(list)).toContain('От имени организации «Ромашка»');

    const employeeForm = await employee.browser.open(url('/account/powers/new'));
    expect(employeeForm.html).not.toContain(`value="${org.oid}"`);
    const refused = await post(employee, employeeForm, '/account/powers', createFields(representative.snils, { principal: org.oid }));
    expect(refused.status).toBe(403);
    expect(text(refused)).toContain('Выдавать доверенности от имени организации могут только её руководитель и администраторы');
  });

  it('needs the CSRF token', async () => {
    const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
    const page = await principal.browser.submit(url('/account/powers'), createFields(representative.snils));
    expect(page.status).toBe(403);
    expect(await db.selectFrom('powers_of_attorney').select('id').where('principal_citizen_oid', '=', principal.oid).execute()).toEqual([]);
  });
});
