import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { sql } from 'kysely';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { giveIdentity, uniqueSnils } from '../support/identity.ts';
import { createBrowser, findForm, textOf, type Browser, type Page } from '../support/browserless.ts';
import { passIdp, signInAtMosru, startConnecting, startMosru, type TestMosru } from '../support/browser.ts';
import { registerAccount } from '../../src/mosru/accounts.service.ts';
import { createSecretBox } from '../../src/shared/secret-box.ts';

/**
 * «Подключить Госуслуги» over HTTP: a Mos.ru account bound to an IdP account through consent,
 * every way it can be refused, and what happens to the binding afterwards.
 */
let idp: TestIdp;
let mosru: TestMosru;
let n = 0;

beforeAll(async () => {
  idp = await startTestIdp();
  mosru = await startMosru(idp);
});

afterAll(async () => {
  await mosru?.close();
  await idp?.close();
});

// giveIdentity gives every citizen this birth date; makeCitizen this patronymic unless told.
const IDP_BIRTH_DATE = '1985-04-12';
const IDP_MIDDLE_NAME = 'Тестович';

/** An IdP citizen at the standard level, with passport, addresses and a SNILS (test/support/identity.ts). */
async function standardCitizen(names: { lastName: string; firstName: string; middleName?: string }, snils = uniqueSnils()) {
  const citizen = await idp.makeCitizen(names);
  await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard', snils });
  return { ...citizen, snils };
}

/** A Mos.ru account with these personal data, signed in in a fresh browser. */
async function mosruUser(data: { lastName: string; firstName: string; middleName?: string; birthDate?: string; snils?: string }) {
  const email = `user${++n}-${Date.now()}@mos.test`;
  const password = 'Parol-12345';
  const result = await registerAccount(mosru.db, {
    email,
    password,
    lastName: data.lastName,
    firstName: data.firstName,
    middleName: data.middleName ?? IDP_MIDDLE_NAME,
    birthDate: data.birthDate ?? IDP_BIRTH_DATE,
    snils: data.snils ?? null,
  });
  if (!result.ok) throw new Error('account not created');
  const browser = createBrowser();
  const home = await signInAtMosru(browser, mosru, { email, password });
  expect(textOf(home.body)).toContain('Вы вошли как');
  return { browser, accountId: result.account.id, email, password };
}

async function connect(browser: Browser, citizen: { login: string; password: string }): Promise<Page> {
  return passIdp(browser, await startConnecting(browser, mosru), citizen);
}

