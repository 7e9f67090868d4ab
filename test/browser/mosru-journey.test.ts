import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { giveIdentity } from '../support/identity.ts';
import { launchChromium, screenshot, startMosru, type TestMosru } from '../support/browser.ts';
import { registerAccount } from '../../src/mosru/accounts.service.ts';
import { upsertBinding } from '../../src/mosru/bindings.repository.ts';

/**
 * The binding journeys in a real browser (Debian's headless Chromium): the IdP and Mos.ru on two
 * loopback ports of one host, so their cookies share a jar and must not share names. Screenshots
 * of the key pages go to test-results/screenshots/.
 */
let idp: TestIdp;
let mosru: TestMosru;
let chromium: Browser;
let context: BrowserContext;
let n = 0;

beforeAll(async () => {
  [idp, chromium] = await Promise.all([startTestIdp(), launchChromium()]);
  mosru = await startMosru(idp);
});

afterAll(async () => {
  await chromium?.close();
  await mosru?.close();
  await idp?.close();
});

const PASSWORD = 'Parol-12345';

async function newPage(): Promise<Page> {
  await context?.close();
  context = await chromium.newContext({ locale: 'ru-RU' });
  return context.newPage();
}

/** An IdP citizen at the standard level with passport and addresses; birth date 1985-04-12. */
async function standardCitizen(lastName: string, firstName: string, middleName: string) {
  const citizen = await idp.makeCitizen({ lastName, firstName, middleName });
  await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
  return citizen;
}

async function mosruAccount(lastName: string, firstName: string, middleName: string, birthDate = '1985-04-12') {
  const email = `browser${++n}-${Date.now()}@mos.test`;
  const result = await registerAccount(mosru.db, { email, password: PASSWORD, lastName, firstName, middleName, birthDate, snils: null });
  if (!result.ok) throw new Error('not created');
  return { email, accountId: result.account.id };
}

async function signInAtMosru(page: Page, email: string) {
  await page.goto(`${mosru.base}/login`);
  await page.fill('#f-email', email);
  await page.fill('#f-password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#account-name');
}

async function loginAtIdp(page: Page, citizen: { login: string; password: string }) {
  expect(page.url().startsWith(`${idp.issuer}/interaction/`)).toBe(true);
  await page.fill('#login', citizen.login);
  await page.fill('#password', citizen.password);
  await page.click('form[action$="/login"] button[type=submit]');
}

/** Ticks «Согласен» where the consent page has it, and confirms. */
async function consent(page: Page) {
  await page.waitForSelector('form[action$="/confirm"]');
  const agree = page.locator('input[name="agree"]');
  if ((await agree.count()) > 0) await agree.check();
  await page.click('form[action$="/confirm"] button[type=submit]');
}

const bindingOf = (accountId: string) => mosru.db.selectFrom('mosru.bindings').selectAll().where('account_id', '=', accountId).executeTakeFirst();

