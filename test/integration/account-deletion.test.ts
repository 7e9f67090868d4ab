import { startBackchannelReceiver, type BackchannelReceiver } from '../support/backchannel.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, openAuthorization, startAuthorization } from '../support/oidc.ts';
import type { Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { lastCodeSentTo } from '../support/outbox.ts';
import { giveIdentity, uniqueSnils } from '../support/identity.ts';
import type { Db } from '../../src/db/database.ts';
import { createCodeHasher, type CodeHasher } from '../../src/codes/codes.service.ts';
import { confirmRegistration, startRegistration } from '../../src/registration/registration.service.ts';
import { confirmContactChange, startContactChange } from '../../src/account/contacts.service.ts';
import { startRecovery } from '../../src/recovery/recovery.service.ts';
import { requestRegistryCheck } from '../../src/verification/registry-check.service.ts';
import { orderConfirmationLetter } from '../../src/verification/letter.service.ts';
import { grantOperatorRole } from '../../src/operator/operator.service.ts';
import { saveNotificationSettings, DEFAULT_NOTIFICATION_SETTINGS } from '../../src/sessions/notification-settings.ts';
import { endSessions } from '../../src/sessions/sessions.service.ts';
import { ERASED_BY_AREA, ERASED_BY_CITIZEN_OID, RETAINED_AFTER_DELETION } from '../../src/sessions/account-deletion.service.ts';

/**
 * Deleting an account: everything of the citizen's is erased in one transaction, services are told,
 * the audit trail keeps only the OID, and the phone can register again.
 */
describe('deleting the account (/account/delete)', () => {
  let idp: TestIdp;
  let db: Db;
  let codeHasher: CodeHasher;
  let receiver: BackchannelReceiver;
  let logoutTokens: string[] = [];
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let consentOnlyRp: { clientId: string; clientSecret?: string; redirectUri: string };
  let rpConfig: oidc.Configuration;
  let consentOnlyConfig: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    db = idp.runtime.database.db;
    codeHasher = createCodeHasher(idp.runtime.secrets.codeHashKey);
    receiver = await startBackchannelReceiver();
    logoutTokens = receiver.logoutTokens;
    const bcl = receiver.url;
    rp = await idp.makeClient({ name: 'Мос.ру', backchannelLogoutUri: bcl });
    consentOnlyRp = await idp.makeClient({ name: 'Налоги', backchannelLogoutUri: bcl });
    rpConfig = await discoverClient(idp.issuer, rp);
    consentOnlyConfig = await discoverClient(idp.issuer, consentOnlyRp);
  });
  afterAll(async () => {
    await receiver?.close();
    await idp?.close();
  });

  const url = (path: string) => `${idp.issuer}${path}`;
  const now = () => idp.runtime.clock.now();
  let serial = 0;
  const newPhone = () => `79${String(process.pid % 100000).padStart(5, '0')}${String(++serial).padStart(4, '0')}`;
  const PASSWORD = 'Lesnaya-Tropa-2026!';

  async function isSignedIn(browser: BrowserSession): Promise<boolean> {
    const page = await browser.open(url('/account'));
    if (page.url.includes('/interaction/') && page.html.includes('/login"')) return false;
    if (page.url.startsWith(url('/account')) && page.html.includes('class="account-nav"')) return true;
    throw new Error(`unexpected page ${page.status} ${page.url}`);
  }

  async function rpSignIn(config: oidc.Configuration, client: { redirectUri: string }, citizen: { login: string; password: string }, browser = new BrowserSession()) {
    const start = await startAuthorization(config, client.redirectUri);
    const tokens = await exchangeCode(config, start, await loginThrough(browser, start, citizen.login, citizen.password));
    return { browser, tokens };
  }

  /**
   * A citizen with a trace in every table we know of, each left by the real use case where there is
   * one: registered through the flow, identity data, a changed and a pending contact, a recovery, a
   * registry check, a letter, an operator role, notification settings, sessions on two browsers,
   * tokens and a consent at two services, an authorization in flight, and security rows.
   */
  async function fullCitizen(lastName: string) {
    const phone = newPhone();
    const flow = await startRegistration(db, { hasher: idp.runtime.hasher, codeHasher }, {
      lastName, firstName: 'Ольга', middleName: 'Петровна', contactKind: 'phone', contactValue: phone, password: PASSWORD, interactionUid: null, now: now(),
    });
    const registered = await confirmRegistration(db, codeHasher, { flowId: flow.id, code: await lastCodeSentTo(db, phone), now: now() });
    if (registered.outcome !== 'registered') throw new Error(`registration: ${registered.outcome}`);
    const oid = registered.citizenOid;
    const citizenRow = () => db.selectFrom('citizens').selectAll().where('oid', '=', oid).executeTakeFirstOrThrow();

    const snils = uniqueSnils();
    await giveIdentity(db, oid, { snils });
    const email = `${phone}@example.ru`;
    const contactDeps = { db, hasher: idp.runtime.hasher, codeHasher };
    const change = await startContactChange(contactDeps, { citizen: await citizenRow(), kind: 'email', value: email, password: PASSWORD, now: now() });
    if (change.result !== 'code_sent') throw new Error('contact change');
    await confirmContactChange(contactDeps, { oid, flowId: change.flowId, code: await lastCodeSentTo(db, email), now: now() });
    const pendingEmail = `pending-${phone}@example.ru`;
    await startContactChange(contactDeps, { citizen: await citizenRow(), kind: 'email', value: pendingEmail, password: PASSWORD, now: now() });
    await startRecovery(db, codeHasher, { contact: { kind: 'phone', value: phone }, now: now() });
    await requestRegistryCheck(db, { citizenOid: oid, now: now() });
    await db.updateTable('citizens').set({ trust_level: 'standard' }).where('oid', '=', oid).execute();
    await orderConfirmationLetter(db, codeHasher, { citizenOid: oid, now: now() });
    await grantOperatorRole(db, { citizenOid: oid, serviceCentre: 'МФЦ Арбат' });
    await saveNotificationSettings(db, { oid, settings: { ...DEFAULT_NOTIFICATION_SETTINGS, logins: { email: true, sms: true } }, now: now() });

    const login = { login: `+${phone}`, password: PASSWORD };
    const account = new BrowserSession();
    await signInToAccount(account, idp.issuer, login);
    const service = await rpSignIn(rpConfig, rp, login);
    // A consent whose session is over: the service still holds a grant and must be told.
    const consentOnly = await rpSignIn(consentOnlyConfig, consentOnlyRp, login);
    const [consentSession] = await db.selectFrom('oidc_payloads').select('uid').where('model', '=', 'Session').where(sql<boolean>`payload->'authorizations' ? ${consentOnlyRp.clientId}`).where(sql<string>`payload->>'accountId'`, '=', oid).execute();
    await endSessions(idp.runtime.provider, db, { oid, which: { uids: [consentSession.uid!] } });
    // An authorization left at the login page, with the phone as login_hint.
    await openAuthorization(new BrowserSession(), await startAuthorization(rpConfig, rp.redirectUri, { login_hint: login.login }));

    // Security rows last: with SMS as a second factor the sign-ins above would ask for a code.
    await db.insertInto('second_factors').values({ citizen_oid: oid, sms_enabled_at: now() }).execute();
    await db.insertInto('recovery_codes').values({ citizen_oid: oid, code_hash: `hash-${oid}` }).execute();
    await db.insertInto('pending_logins').values({ interaction_uid: `uid-${oid}`, citizen_oid: oid, attempts_left: 3, created_at: now(), expires_at: new Date(now().getTime() + 600_000) }).execute();
    await db.insertInto('login_attempts').values({ citizen_oid: oid, created_at: now(), ip: '127.0.0.1', user_agent: 'test', device_key: 'test|127.0.0', method: 'pwd', succeeded: true }).execute();
    return { oid, phone, email, pendingEmail, snils, lastName, login, account, service, consentOnly };
  }

  // ─── The generic scan: every table of the public schema, as text ───

  const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const digitsPattern = (digits: string) => `(^|[^0-9])${digits}([^0-9]|$)`;

  async function publicTables(): Promise<string[]> {
    const { rows } = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db);
    return rows.map((r) => r.table_name);
  }

  /** Which tables hold each trace (a regex over the whole row as text), and how many rows. */
  async function scan(traces: Record<string, string>): Promise<Record<string, Record<string, number>>> {
    const found: Record<string, Record<string, number>> = {};
    for (const table of await publicTables()) {
      for (const [name, pattern] of Object.entries(traces)) {
        const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)} AS r WHERE r::text ~* ${pattern}`.execute(db);
        const count = Number(rows[0].n);
        if (count > 0) (found[table] ??= {})[name] = count;
      }
    }
    return found;
  }

  const tracesOf = (c: { oid: string; phone: string; email: string; pendingEmail: string; snils: string; lastName: string }) => ({
    oid: digitsPattern(c.oid),
    phone: digitsPattern(c.phone),
    email: escapeRegex(c.email),
    pendingEmail: escapeRegex(c.pendingEmail),
    snils: digitsPattern(c.snils),
    lastName: c.lastName,
  });

  async function deleteThroughPage(browser: BrowserSession, fields: Record<string, string>): Promise<Page> {
    const form = await browser.open(url('/account/delete'));
    return browser.submit(url('/account/delete'), { _csrf: csrfToken(form), ...fields });
  }

  it('asks for the password and the typed word before deleting anything', async () => {
    const citizen = await idp.makeCitizen({ password: PASSWORD });
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    const form = await browser.open(url('/account/delete'));
    expect(form.html).toContain('Удаление нельзя отменить');

    const wrong = await deleteThroughPage(browser, { password: 'Chuzhoj-Parol-1!', confirm: 'УДАЛИТЬ' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toMatch(/data-error-for="password">Неверный пароль</);
    const unconfirmed = await deleteThroughPage(browser, { password: PASSWORD, confirm: 'удолить' });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.html).toMatch(/data-error-for="confirm">Введите слово УДАЛИТЬ/);
    expect(unconfirmed.html).not.toContain(PASSWORD);
    expect((await browser.submit(url('/account/delete'), { password: PASSWORD, confirm: 'УДАЛИТЬ' })).status).toBe(403);

    expect(await db.selectFrom('citizens').select('oid').where('oid', '=', citizen.oid).executeTakeFirst()).toBeDefined();
    expect(await isSignedIn(browser)).toBe(true);
  });

  it('erases every trace of the citizen from every table, tells the services, keeps an audit event with the OID only', async () => {
    const bystander = await fullCitizen('Соседова');
    const citizen = await fullCitizen('Стираемова');
    const traces = tracesOf(citizen);

    // The scan sees the citizen everywhere beforehand, so an empty result afterwards means something.
    const before = await scan(traces);
    for (const table of ['citizens', 'citizen_documents', 'registration_flows', 'recovery_flows', 'contact_change_flows', 'one_time_codes', 'outbox_messages', 'registry_checks', 'oidc_payloads', 'grant_activity', 'session_devices', 'audit_events']) {
      expect(Object.keys(before[table] ?? {}), table).not.toEqual([]);
    }
    expect(before.outbox_messages).toMatchObject({ phone: expect.any(Number), email: expect.any(Number), pendingEmail: expect.any(Number), lastName: expect.any(Number) });
    const bystanderBefore = await scan(tracesOf(bystander));

    logoutTokens.length = 0;
    const done = await deleteThroughPage(citizen.account, { password: PASSWORD, confirm: ' удалить ' });
    expect(done.url).toBe(url('/account/delete/done'));
    expect(done.html).toContain('Учётная запись удалена');

    // Nothing anywhere: not the OID (outside the audit trail), not a contact, the SNILS or the name.
    const after = await scan(traces);
    expect(after).toEqual({ audit_events: { oid: expect.any(Number) } });
    const trail = await db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).orderBy('id').execute();
    expect(trail.at(-1)).toMatchObject({ type: 'citizen.deleted', actor: { type: 'citizen', oid: citizen.oid }, details: {} });

    // The neighbour at the same address keeps everything, their letter included.
    expect(await scan(tracesOf(bystander))).toEqual(bystanderBefore);
    expect(await isSignedIn(bystander.account)).toBe(true);
    expect((await oidc.tokenIntrospection(rpConfig, bystander.service.tokens.access_token)).active).toBe(true);

    // Signed out everywhere; the services' tokens are dead and both services were told.
    expect(await isSignedIn(citizen.account)).toBe(false);
    expect(await isSignedIn(citizen.service.browser)).toBe(false);
    expect((await oidc.tokenIntrospection(rpConfig, citizen.service.tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(consentOnlyConfig, citizen.consentOnly.tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(rpConfig, citizen.service.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const told = logoutTokens.map((t) => decodeJwt(t));
    expect(told.map((t) => t.sub)).toEqual(told.map(() => citizen.oid));
    expect(new Set(told.map((t) => t.aud))).toEqual(new Set([rp.clientId, consentOnlyRp.clientId]));

    // The phone is free again; the OID is never handed out again.
    const again = await idp.makeCitizen({ phone: citizen.phone, password: PASSWORD });
    expect(BigInt(again.oid)).toBeGreaterThan(BigInt(citizen.oid));
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen.login);
    expect((await browser.open(url('/account'))).html).toContain(again.oid);
  });

  it('covers every table that names a citizen: each is erased or kept on purpose', async () => {
    const { rows } = await sql<{ table_name: string }>`
      SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'citizen_oid'
      UNION
      SELECT DISTINCT tc.table_name
        FROM information_schema.table_constraints tc
        JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
       WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public' AND ccu.table_name = 'citizens'`.execute(db);
    const covered = new Set<string>([...ERASED_BY_CITIZEN_OID, ...Object.keys(ERASED_BY_AREA), ...Object.keys(RETAINED_AFTER_DELETION)]);
    expect(rows.map((r) => r.table_name).filter((table) => !covered.has(table))).toEqual([]);
  });

  it('leaves the whole account in place when the deletion fails half-way', async () => {
    const citizen = await fullCitizen('Уцелевшая');
    const traces = tracesOf(citizen);
    const before = await scan(traces);
    const auditBefore = await db.selectFrom('audit_events').select('id').where('citizen_oid', '=', citizen.oid).execute();
    // A crash in the middle: deleting the citizen's addresses fails after codes, messages, tokens and sessions went.
    const oid = BigInt(citizen.oid).toString();
    await sql`CREATE FUNCTION refuse_address_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF OLD.citizen_oid = ${sql.raw(oid)} THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN OLD; END $$`.execute(db);
    await sql`CREATE TRIGGER refuse_address_deletion BEFORE DELETE ON citizen_addresses FOR EACH ROW EXECUTE FUNCTION refuse_address_deletion()`.execute(db);
    try {
      logoutTokens.length = 0;
      const failed = await deleteThroughPage(citizen.account, { password: PASSWORD, confirm: 'УДАЛИТЬ' });
      expect(failed.status).toBe(500);
      expect(await scan(traces)).toEqual(before);
      expect(await db.selectFrom('audit_events').select('id').where('citizen_oid', '=', citizen.oid).execute()).toEqual(auditBefore);
      expect(logoutTokens).toEqual([]);
      expect(await isSignedIn(citizen.account)).toBe(true);
      expect((await oidc.tokenIntrospection(rpConfig, citizen.service.tokens.access_token)).active).toBe(true);
    } finally {
      await sql`DROP TRIGGER refuse_address_deletion ON citizen_addresses`.execute(db);
      await sql`DROP FUNCTION refuse_address_deletion()`.execute(db);
    }
    const done = await deleteThroughPage(citizen.account, { password: PASSWORD, confirm: 'УДАЛИТЬ' });
    expect(done.url).toBe(url('/account/delete/done'));
    expect(await scan(traces)).toEqual({ audit_events: { oid: expect.any(Number) } });
  });
});
