import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { signInToAccount } from '../support/account.ts';
import { BrowserSession, formAction } from '../support/browser-session.ts';
import { messagesTo } from '../support/outbox.ts';
import { enrolTotp, submitSecondFactor, totpCode, withHeaders } from './security-support.ts';

const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const CHROME_WINDOWS_NEWER = CHROME_WINDOWS.replace('Chrome/124.0.0.0', 'Chrome/125.0.1.2');
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0';

describe('«История входов» and new-device notices', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  const db = () => idp.runtime.database.db;

  beforeAll(async () => {
    idp = await startTestIdp({ clock, env: { TRUST_PROXY: '1' } });
  });
  afterAll(() => idp?.close());

  const from = (userAgent: string, ip: string) => <T>(work: () => Promise<T>) => withHeaders({ 'user-agent': userAgent, 'x-forwarded-for': ip }, work);

  async function signIn(citizen: { login: string; password: string }, device: ReturnType<typeof from>) {
    const browser = new BrowserSession();
    await device(() => signInToAccount(browser, idp.issuer, citizen));
    return browser;
  }

  const newDeviceNotices = async (email: string) => (await messagesTo(db(), email)).filter((m) => m.payload.event === 'new_device');

  it('tells the citizen about a sign-in from a new browser or network, not about the usual ones', async () => {
    // Sign-in notices go by e-mail unless the citizen chose otherwise (sessions/notification-settings.ts).
    const email = 'novoe.ustrojstvo@example.ru';
    const citizen = await idp.makeCitizen({ email });
    await signIn(citizen, from(CHROME_WINDOWS, '198.51.100.10'));
    expect(await newDeviceNotices(email)).toEqual([]); // the very first sign-in has nothing to compare with
    // The same browser after an update, from another address in the same /24: the same device.
    await signIn(citizen, from(CHROME_WINDOWS_NEWER, '198.51.100.99'));
    expect(await newDeviceNotices(email)).toEqual([]);

    await signIn(citizen, from(FIREFOX_LINUX, '198.51.100.10'));
    const [firefox] = await newDeviceNotices(email);
    expect(firefox).toMatchObject({ channel: 'email', template: 'security_notice', payload: { event: 'new_device', device: 'Firefox, Linux, IP 198.51.100.10' } });

    await signIn(citizen, from(CHROME_WINDOWS, '192.0.2.44'));
    expect((await newDeviceNotices(email)).map((m) => m.payload.device)).toEqual(['Firefox, Linux, IP 198.51.100.10', 'Chrome, Windows, IP 192.0.2.44']);
    // Known by now.
    await signIn(citizen, from(FIREFOX_LINUX, '198.51.100.11'));
    expect(await newDeviceNotices(email)).toHaveLength(2);
  });

  it('lists every attempt newest first with method, service, device and the reason it failed', async () => {
    const citizen = await idp.makeCitizen();
    const chrome = from(CHROME_WINDOWS, '203.0.113.20');
    const browser = await signIn(citizen, chrome);
    const { secret } = await enrolTotp(browser, idp.issuer, clock);
    clock.advance(60);

    // A wrong password, then the password with a wrong app code, then a right one.
    const other = new BrowserSession();
    const login = await chrome(() => other.open(`${idp.issuer}/account`));
    await chrome(() => other.submit(formAction(login, '/login'), { login: citizen.login, password: 'Wrong-Password-1' }));
    const second = await chrome(() => other.submit(formAction(login, '/login'), { login: citizen.login, password: citizen.password }));
    const wrong = await chrome(async () => submitSecondFactor(other, second, 'totp', await totpCode(secret, clock, 7), () => false));
    await chrome(async () => submitSecondFactor(other, wrong, 'totp', await totpCode(secret, clock), () => false));
    // Attempts on logins nobody has are not anyone's history.
    const countAttempts = async () => Number((await db().selectFrom('login_attempts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const before = await countAttempts();
    const stranger = new BrowserSession();
    const strangerLogin = await chrome(() => stranger.open(`${idp.issuer}/account`));
    expect((await chrome(() => stranger.submit(formAction(strangerLogin, '/login'), { login: 'nobody@example.ru', password: 'Wrong-Password-1' }))).status).toBe(401);
    expect(await countAttempts()).toBe(before);

    const history = await browser.open(`${idp.issuer}/account/security/history`);
    expect(history.status).toBe(200);
    expect(history.headers.get('cache-control')).toBe('no-store');
    const rows = [...history.html.matchAll(/<tr data-attempt data-outcome="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({ outcome: m[1], text: m[2].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() }));
    expect(rows.map((r) => r.outcome)).toEqual(['success', 'wrong_code', 'second_factor_requested', 'wrong_password', 'success']);
    expect(rows[0].text).toContain('Приложение-аутентификатор');
    expect(rows[0].text).toContain('Госуслуги: личный кабинет');
    expect(rows[0].text).toContain('Chrome, Windows');
    expect(rows[0].text).toContain('IP 203.0.113.20');
    expect(rows[0].text).toContain('Вход выполнен');
    expect(rows[1].text).toContain('Неверный код');
    expect(rows[2].text).toContain('Пароль верный, запрошено подтверждение');
    expect(rows[3].text).toMatch(/Пароль .*Неверный пароль/);
  });

  it('pages the history by 20', async () => {
    const citizen = await idp.makeCitizen();
    const browser = await signIn(citizen, from(CHROME_WINDOWS, '203.0.113.30'));
    const base = clock.now().getTime();
    await db()
      .insertInto('login_attempts')
      .values(Array.from({ length: 24 }, (_, i) => ({
        citizen_oid: citizen.oid, created_at: new Date(base - (i + 1) * 60_000), ip: '203.0.113.30', user_agent: CHROME_WINDOWS,
        device_key: 'Chrome/Windows|203.0.113.0/24', method: 'pwd' as const, client_id: null, client_name: `Сервис №${i + 1}`, succeeded: false, reason: 'wrong_password',
      })))
      .execute();
    const first = await browser.open(`${idp.issuer}/account/security/history`);
    expect(first.html.match(/<tr data-attempt/g)).toHaveLength(20);
    expect(first.html).not.toContain('rel="prev"');
    const older = first.html.match(/<a href="([^"]+)" rel="next">/)?.[1];
    expect(older).toBe('/account/security/history?page=2');
    const second = await browser.open(`${idp.issuer}${older}`);
    // 25 attempts: the real sign-in and 24 earlier ones; page 2 holds the five oldest, oldest last.
    expect(second.html.match(/<tr data-attempt/g)).toHaveLength(5);
    expect(second.html).toContain('Сервис №20');
    expect(second.html.indexOf('Сервис №20')).toBeLessThan(second.html.indexOf('Сервис №24'));
    expect(second.html).not.toContain('rel="next"');
    expect(second.html).toContain('href="/account/security/history" rel="prev"');
  });
});
