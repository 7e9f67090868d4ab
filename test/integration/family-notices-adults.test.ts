import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { Child } from '../../src/family/family.tables.ts';
import { processDueChildChecks, type ChildCheckWorkerDeps } from '../../src/family/child-check.worker.ts';
import { answerLinkRequest, requestChildLink } from '../../src/family/children.service.ts';
import { renderTemplate } from '../../src/notifications/templates.ts';
import { saveNotificationSettings, DEFAULT_NOTIFICATION_SETTINGS } from '../../src/sessions/notification-settings.ts';
import { snilsControl } from '../../src/shared/validators.ts';
import { createTestClock } from '../support/clock.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { csrfToken } from '../support/account.ts';
import { giveIdentity } from '../support/identity.ts';
import { formAction, type BrowserSession } from '../support/browser-session.ts';
import { BrowserSession as OidcBrowser, discoverClient, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';
import { childCheckWorker, PARENT, signedIn, signedInParent } from './family-support.ts';

/** 2026-12-01, 12:00 in Moscow. */
const START = new Date('2026-12-01T09:00:00Z');

let serial = 0;
const nextSnils = () => {
  const body = String(700_000_000 + ++serial);
  return body + String(snilsControl(body)).padStart(2, '0');
};

/**
 * What a 14+ child's own account hears about the link a parent asks for or ends: a `family_link`
 * notice through the outbox, written in the transaction of the change, naming nobody.
 */
describe('children: the child hears about link requests and unlinking', () => {
  const clock = createTestClock(START);
  let idp: TestIdp;
  let db: Db;
  let worker: ChildCheckWorkerDeps;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
    worker = childCheckWorker(db, clock);
  });
  afterAll(() => idp?.close());

  const url = (path: string) => `${idp.issuer}${path}`;
  const NAMES = ['Пётр', 'Павел', 'Михаил', 'Сергей', 'Олег'];
  let kids = 0;

  /** A 15-year-old with an own standard account (phone and e-mail), and the ЗАГС record naming PARENT. */
  async function kidWithAccount(options: { withAccount?: boolean } = {}) {
    const n = kids++;
    const kid = { firstName: NAMES[n], birthDate: '2011-02-03', snils: nextSnils(), number: String(710_000 + n) };
    await db.insertInto('mock_civil_registry_records').values({
      cert_series: 'V-МЮ', cert_number: kid.number, cert_issue_date: kid.birthDate, cert_issued_by: 'ЗАГС',
      last_name: 'Тестов', first_name: kid.firstName, middle_name: 'Тестович', birth_date: kid.birthDate, gender: 'M', snils: kid.snils, parents: JSON.stringify([PARENT]),
    }).execute();
    if (options.withAccount === false) return { kid, account: undefined };
    const phone = `7916${String(7_000_000 + n)}`;
    const email = `kid${n}@family.test`;
    const citizen = await idp.makeCitizen({ lastName: 'Тестов', firstName: kid.firstName, middleName: 'Тестович', trustLevel: 'standard', phone, email });
    await db.updateTable('citizens').set({ birth_date: kid.birthDate, snils: kid.snils }).where('oid', '=', citizen.oid).execute();
    return { kid, account: { ...citizen, phone, email } };
  }

  async function addAndVerify(parent: { browser: BrowserSession }, kid: { firstName: string; birthDate: string; snils: string; number: string }) {
    const form = await parent.browser.open(url('/account/children/new'));
    const ru = kid.birthDate.split('-').reverse().join('.');
    const sent = await parent.browser.submit(formAction(form, '/account/children/new'), {
      _csrf: csrfToken(form), last_name: 'Тестов', first_name: kid.firstName, middle_name: 'Тестович', birth_date: ru, gender: 'M',
      cert_series: 'V-МЮ', cert_number: kid.number, cert_issue_date: ru, cert_issued_by: 'ЗАГС', snils: kid.snils,
    });
    expect(sent.url).toContain('notice=added');
    await processDueChildChecks(worker);
    return db.selectFrom('children').selectAll().where('cert_number', '=', kid.number).executeTakeFirstOrThrow();
  }

  const familyNotices = () => db.selectFrom('outbox_messages').select(['channel', 'recipient', 'payload']).where('template', '=', 'family_link').orderBy('id').execute();
  const post = async (browser: BrowserSession, path: string) => browser.submit(url(path), { _csrf: csrfToken(await browser.open(url('/account/personal'))) });

  it('tells the child by SMS and e-mail when the registry-confirmed record finds their account, and again when the parent asks anew', async () => {
    const parent = await signedInParent(idp);
    const { kid, account } = await kidWithAccount();
    const before = (await familyNotices()).length;
    const row = await addAndVerify(parent, kid);
    expect(row).toMatchObject({ child_oid: account!.oid, link_state: 'pending_child_consent' });

    const sent = (await familyNotices()).slice(before);
    expect(sent.toSorted((a, b) => a.channel.localeCompare(b.channel))).toEqual([
      { channel: 'email', recipient: account!.email, payload: { event: 'requested' } },
      { channel: 'sms', recipient: account!.phone, payload: { event: 'requested' } },
    ]);
    const text = renderTemplate('family_link', { event: 'requested' }).text;
    expect(text).toContain('Родитель просит объединить ваш аккаунт с родительским. Ответьте в личном кабинете: «Дети».');
    // No names, no dates: who asks is shown in the account only.
    expect(text).not.toMatch(/Тестов|Тест |2011/);

    // The child declines; the parent asks again through the page: one more notice, to the child only.
    await answerLinkRequest(db, { childOid: account!.oid, childId: row.id, accept: false, now: clock.now() });
    expect((await familyNotices()).length).toBe(before + 2);
    const page = await parent.browser.open(url('/account/children'));
    expect((await parent.browser.submit(formAction(page, `/account/children/${row.id}/link`), { _csrf: csrfToken(page) })).url).toContain('notice=link_requested');
    const again = (await familyNotices()).slice(before + 2);
    expect(again.map((m) => [m.recipient, m.payload])).toEqual(expect.arrayContaining([[account!.phone, { event: 'requested' }], [account!.email, { event: 'requested' }]]));
    expect(again).toHaveLength(2);

    // A request refused (one is already pending) sends nothing.
    expect((await post(parent.browser, `/account/children/${row.id}/link`)).status).toBe(409);
    expect((await familyNotices()).length).toBe(before + 4);
  });

  it('tells the child when the parent unlinks, once; a refused unlink sends nothing', async () => {
    const parent = await signedInParent(idp);
    const { kid, account } = await kidWithAccount();
    const row = await addAndVerify(parent, kid);
    await answerLinkRequest(db, { childOid: account!.oid, childId: row.id, accept: true, now: clock.now() });
    const before = (await familyNotices()).length;

    const confirm = await parent.browser.open(url(`/account/children/${row.id}/unlink`));
    expect((await parent.browser.submit(formAction(confirm, `/account/children/${row.id}/unlink`), { _csrf: csrfToken(confirm) })).url).toContain('notice=unlinked');
    const sent = (await familyNotices()).slice(before);
    expect(sent.map((m) => [m.channel, m.recipient, m.payload]).toSorted()).toEqual([
      ['email', account!.email, { event: 'unlinked' }],
      ['sms', account!.phone, { event: 'unlinked' }],
    ]);
    expect(renderTemplate('family_link', { event: 'unlinked' }).text).toBe('Родитель отменил объединение вашего аккаунта с родительским.');

    expect((await post(parent.browser, `/account/children/${row.id}/unlink`)).status).toBe(409);
    expect((await familyNotices()).length).toBe(before + 2);
  });

  it('follows the child’s notification settings, and sends nothing when no account was found', async () => {
    const parent = await signedInParent(idp);
    const { kid, account } = await kidWithAccount();
    // The child wants security notices by e-mail only.
    await saveNotificationSettings(db, { oid: account!.oid, settings: { ...DEFAULT_NOTIFICATION_SETTINGS, security: { email: true, sms: false } }, now: clock.now() });
    const before = (await familyNotices()).length;
    await addAndVerify(parent, kid);
    expect((await familyNotices()).slice(before).map((m) => m.channel)).toEqual(['email']);

    const lonely = await kidWithAccount({ withAccount: false });
    const count = (await familyNotices()).length;
    const row = await addAndVerify(parent, lonely.kid);
    expect(row).toMatchObject({ check_status: 'verified', link_state: null });
    expect(await requestChildLink(db, { parentOid: parent.oid, childId: row.id, now: clock.now() })).toEqual({ result: 'no_account' });
    expect((await familyNotices()).length).toBe(count);
  });

  it('refuses a notice without a known event', () => {
    expect(() => renderTemplate('family_link', {})).toThrow('needs payload.event');
    expect(() => renderTemplate('family_link', { event: 'toString' })).toThrow('needs payload.event');
  });
});

