import { startBackchannelReceiver, type BackchannelReceiver } from '../support/backchannel.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt } from 'jose';
import { sql } from 'kysely';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, openAuthorization, startAuthorization } from '../support/oidc.ts';
import type { Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { messagesTo } from '../support/outbox.ts';
import type { Db } from '../../src/db/database.ts';
import { notificationChannelsFor } from '../../src/sessions/notification-settings.ts';

const FIREFOX_ON_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const IDLE = 30 * 60;
const MINUTE = 60;

describe('sessions, password and notifications (/account/security)', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let db: Db;
  let receiver: BackchannelReceiver;
  let logoutTokens: string[] = [];
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let rpConfig: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp({ clock, env: { SESSION_IDLE_TTL: String(IDLE), SESSION_TTL: String(12 * 3600) } });
    db = idp.runtime.database.db;
    receiver = await startBackchannelReceiver();
    logoutTokens = receiver.logoutTokens;
    rp = await idp.makeClient({ name: 'Мос.ру', backchannelLogoutUri: receiver.url });
    rpConfig = await discoverClient(idp.issuer, rp);
  });
  afterAll(async () => {
    await receiver?.close();
    await idp?.close();
  });
  // oidc-provider stamps sign-ins with the real time; each test starts with our clock beside it.
  beforeEach(() => clock.set(new Date()));

  const url = (path: string) => `${idp.issuer}${path}`;
  let phones = 0;
  const newPhone = () => `79${String(process.pid % 100000).padStart(5, '0')}${String(++phones).padStart(4, '0')}`;

  /** A browser signed in to the account console (optionally with a given User-Agent for the sign-in). */
  async function signedInBrowser(citizen: { login: string; password: string }, userAgent?: string): Promise<BrowserSession> {
    const browser = new BrowserSession();
    if (!userAgent) {
      await signInToAccount(browser, idp.issuer, citizen);
      return browser;
    }
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) =>
      realFetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'user-agent': userAgent } }),
    );
    try {
      await signInToAccount(browser, idp.issuer, citizen);
    } finally {
      spy.mockRestore();
    }
    return browser;
  }

  /** A browser that signed in to the RP (without offline_access): its tokens end with its session. */
  async function rpBrowser(citizen: { login: string; password: string }, params: Record<string, string> = {}) {
    const browser = new BrowserSession();
    const start = await startAuthorization(rpConfig, rp.redirectUri, params);
    const tokens = await exchangeCode(rpConfig, start, await loginThrough(browser, start, citizen.login, citizen.password));
    return { browser, tokens };
  }

  /** Signed in: /account shows the account; signed out: it leads to the login page of an authorization. */
  async function isSignedIn(browser: BrowserSession): Promise<boolean> {
    const page = await browser.open(url('/account'));
    if (page.url.includes('/interaction/') && page.html.includes('/login"')) return false;
    if (page.url.startsWith(url('/account')) && page.html.includes('class="account-nav"')) return true;
    throw new Error(`unexpected page ${page.status} ${page.url}`);
  }

  const sessionsPage = (browser: BrowserSession) => browser.open(url('/account/security/sessions'));
  function listed(page: Page): Array<{ uid: string; current: boolean; block: string }> {
    return [...page.html.matchAll(/<li class="session" data-session="([^"]+)"( data-current="true")?>([\s\S]*?)<\/li>/g)].map((m) => ({ uid: m[1], current: Boolean(m[2]), block: m[3] }));
  }
  const field = (block: string, name: string) => block.match(new RegExp(`data-${name}>([^<]*)<`))?.[1]?.trim();
  const endSession = (browser: BrowserSession, page: Page, uid: string) => browser.submit(url('/account/security/sessions/end'), { _csrf: csrfToken(page), session: uid });
  const endOthers = (browser: BrowserSession, page: Page) => browser.submit(url('/account/security/sessions/end-others'), { _csrf: csrfToken(page) });
  const sessionRow = (uid: string) => db.selectFrom('oidc_payloads').selectAll().where('model', '=', 'Session').where('uid', '=', uid).executeTakeFirst();
  const auditOf = (oid: string, type: string) => db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', oid).where('type', '=', type).execute();
  const logoutsFor = (oid: string) => logoutTokens.map((token) => decodeJwt(token)).filter((claims) => claims.sub === oid);

  describe('active sessions', () => {
    it('lists every session with the device and address it signed in from and the services used with it; this browser first', async () => {
      const citizen = await idp.makeCitizen();
      const firefox = await signedInBrowser(citizen, FIREFOX_ON_WINDOWS);
      await rpBrowser(citizen);

      const page = await sessionsPage(firefox);
      expect(page.status).toBe(200);
      const [current, other, ...rest] = listed(page);
      expect(rest).toEqual([]);
      expect(current.current).toBe(true);
      expect(field(current.block, 'device')).toBe('Firefox, Windows');
      expect(field(current.block, 'user-agent')).toBe(FIREFOX_ON_WINDOWS);
      expect(field(current.block, 'ip')).toBe('127.0.0.1');
      expect(field(current.block, 'services')).toBe('только личный кабинет');
      expect(current.block).toContain('Это устройство');
      expect(current.block).not.toContain('/sessions/end');
      expect(other.current).toBe(false);
      expect(field(other.block, 'ip')).toBe('127.0.0.1');
      expect(field(other.block, 'services')).toBe('Мос.ру');
      expect(field(other.block, 'last-seen')).toMatch(/\(МСК\)$/);
      expect(page.html).toContain('Завершить все, кроме текущего');
      // The session cookie's value (the Session id) is never on the page; the uid is.
      const stored = await sessionRow(current.uid);
      expect(page.html).not.toContain(stored!.id);
    });

    it('records activity on account pages at most once a minute, and keeps the sign-in device', async () => {
      const citizen = await idp.makeCitizen();
      const browser = await signedInBrowser(citizen, FIREFOX_ON_WINDOWS);
      const [session] = listed(await sessionsPage(browser));
      const device = () => db.selectFrom('session_devices').selectAll().where('session_uid', '=', session.uid).executeTakeFirstOrThrow();
      const first = await device();

      clock.advance(30);
      await browser.open(url('/account'));
      expect((await device()).last_seen_at).toEqual(first.last_seen_at);

      clock.advance(MINUTE);
      await browser.open(url('/account'));
      const later = await device();
      expect(later.last_seen_at).toEqual(clock.now());
      // The page views came from the default test User-Agent; the session still names the sign-in device.
      expect(later.user_agent).toBe(FIREFOX_ON_WINDOWS);
      expect(later.signed_in_at).toEqual(first.signed_in_at);
    });

    it('ends one session: that browser is signed out, its RP tokens stop working and the RP gets a back-channel logout', async () => {
      const citizen = await idp.makeCitizen();
      const mine = await signedInBrowser(citizen);
      const elsewhere = await rpBrowser(citizen);
      const offline = await rpBrowser(citizen, { scope: 'openid fullname offline_access', prompt: 'consent' });
      expect(await isSignedIn(elsewhere.browser)).toBe(true);

      const page = await sessionsPage(mine);
      const others = listed(page).filter((s) => !s.current);
      expect(others).toHaveLength(2);
      const rpSids = Object.fromEntries(
        await Promise.all(others.map(async (s) => [s.uid, ((await sessionRow(s.uid))!.payload.authorizations as Record<string, { sid: string }>)[rp.clientId].sid])),
      );
      // The plain sign-in is the session its refresh token is bound to (the offline one's is not bound).
      const bound = await db
        .selectFrom('oidc_payloads')
        .select(sql<string>`payload->>'sessionUid'`.as('session'))
        .where('model', '=', 'RefreshToken')
        .where(sql<string>`payload->>'expiresWithSession'`, '=', 'true')
        .execute();
      const plainUid = others.map((s) => s.uid).find((uid) => bound.some((b) => b.session === uid))!;
      expect(plainUid).toBeDefined();

      logoutTokens.length = 0;
      const done = await endSession(mine, page, plainUid);
      expect(done.url).toBe(url('/account/security/sessions?done=ended'));
      expect(done.html).toContain('Сеанс завершён');
      expect(listed(done).map((s) => s.uid)).not.toContain(plainUid);
      expect(await sessionRow(plainUid)).toBeUndefined();

      expect(await isSignedIn(elsewhere.browser)).toBe(false);
      expect((await oidc.tokenIntrospection(rpConfig, elsewhere.tokens.access_token)).active).toBe(false);
      await expect(oidc.refreshTokenGrant(rpConfig, elsewhere.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(logoutsFor(citizen.oid)).toEqual([expect.objectContaining({ aud: rp.clientId, sid: rpSids[plainUid], events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })]);

      // What was not that session's goes on: this browser, the other session and its offline_access token.
      expect(await isSignedIn(mine)).toBe(true);
      expect(await isSignedIn(offline.browser)).toBe(true);
      expect(offline.tokens.refresh_token).toBeTruthy();
      expect((await oidc.refreshTokenGrant(rpConfig, offline.tokens.refresh_token!)).access_token).toBeTruthy();
      expect(await auditOf(citizen.oid, 'session.ended')).toMatchObject([{ details: { sessions: 1, reason: 'citizen' } }]);
    });

    it('«Завершить все, кроме текущего» signs every other browser out and keeps this one', async () => {
      const citizen = await idp.makeCitizen();
      const mine = await signedInBrowser(citizen);
      const second = await signedInBrowser(citizen);
      const third = await rpBrowser(citizen);

      logoutTokens.length = 0;
      const done = await endOthers(mine, await sessionsPage(mine));
      expect(done.url).toBe(url('/account/security/sessions?done=ended_others&count=2'));
      expect(done.html).toContain('Завершено сеансов: 2.');
      expect(done.html).toContain('Других активных сеансов нет.');
      expect(listed(done)).toHaveLength(1);
      expect(await isSignedIn(second)).toBe(false);
      expect(await isSignedIn(third.browser)).toBe(false);
      await expect(oidc.refreshTokenGrant(rpConfig, third.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(logoutsFor(citizen.oid)).toHaveLength(1);
      expect(await isSignedIn(mine)).toBe(true);
      expect(await db.selectFrom('session_devices').select('session_uid').where('citizen_oid', '=', citizen.oid).execute()).toHaveLength(1);
    });

    it('cannot end another citizen\'s session, nor its own from the list, nor without the form\'s token', async () => {
      const victim = await idp.makeCitizen();
      const victimBrowser = await signedInBrowser(victim);
      const [victimSession] = listed(await sessionsPage(victimBrowser));

      const stranger = await idp.makeCitizen();
      const strangerBrowser = await signedInBrowser(stranger);
      // Alone in the list, the stranger's page has no form; any page's token will do.
      const strangerPage = await sessionsPage(strangerBrowser);
      const withToken = await strangerBrowser.open(url('/account/security/password'));
      const attempt = await endSession(strangerBrowser, withToken, victimSession.uid);
      expect(attempt.html).toContain('Сеанс уже завершён.');
      expect(await isSignedIn(victimBrowser)).toBe(true);

      const own = listed(strangerPage)[0];
      expect((await endSession(strangerBrowser, withToken, own.uid)).status).toBe(400);
      expect((await strangerBrowser.submit(url('/account/security/sessions/end-others'), {})).status).toBe(403);
      expect(await isSignedIn(strangerBrowser)).toBe(true);
    });

    it('sends a signed-out browser to sign in first', async () => {
      const page = await new BrowserSession().open(url('/account/security/sessions'));
      expect(page.url).toContain('/interaction/');
      expect(page.html).toContain('/login"');
    });
  });

  describe('session lifetime', () => {
    it('ends a session unused for the idle timeout; using the account pages keeps it alive', async () => {
      const citizen = await idp.makeCitizen();
      const browser = await signedInBrowser(citizen);
      clock.advance(20 * MINUTE);
      expect(await isSignedIn(browser)).toBe(true);
      clock.advance(20 * MINUTE); // 40 minutes after signing in, 20 after the last use
      expect(await isSignedIn(browser)).toBe(true);
      clock.advance(IDLE + 1);
      expect(await isSignedIn(browser)).toBe(false);
    });

    it('slides with every sign-in to a service through the session, and ends when it stops', async () => {
      const citizen = await idp.makeCitizen();
      const browser = new BrowserSession();
      await loginThrough(browser, await startAuthorization(rpConfig, rp.redirectUri), citizen.login, citizen.password);
      const silentSignIn = async () => openAuthorization(browser, await startAuthorization(rpConfig, rp.redirectUri));

      clock.advance(20 * MINUTE);
      expect((await silentSignIn()).url.startsWith(rp.redirectUri)).toBe(true);
      clock.advance(20 * MINUTE);
      expect((await silentSignIn()).url.startsWith(rp.redirectUri)).toBe(true);
      clock.advance(IDLE + 1);
      const asked = await silentSignIn();
      expect(asked.url).toContain('/interaction/');
      expect(asked.html).toContain('/login"');
    });

    it('ends a session 12 hours after sign-in however busy it is', async () => {
      // The sign-in time is oidc-provider's, on the real clock: here that clock moves with ours.
      vi.useFakeTimers({ toFake: ['Date'], now: clock.now() });
      try {
        const citizen = await idp.makeCitizen();
        const browser = await signedInBrowser(citizen);
        const step = async () => {
          clock.advance(25 * MINUTE);
          vi.setSystemTime(clock.now());
        };
        let elapsed = 0;
        while (elapsed + 25 * MINUTE < 12 * 3600) {
          await step();
          elapsed += 25 * MINUTE;
          expect(await isSignedIn(browser)).toBe(true);
        }
        await step();
        expect(await isSignedIn(browser)).toBe(false);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('password change', () => {
    const change = async (browser: BrowserSession, fields: Record<string, string>) => {
      const form = await browser.open(url('/account/security/password'));
      return browser.submit(url('/account/security/password'), { _csrf: csrfToken(form), ...fields });
    };
    const errorOf = (page: Page, id: string) => page.html.match(new RegExp(`data-error-for="${id}">([\\s\\S]*?)</span>`))?.[1];
    const NEW_PASSWORD = 'Zvezda-Polyarnaya-58!';

    it('refuses a wrong current password, a weak or mismatched new one, and never echoes what was typed', async () => {
      const citizen = await idp.makeCitizen();
      const browser = await signedInBrowser(citizen);
      const hashBefore = (await db.selectFrom('citizens').select('password_hash').where('oid', '=', citizen.oid).executeTakeFirstOrThrow()).password_hash;

      const wrong = await change(browser, { current_password: 'Not-My-Password-1!', password: NEW_PASSWORD, password_repeat: NEW_PASSWORD });
      expect(wrong.status).toBe(400);
      expect(errorOf(wrong, 'current_password')).toBe('Неверный пароль');
      expect(wrong.html).not.toContain('Not-My-Password-1!');
      expect(wrong.html).not.toContain(NEW_PASSWORD);

      const weak = await change(browser, { current_password: citizen.password, password: 'qwerty', password_repeat: 'qwertz' });
      expect(weak.status).toBe(400);
      expect(errorOf(weak, 'password')).toContain('не менее 8 символов');
      expect(errorOf(weak, 'password_repeat')).toBe('Пароли не совпадают');
      expect(errorOf(weak, 'current_password')).toBeUndefined();

      const same = await change(browser, { current_password: citizen.password, password: citizen.password, password_repeat: citizen.password });
      expect(errorOf(same, 'password')).toBe('Новый пароль совпадает с текущим');

      const empty = await change(browser, {});
      expect(errorOf(empty, 'current_password')).toBe('Введите текущий пароль');
      expect(errorOf(empty, 'password')).toBe('Введите пароль');

      const hashAfter = (await db.selectFrom('citizens').select('password_hash').where('oid', '=', citizen.oid).executeTakeFirstOrThrow()).password_hash;
      expect(hashAfter).toBe(hashBefore);
      expect(await auditOf(citizen.oid, 'password.changed')).toEqual([]);
      expect(await messagesTo(db, citizen.login.slice(1))).toEqual([]);
    });

    it('changes the password, ends every other session (the RP is told), keeps this one and sends a security notice', async () => {
      const citizen = await idp.makeCitizen();
      const mine = await signedInBrowser(citizen);
      const other = await rpBrowser(citizen);

      logoutTokens.length = 0;
      const done = await change(mine, { current_password: citizen.password, password: NEW_PASSWORD, password_repeat: NEW_PASSWORD });
      expect(done.url).toBe(url('/account/security/password?done=password_changed&count=1'));
      expect(done.html).toContain('Пароль изменён. Завершено сеансов на других устройствах: 1.');

      expect(await isSignedIn(mine)).toBe(true);
      expect(await isSignedIn(other.browser)).toBe(false);
      await expect(oidc.refreshTokenGrant(rpConfig, other.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect(logoutsFor(citizen.oid)).toEqual([expect.objectContaining({ aud: rp.clientId })]);

      await expect(signedInBrowser(citizen)).rejects.toThrow();
      expect(await isSignedIn(await signedInBrowser({ login: citizen.login, password: NEW_PASSWORD }))).toBe(true);

      const notices = (await messagesTo(db, citizen.login.slice(1))).filter((m) => m.template === 'security_notice');
      expect(notices).toMatchObject([{ channel: 'sms', payload: { event: 'password_changed' } }]);
      expect(await auditOf(citizen.oid, 'password.changed')).toMatchObject([{ details: { sessionsEnded: 1 } }]);
    });
  });

  describe('notification settings', () => {
    const settingsPage = (browser: BrowserSession) => browser.open(url('/account/security/notifications'));
    const save = async (browser: BrowserSession, ticked: string[]) => {
      const page = await settingsPage(browser);
      return browser.submit(url('/account/security/notifications'), { _csrf: csrfToken(page), ...Object.fromEntries(ticked.map((name) => [name, 'on'])) });
    };
    const checkbox = (page: Page, name: string) => page.html.match(new RegExp(`<input type="checkbox" id="${name}"[^>]*>`))?.[0] ?? '';

    it('shows the defaults, saves the choice, and others send by it', async () => {
      const phone = newPhone();
      const email = `notify-${phone}@example.ru`;
      const citizen = await idp.makeCitizen({ phone, email });
      const browser = await signedInBrowser(citizen);

      const defaults = await settingsPage(browser);
      expect(checkbox(defaults, 'security-email')).toContain('checked');
      expect(checkbox(defaults, 'security-sms')).toContain('checked');
      expect(checkbox(defaults, 'logins-email')).toContain('checked');
      expect(checkbox(defaults, 'logins-sms')).not.toContain('checked');
      expect(await notificationChannelsFor(db, citizen.oid, 'security')).toEqual([{ channel: 'email', recipient: email }, { channel: 'sms', recipient: phone }]);

      const saved = await save(browser, ['logins-sms', 'security-sms', 'linked_services-email']);
      expect(saved.url).toBe(url('/account/security/notifications?done=notifications_saved'));
      expect(saved.html).toContain('Настройки уведомлений сохранены.');
      expect(checkbox(saved, 'logins-sms')).toContain('checked');
      expect(checkbox(saved, 'logins-email')).not.toContain('checked');
      expect(checkbox(saved, 'security-email')).not.toContain('checked');
      expect(await notificationChannelsFor(db, citizen.oid, 'logins')).toEqual([{ channel: 'sms', recipient: phone }]);
      expect(await notificationChannelsFor(db, citizen.oid, 'security')).toEqual([{ channel: 'sms', recipient: phone }]);
      expect(await notificationChannelsFor(db, citizen.oid, 'linked_services')).toEqual([{ channel: 'email', recipient: email }]);
      expect(await auditOf(citizen.oid, 'notifications.updated')).toHaveLength(1);

      // The password change's notice follows the choice: SMS only.
      const form = await browser.open(url('/account/security/password'));
      await browser.submit(url('/account/security/password'), { _csrf: csrfToken(form), current_password: citizen.password, password: 'Severnoe-Siyanie-77?', password_repeat: 'Severnoe-Siyanie-77?' });
      expect((await messagesTo(db, phone)).filter((m) => m.template === 'security_notice')).toHaveLength(1);
      expect((await messagesTo(db, email)).filter((m) => m.template === 'security_notice')).toHaveLength(0);
    });

    it('refuses to switch security notices off entirely, and keeps the previous choice', async () => {
      const phone = newPhone();
      const citizen = await idp.makeCitizen({ phone, email: `off-${phone}@example.ru` });
      const browser = await signedInBrowser(citizen);
      const refused = await save(browser, ['logins-email']);
      expect(refused.status).toBe(400);
      expect(refused.html).toContain('Выберите хотя бы один способ получать уведомления об изменениях безопасности.');
      expect(checkbox(refused, 'security-email')).toContain('aria-invalid="true"');
      expect(await db.selectFrom('notification_preferences').selectAll().where('citizen_oid', '=', citizen.oid).execute()).toEqual([]);
    });

    it('offers only the channels the citizen has a contact for', async () => {
      const citizen = await idp.makeCitizen();
      const browser = await signedInBrowser(citizen);
      const page = await settingsPage(browser);
      expect(checkbox(page, 'security-email')).toContain('disabled');
      expect(checkbox(page, 'security-email')).not.toContain('checked');
      expect(page.html).toContain('Добавить телефон или почту');
      // Ticking e-mail anyway (a forged form) does not count: security would have no channel left.
      expect((await save(browser, ['security-email'])).status).toBe(400);
    });

    it('still delivers security notices when the chosen channel lost its contact', async () => {
      const phone = newPhone();
      const email = `lost-${phone}@example.ru`;
      const citizen = await idp.makeCitizen({ phone, email });
      const browser = await signedInBrowser(citizen);
      await save(browser, ['security-email', 'logins-email']);
      await db.updateTable('citizens').set({ email: null }).where('oid', '=', citizen.oid).execute();
      expect(await notificationChannelsFor(db, citizen.oid, 'security')).toEqual([{ channel: 'sms', recipient: phone }]);
      // Other kinds do not fall back: the citizen chose e-mail only.
      expect(await notificationChannelsFor(db, citizen.oid, 'logins')).toEqual([]);
    });
  });
});