describe('Mos.ru ↔ Госуслуги in a browser', () => {
  it('binds, fills in the doctor form from Госуслуги, and disconnects', async () => {
    const citizen = await standardCitizen('Иванов', 'Иван', 'Иванович');
    const account = await mosruAccount('Иванов', 'Иван', 'Иванович');
    const page = await newPage();

    await signInAtMosru(page, account.email);
    await page.click('nav >> text=Настройки');
    expect(await page.textContent('#gosuslugi-status')).toContain('Госуслуги: Не подключено');
    await screenshot(page, 'mosru-settings-not-connected');

    await page.click('#connect-form button');
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await loginAtIdp(page, citizen);
    await page.waitForSelector('form[action$="/confirm"]');
    expect(await page.content()).toContain('Мос.ру (демо)');
    await screenshot(page, 'idp-consent');
    await consent(page);

    await page.waitForURL(`${mosru.base}/settings?connected=1`);
    expect(await page.textContent('#gosuslugi-status')).toContain('Госуслуги: Подключено');
    expect(await page.textContent('#bound-on')).toMatch(/^\d{2}\.\d{2}\.\d{4}$/);
    expect(await page.textContent('#synced-data')).toContain('4506 123456');
    await screenshot(page, 'mosru-settings-connected');

    // The IdP's own list of linked services shows Mos.ru too.
    const linked = await page.goto(`${idp.issuer}/account/linked-services`);
    expect(linked?.status()).toBe(200);
    expect(await page.textContent('main')).toContain('Мос.ру (демо)');
    await screenshot(page, 'idp-linked-services');

    await page.goto(`${mosru.base}/services/doctor`);
    expect(await page.inputValue('#f-fullName')).toBe('Иванов Иван Иванович');
    expect(await page.inputValue('#f-birthDate')).toBe('12.04.1985');
    expect(await page.inputValue('#f-snils')).toMatch(/^\d{3}-\d{3}-\d{3} \d{2}$/);
    expect(await page.inputValue('#f-address')).toBe('119002, г. Москва, ул. Арбат, д. 1, кв. 2');
    await screenshot(page, 'mosru-doctor-prefilled');

    await page.goto(`${mosru.base}/settings`);
    await page.click('#disconnect-form button');
    await page.waitForURL(`${mosru.base}/settings?disconnected=1`);
    expect(await page.textContent('#gosuslugi-status')).toContain('Госуслуги: Не подключено');
    expect(await page.textContent('#notice')).toContain('Госуслуги отключены');
    await screenshot(page, 'mosru-settings-disconnected');
    expect(await bindingOf(account.accountId)).toBeUndefined();

    await page.goto(`${idp.issuer}/account/linked-services`);
    expect(await page.textContent('main')).not.toContain('Мос.ру (демо)');
  });

  it('refuses a binding when the personal data differ, and stores nothing', async () => {
    const citizen = await standardCitizen('Смирнова', 'Анна', 'Петровна');
    const account = await mosruAccount('Смирнова', 'Анна', 'Петровна', '1990-07-20');
    const page = await newPage();

    await signInAtMosru(page, account.email);
    await page.goto(`${mosru.base}/settings`);
    await page.click('#connect-form button');
    await loginAtIdp(page, citizen);
    await consent(page);

    await page.waitForSelector('#refusal');
    expect(await page.getAttribute('#refusal', 'data-reason')).toBe('mismatch');
    expect(await page.locator('#differing-fields li').allTextContents()).toEqual(['Дата рождения']);
    await screenshot(page, 'mosru-binding-refused-mismatch');
    expect(await bindingOf(account.accountId)).toBeUndefined();

    await page.goto(`${mosru.base}/settings`);
    expect(await page.textContent('#gosuslugi-status')).toContain('Госуслуги: Не подключено');
  });

  it('lets the IdP explain a level too low, and shows its answer back at Mos.ru', async () => {
    const citizen = await idp.makeCitizen({ lastName: 'Петров', firstName: 'Пётр', middleName: 'Сергеевич' });
    const account = await mosruAccount('Петров', 'Пётр', 'Сергеевич', '1995-03-10');
    const page = await newPage();

    await signInAtMosru(page, account.email);
    await page.goto(`${mosru.base}/settings`);
    await page.click('#connect-form button');
    await loginAtIdp(page, citizen);

    await page.waitForSelector('form[action$="/abort"]');
    expect(await page.textContent('h1')).toBe('Недостаточный уровень учётной записи');
    await screenshot(page, 'idp-trust-level-too-low');
    await page.click('button:has-text("Вернуться")');

    await page.waitForURL(`${mosru.base}/callback**`);
    expect(await page.textContent('h1')).toBe('Госуслуги не подключены');
    expect(await page.textContent('#idp-error')).toBe('access_denied');
    expect(await page.textContent('#idp-error-description')).toContain('ESIA-007055');
    await screenshot(page, 'mosru-binding-level-too-low');
    expect(await bindingOf(account.accountId)).toBeUndefined();
  });

  it('signs a bound citizen in with «Войти через Госуслуги»', async () => {
    const citizen = await standardCitizen('Кузнецова', 'Ольга', 'Игоревна');
    const account = await mosruAccount('Кузнецова', 'Ольга', 'Игоревна');
    await upsertBinding(mosru.db, { accountId: account.accountId, oid: citizen.oid, scopes: 'openid fullname', refreshTokenSealed: null, now: new Date() });
    const page = await newPage();

    await page.goto(`${mosru.base}/login`);
    await screenshot(page, 'mosru-login');
    await page.click('#login-gosuslugi');
    await loginAtIdp(page, citizen);
    await consent(page);

    await page.waitForURL(`${mosru.base}/`);
    expect(await page.textContent('#account-name')).toBe('Кузнецова Ольга Игоревна');
    await screenshot(page, 'mosru-signed-in-with-gosuslugi');
    // Each site keeps its own cookies on the shared host.
    const names = (await context.cookies(mosru.base)).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['mosru_session', 'mosru_csrf', '_session']));
  });
});