/**
 * From the 18th birthday (the clock's date in Moscow) a record is no longer a child's: relying
 * parties stop seeing it at /rs/prns/{oid}/kids, and «Дети» lists it under «Совершеннолетние».
 */
describe('children who turn 18', () => {
  // Minutes before the birthday: the token and the session outlive the wait.
  const clock = createTestClock(new Date('2026-12-01T20:50:00Z'));
  let idp: TestIdp;
  let db: Db;
  let parent: { oid: string; login: string; password: string };
  let config: oidc.Configuration;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let token: string;
  let turning: Child;
  let young: Child;
  /** 18 on 02.12.2026: midnight in Moscow is 21:00 UTC the day before. */
  const EVE = new Date('2026-12-01T20:59:59Z');
  const BIRTHDAY = new Date('2026-12-01T21:00:00Z');

  async function insertChild(values: Partial<Child> & { first_name: string; cert_number: string; birth_date: string }): Promise<Child> {
    return db.insertInto('children').values({
      parent_oid: parent.oid, last_name: 'Тестов', middle_name: 'Тестович', gender: 'M', snils: null,
      cert_series: 'II-МЮ', cert_issue_date: values.birth_date, cert_issued_by: 'Отдел ЗАГС', check_status: 'verified', ...values,
    }).returningAll().executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
    rp = await idp.makeClient();
    config = await discoverClient(idp.issuer, rp);
    parent = await idp.makeCitizen();
    await giveIdentity(db, parent.oid, { verifiedAs: 'confirmed' });
    turning = await insertChild({ first_name: 'Андрей', birth_date: '2008-12-02', cert_number: '810001' });
    young = await insertChild({ first_name: 'Вера', birth_date: '2015-04-12', gender: 'F', cert_number: '810002' });
    const start = await startAuthorization(config, rp.redirectUri, { scope: 'openid kid_fullname kid_birth_cert_doc' });
    const callback = await loginThrough(new OidcBrowser(), start, parent.login, parent.password);
    token = (await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.codeVerifier, expectedState: start.state, expectedNonce: start.nonce })).access_token;
  });
  afterAll(() => idp?.close());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function api(path: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${idp.issuer}/rs/prns/${parent.oid}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }
  const kidUrl = (child: Child) => `${idp.issuer}/rs/prns/${parent.oid}/kids/${child.id}`;
  const section = (html: string, id: string) => html.match(new RegExp(`<section id="${id}">[\\s\\S]*?</section>`))?.[0] ?? '';

  it('stops reporting a child to relying parties from the 18th birthday in Moscow', async () => {
    clock.set(EVE);
    expect((await api('/kids')).body).toMatchObject({ size: 2, elements: [kidUrl(turning), kidUrl(young)] });
    expect((await api(`/kids/${turning.id}`)).status).toBe(200);
    expect((await api(`/kids/${turning.id}/docs/${turning.id}`)).status).toBe(200);

    clock.set(BIRTHDAY);
    expect((await api('/kids')).body).toMatchObject({ size: 1, elements: [kidUrl(young)] });
    expect((await api('/kids?embed=(elements)')).body.elements.map((e: { firstName: string }) => e.firstName)).toEqual(['Вера']);
    expect((await api(`/kids/${turning.id}`)).status).toBe(404);
    expect((await api(`/kids/${turning.id}/docs`)).status).toBe(404);
    expect((await api(`/kids/${turning.id}/docs/${turning.id}`)).status).toBe(404);
    expect((await api(`/kids/${young.id}`)).status).toBe(200);
    // Nothing was written: the age is computed when asked.
    expect(await db.selectFrom('children').select('check_status').where('id', '=', turning.id).executeTakeFirstOrThrow()).toEqual({ check_status: 'verified' });
  });

  it('lists an adult under «Совершеннолетние» on the account page, without a link to offer', async () => {
    clock.set(EVE);
    const browser = await signedIn(idp, parent);
    let page = await browser.open(`${idp.issuer}/account/children`);
    expect(page.html).not.toContain('id="adults"');
    expect(section(page.html, 'children')).toContain(`data-child-id="${turning.id}"`);

    clock.set(BIRTHDAY);
    page = await browser.open(`${idp.issuer}/account/children`);
    const adults = section(page.html, 'adults');
    expect(adults).toContain('Совершеннолетние');
    expect(adults).toContain('Им исполнилось 18 лет: сервисы больше не получают их данные');
    expect(adults).toContain(`data-child-id="${turning.id}"`);
    expect(adults).not.toContain(`data-child-id="${young.id}"`);
    expect(adults).not.toContain(`/account/children/${turning.id}/link`);
    expect(adults).toContain(`/account/children/${turning.id}/remove`);
    expect(page.html).toContain(`data-child-id="${young.id}"`);

    // A forged link request for the adult is refused with the reason.
    const refused = await browser.submit(`${idp.issuer}/account/children/${turning.id}/link`, { _csrf: csrfToken(await browser.open(`${idp.issuer}/account/personal`)) });
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('Ребёнку уже исполнилось 18 лет');
    expect(await db.selectFrom('children').select('link_state').where('id', '=', turning.id).executeTakeFirstOrThrow()).toEqual({ link_state: null });
  });

  it('asks no adult to link when the registry confirms the record late', async () => {
    clock.set(BIRTHDAY);
    const adult = await idp.makeCitizen({ lastName: 'Тестов', firstName: 'Борис', middleName: 'Тестович', trustLevel: 'standard' });
    const snils = nextSnils();
    await db.updateTable('citizens').set({ birth_date: '2008-11-30', snils }).where('oid', '=', adult.oid).execute();
    await db.insertInto('mock_civil_registry_records').values({
      cert_series: 'II-МЮ', cert_number: '810003', cert_issue_date: '2008-11-30', cert_issued_by: 'Отдел ЗАГС',
      last_name: 'Тестов', first_name: 'Борис', middle_name: 'Тестович', birth_date: '2008-11-30', gender: 'M', snils,
      parents: JSON.stringify([PARENT]),
    }).execute();
    // Added while 17, checked after the birthday.
    const pending = await insertChild({ first_name: 'Борис', birth_date: '2008-11-30', cert_number: '810003', snils, check_status: 'pending', next_attempt_at: clock.now() });
    await processDueChildChecks(childCheckWorker(db, clock));
    expect(await db.selectFrom('children').select(['check_status', 'child_oid', 'link_state']).where('id', '=', pending.id).executeTakeFirstOrThrow())
      .toEqual({ check_status: 'verified', child_oid: null, link_state: null });
    expect(await db.selectFrom('outbox_messages').select('id').where('template', '=', 'family_link').execute()).toEqual([]);
  });
});