const bindingOf = (accountId: string) => mosru.db.selectFrom('mosru.bindings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
const syncedOf = (accountId: string) => mosru.db.selectFrom('mosru.synced_profiles').selectAll().where('account_id', '=', accountId).executeTakeFirst();

/** Grants the citizen gave this Mos.ru at the IdP: a refused binding must leave none behind. */
async function grantsAtIdp(oid: string): Promise<number> {
  const rows = await sql<{ count: string }>`SELECT count(*) AS count FROM oidc_payloads WHERE model = 'Grant' AND payload->>'accountId' = ${oid} AND payload->>'clientId' = ${mosru.clientId}`.execute(idp.runtime.database.db);
  return Number(rows.rows[0].count);
}

async function storedRefreshToken(accountId: string): Promise<string> {
  const binding = await bindingOf(accountId);
  return createSecretBox(mosru.tokenKey).open(binding!.refresh_token_sealed!);
}

async function introspect(token: string) {
  const config = await client.discovery(new URL(idp.issuer), mosru.clientId, undefined, client.ClientSecretBasic(mosru.clientSecret), { execute: [client.allowInsecureRequests] });
  return client.tokenIntrospection(config, token);
}

async function expectNothingStored(accountId: string, oid: string) {
  expect(await bindingOf(accountId)).toBeUndefined();
  expect(await syncedOf(accountId)).toBeUndefined();
  expect(await grantsAtIdp(oid)).toBe(0);
}

describe('binding a Mos.ru account to Госуслуги', () => {
  it('binds matching accounts through consent and syncs passport and addresses', async () => {
    const citizen = await standardCitizen({ lastName: 'Кузнецов', firstName: 'Алексей', middleName: 'Олегович' });
    // Written differently on Mos.ru: case, «ё» for «е», extra spaces.
    const user = await mosruUser({ lastName: 'кузнецов', firstName: ' Алексей ', middleName: 'Олегович' });

    const settings = await browserGetSettings(user.browser);
    expect(textOf(settings.body)).toContain('Госуслуги: Не подключено');

    // The authorization request: code + PKCE S256 + state + nonce, the minimum level, consent with offline_access.
    const start = await user.browser.post(`${mosru.base}/settings/gosuslugi/connect`, findForm(settings.body, { id: 'connect-form' })!.fields, { follow: false });
    expect(start.status).toBe(303);
    const authorize = new URL(start.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${idp.issuer}/auth`);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: mosru.clientId,
      response_type: 'code',
      redirect_uri: `${mosru.base}/callback`,
      scope: 'openid fullname birthdate gender snils id_doc addresses mobile email offline_access',
      acr_values: 'standard',
      prompt: 'consent',
      code_challenge_method: 'S256',
    });
    for (const param of ['state', 'nonce', 'code_challenge']) expect(authorize.searchParams.get(param)).toMatch(/^[\w-]{32,}$/);

    const loginPage = await user.browser.get(authorize.href);
    const consent = await user.browser.submit(loginPage, { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
    expect(consent.body).toContain('data-scope="id_doc"');
    const back = await user.browser.submit(consent, { actionContains: '/confirm' }, { agree: 'yes' });

    expect(back.url).toBe(`${mosru.base}/settings?connected=1`);
    const text = textOf(back.body);
    expect(text).toContain('Госуслуги: Подключено');
    expect(text).toMatch(/Подключено \d{2}\.\d{2}\.\d{4}/);
    expect(text).toContain('4506 123456');
    expect(text).toContain('119002, г. Москва, ул. Арбат, д. 1, кв. 2');

    const binding = await bindingOf(user.accountId);
    expect(binding).toMatchObject({ oid: citizen.oid, status: 'connected', disconnected_reason: null });
    expect(binding!.scopes.split(' ')).toEqual(expect.arrayContaining(['fullname', 'id_doc', 'addresses', 'offline_access']));
    // Sealed at rest, and a live refresh token at the IdP.
    expect(binding!.refresh_token_sealed).toMatch(/^v1\./);
    expect(await introspect(await storedRefreshToken(user.accountId))).toMatchObject({ active: true, sub: citizen.oid });

    const synced = await syncedOf(user.accountId);
    expect(synced).toMatchObject({ last_name: 'Кузнецов', birth_date: IDP_BIRTH_DATE, snils: citizen.snils });
    expect(synced!.passport).toMatchObject({ series: '4506', number: '123456', issueDate: '2005-05-20', issueId: '770-001', verified: true });
    expect(synced!.addresses.map((a) => a.type)).toEqual(['PRG', 'PLV']);

    // Nothing secret in Mos.ru's logs.
    const logs = mosru.logLines.join('');
    expect(logs).toContain('account bound');
    expect(logs).not.toContain(await storedRefreshToken(user.accountId));
    expect(logs).not.toContain(mosru.clientSecret);
  });

  it('refuses when the surname differs, names the field and stores nothing', async () => {
    const citizen = await standardCitizen({ lastName: 'Морозов', firstName: 'Игорь', middleName: 'Павлович' });
    const user = await mosruUser({ lastName: 'Морозова', firstName: 'Игорь', middleName: 'Павлович' });

    const page = await connect(user.browser, citizen);

    expect(page.url).toBe(`${mosru.base}/callback?${new URL(page.url).searchParams}`);
    expect(page.status).toBe(409);
    expect(page.body).toContain('data-reason="mismatch"');
    expect(differing(page)).toEqual(['Фамилия']);
    await expectNothingStored(user.accountId, citizen.oid);
  });

  it('refuses when the birth date differs', async () => {
    const citizen = await standardCitizen({ lastName: 'Волков', firstName: 'Денис' });
    const user = await mosruUser({ lastName: 'Волков', firstName: 'Денис', birthDate: '1985-04-13' });

    const page = await connect(user.browser, citizen);

    expect(page.status).toBe(409);
    expect(differing(page)).toEqual(['Дата рождения']);
    await expectNothingStored(user.accountId, citizen.oid);
  });

  it('decides by SNILS when both sides have one: a different SNILS refuses even with the same name', async () => {
    const citizen = await standardCitizen({ lastName: 'Лебедев', firstName: 'Олег' });
    const user = await mosruUser({ lastName: 'Лебедев', firstName: 'Олег', snils: uniqueSnils() });

    const page = await connect(user.browser, citizen);

    expect(page.status).toBe(409);
    expect(differing(page)).toEqual(['СНИЛС']);
    await expectNothingStored(user.accountId, citizen.oid);
  });

  it('refuses an OID already bound to another Mos.ru user', async () => {
    const citizen = await standardCitizen({ lastName: 'Соколов', firstName: 'Антон' });
    const first = await mosruUser({ lastName: 'Соколов', firstName: 'Антон' });
    expect(textOf((await connect(first.browser, citizen)).body)).toContain('Госуслуги: Подключено');

    const second = await mosruUser({ lastName: 'Соколов', firstName: 'Антон' });
    const page = await connect(second.browser, citizen);

    expect(page.status).toBe(409);
    expect(textOf(page.body)).toContain('Эта учётная запись Госуслуг уже подключена к другому пользователю Мос.ру');
    expect(await bindingOf(second.accountId)).toBeUndefined();
    expect(await syncedOf(second.accountId)).toBeUndefined();
    // The first binding is untouched.
    expect(await bindingOf(first.accountId)).toMatchObject({ oid: citizen.oid, status: 'connected' });
  });

  it('shows the IdP\'s ESIA-007055 when the account level is too low', async () => {
    const citizen = await idp.makeCitizen({ lastName: 'Петров', firstName: 'Пётр' });
    const user = await mosruUser({ lastName: 'Петров', firstName: 'Пётр' });

    const idpLogin = await startConnecting(user.browser, mosru);
    const explanation = await user.browser.submit(idpLogin, { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
    expect(explanation.url.startsWith(idp.issuer)).toBe(true);
    expect(explanation.body).toContain('Недостаточный уровень учётной записи');
    const page = await user.browser.submit(explanation, { actionContains: '/abort' });

    expect(page.url.startsWith(`${mosru.base}/callback?`)).toBe(true);
    expect(page.status).toBe(400);
    const text = textOf(page.body);
    expect(text).toContain('Госуслуги не подключены');
    expect(text).toContain('Уровень вашей учётной записи на Госуслугах ниже, чем нужен Мос.ру');
    expect(page.body).toContain('<code id="idp-error">access_denied</code>');
    expect(text).toContain('ESIA-007055: Вход в систему осуществляется с упрощённой учётной записью');
    await expectNothingStored(user.accountId, citizen.oid);
  });

  it('shows the refusal when the citizen does not consent', async () => {
    const citizen = await standardCitizen({ lastName: 'Новиков', firstName: 'Илья' });
    const user = await mosruUser({ lastName: 'Новиков', firstName: 'Илья' });

    const consent = await user.browser.submit(await startConnecting(user.browser, mosru), { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
    const page = await user.browser.submit(consent, { actionContains: '/abort' });

    expect(page.status).toBe(400);
    expect(textOf(page.body)).toContain('Вы не разрешили Мос.ру получать данные с Госуслуг');
    expect(page.body).toContain('access_denied');
    await expectNothingStored(user.accountId, citizen.oid);
  });

  it('does not bind an account that signed out while at the IdP', async () => {
    const citizen = await standardCitizen({ lastName: 'Федоров', firstName: 'Глеб' });
    const user = await mosruUser({ lastName: 'Федоров', firstName: 'Глеб' });
    const loginAtIdp = await startConnecting(user.browser, mosru);
    // Signed out of Mos.ru in between (another tab).
    const home = await user.browser.get(`${mosru.base}/`);
    await user.browser.submit(home, { actionContains: '/logout' });

    const page = await passIdp(user.browser, loginAtIdp, citizen);
    expect(page.status).toBe(400);
    expect(textOf(page.body)).toContain('Войдите в Мос.ру тем же пользователем');
    await expectNothingStored(user.accountId, citizen.oid);
  });
});

describe('a bound account', () => {
  it('signs in with «Войти через Госуслуги»', async () => {
    const citizen = await standardCitizen({ lastName: 'Егоров', firstName: 'Максим' });
    const user = await mosruUser({ lastName: 'Егоров', firstName: 'Максим' });
    await connect(user.browser, citizen);

    const browser = createBrowser();
    const start = await browser.get(`${mosru.base}/login/gosuslugi`, { follow: false });
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.searchParams.get('acr_values')).toBe('standard');
    expect(authorize.searchParams.get('scope')).not.toContain('offline_access');
    const home = await passIdp(browser, await browser.get(authorize.href), citizen);

    expect(home.url).toBe(`${mosru.base}/`);
    expect(textOf(home.body)).toContain('Вы вошли как Егоров Максим');
    const session = await mosru.db.selectFrom('mosru.sessions').selectAll().where('account_id', '=', user.accountId).where('oidc_sub', '=', citizen.oid).executeTakeFirst();
    expect(session?.oidc_sid).toEqual(expect.any(String));
  });

  it('fills in the doctor form from the synced data; without a binding it asks to connect', async () => {
    const citizen = await standardCitizen({ lastName: 'Орлова', firstName: 'Вера', middleName: 'Ивановна' });
    const user = await mosruUser({ lastName: 'Орлова', firstName: 'Вера', middleName: 'Ивановна' });

    const before = await user.browser.get(`${mosru.base}/services/doctor`);
    expect(textOf(before.body)).toContain('Подключите Госуслуги, чтобы не вводить данные вручную');
    expect(findForm(before.body, { id: 'doctor-form' })!.fields).toMatchObject({ fullName: '', snils: '', address: '' });

    await connect(user.browser, citizen);
    const after = await user.browser.get(`${mosru.base}/services/doctor`);
    expect(textOf(after.body)).toContain('Данные заполнены из Госуслуг');
    expect(findForm(after.body, { id: 'doctor-form' })!.fields).toMatchObject({
      fullName: 'Орлова Вера Ивановна',
      birthDate: '12.04.1985',
      snils: `${citizen.snils.slice(0, 3)}-${citizen.snils.slice(3, 6)}-${citizen.snils.slice(6, 9)} ${citizen.snils.slice(9)}`,
      address: '119002, г. Москва, ул. Арбат, д. 1, кв. 2',
    });
    const done = await user.browser.submit(after, { id: 'doctor-form' }, { speciality: 'Терапевт' });
    expect(textOf(done.body)).toContain('Заявка принята');
  });

  it('refreshes its tokens when settings are opened, also twice at once', async () => {
    const citizen = await standardCitizen({ lastName: 'Зайцев', firstName: 'Роман' });
    const user = await mosruUser({ lastName: 'Зайцев', firstName: 'Роман' });
    await connect(user.browser, citizen);
    const first = await storedRefreshToken(user.accountId);

    const [a, b] = await Promise.all([browserGetSettings(user.browser), browserGetSettings(user.browser)]);
    for (const page of [a, b]) expect(textOf(page.body)).toContain('Госуслуги: Подключено');
    const rotated = await storedRefreshToken(user.accountId);
    expect(rotated).not.toBe(first);
    // Only one of the two refreshed: a used refresh token presented again would have revoked the grant.
    expect(textOf((await browserGetSettings(user.browser)).body)).toContain('Госуслуги: Подключено');
    expect(await introspect(await storedRefreshToken(user.accountId))).toMatchObject({ active: true });
  });

  it('«Отключить» revokes the tokens at the IdP and deletes the binding and the synced data', async () => {
    const citizen = await standardCitizen({ lastName: 'Павлов', firstName: 'Кирилл' });
    const user = await mosruUser({ lastName: 'Павлов', firstName: 'Кирилл' });
    await connect(user.browser, citizen);
    const settings = await browserGetSettings(user.browser);
    const refreshToken = await storedRefreshToken(user.accountId);

    const after = await user.browser.submit(settings, { id: 'disconnect-form' });

    expect(after.url).toBe(`${mosru.base}/settings?disconnected=1`);
    expect(textOf(after.body)).toContain('Госуслуги: Не подключено');
    expect(textOf(after.body)).toContain('Госуслуги отключены');
    expect(await introspect(refreshToken)).toMatchObject({ active: false });
    expect(await bindingOf(user.accountId)).toBeUndefined();
    expect(await syncedOf(user.accountId)).toBeUndefined();
    expect(await grantsAtIdp(citizen.oid)).toBe(0);
  });

  it('notices consent revoked at the IdP: disconnected, with the message, and the synced data deleted', async () => {
    const citizen = await standardCitizen({ lastName: 'Медведев', firstName: 'Артём' });
    const user = await mosruUser({ lastName: 'Медведев', firstName: 'Артём' });
    await connect(user.browser, citizen);
    // The citizen withdraws consent at the IdP: the grant behind the stored refresh token goes.
    const refreshToken = await idp.runtime.provider.RefreshToken.find(await storedRefreshToken(user.accountId));
    await (await idp.runtime.provider.Grant.find(refreshToken!.grantId!))!.destroy();

    const settings = await browserGetSettings(user.browser);

    const text = textOf(settings.body);
    expect(text).toContain('Госуслуги: Отключено');
    expect(text).toContain('Доступ к данным Госуслуг отозван. Подключите снова');
    expect(await bindingOf(user.accountId)).toMatchObject({ status: 'disconnected', disconnected_reason: 'revoked_at_idp', refresh_token_sealed: null });
    expect(await syncedOf(user.accountId)).toBeUndefined();
    const doctor = await user.browser.get(`${mosru.base}/services/doctor`);
    expect(textOf(doctor.body)).toContain('Доступ к данным Госуслуг отозван. Подключите снова');
    expect(findForm(doctor.body, { id: 'doctor-form' })!.fields.snils).toBe('');

    // Connecting again works and clears the message.
    const again = await connect(user.browser, citizen);
    expect(textOf(again.body)).toContain('Госуслуги: Подключено');
    expect(await bindingOf(user.accountId)).toMatchObject({ status: 'connected', disconnected_reason: null });
  });
});

describe('«Войти через Госуслуги» for a citizen Mos.ru does not know', () => {
  it('offers a new account filled in from Госуслуги, then binds it through consent', async () => {
    const email = `new${Date.now()}@example.ru`;
    const citizen = await idp.makeCitizen({ lastName: 'Белова', firstName: 'Дарья', middleName: 'Сергеевна', email });
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
    const browser = createBrowser();

    const form = await passIdp(browser, await browser.get(`${mosru.base}/login/gosuslugi`), citizen);
    expect(form.url).toBe(`${mosru.base}/register/gosuslugi`);
    const text = textOf(form.body);
    expect(text).toContain('Новый пользователь Мос.ру');
    expect(text).toContain('Фамилия Белова');
    expect(text).toContain('Отчество Сергеевна');
    expect(text).toContain('Дата рождения 12.04.1985');
    expect(findForm(form.body, { id: 'register-gosuslugi-form' })!.fields.email).toBe(email);

    // Mistakes are shown beside the fields; the passwords are not sent back.
    const wrong = await browser.submit(form, { id: 'register-gosuslugi-form' }, { password: 'Parol-12345', passwordRepeat: 'Parol-54321' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('Пароли не совпадают');
    expect(wrong.body).not.toContain('Parol-12345');

    const consent = await browser.submit(wrong, { id: 'register-gosuslugi-form' }, { password: 'Parol-12345', passwordRepeat: 'Parol-12345' });
    // The IdP session is still open: only the consent for the binding is asked.
    expect(consent.url.startsWith(`${idp.issuer}/interaction/`)).toBe(true);
    expect(consent.body).toContain('data-scope="offline_access"');
    const settings = await browser.submit(consent, { actionContains: '/confirm' }, { agree: 'yes' });

    expect(textOf(settings.body)).toContain('Госуслуги: Подключено');
    const account = await mosru.db.selectFrom('mosru.accounts').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
    expect(account).toMatchObject({ last_name: 'Белова', first_name: 'Дарья', middle_name: 'Сергеевна', birth_date: IDP_BIRTH_DATE });
    expect(await bindingOf(account.id)).toMatchObject({ oid: citizen.oid, status: 'connected' });
    expect(await mosru.db.selectFrom('mosru.pending_registrations').selectAll().where('oid', '=', citizen.oid).execute()).toEqual([]);

    // The new user can also sign in with the password.
    const other = createBrowser();
    expect(textOf((await signInAtMosru(other, mosru, { email, password: 'Parol-12345' })).body)).toContain('Вы вошли как Белова Дарья Сергеевна');
  });

  it('says so when the e-mail already belongs to a Mos.ru user', async () => {
    const citizen = await idp.makeCitizen({ lastName: 'Белов', firstName: 'Денис' });
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
    const taken = await mosruUser({ lastName: 'Другой', firstName: 'Человек' });
    const browser = createBrowser();
    const form = await passIdp(browser, await browser.get(`${mosru.base}/login/gosuslugi`), citizen);

    const page = await browser.submit(form, { id: 'register-gosuslugi-form' }, { email: taken.email, password: 'Parol-12345', passwordRepeat: 'Parol-12345' });

    expect(page.status).toBe(409);
    expect(textOf(page.body)).toContain('Этот адрес уже зарегистрирован на Мос.ру');
    expect(await mosru.db.selectFrom('mosru.bindings').selectAll().where('oid', '=', citizen.oid).execute()).toEqual([]);
  });
});

function browserGetSettings(browser: Browser): Promise<Page> {
  return browser.get(`${mosru.base}/settings`);
}

function differing(page: Page): string[] {
  return [...page.body.matchAll(/<li data-field="\w+">([^<]*)<\/li>/g)].map((m) => m[1]);
}
