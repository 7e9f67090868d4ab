import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { findCitizenByOid } from '../../src/citizens/citizens.repository.ts';
import { pruneEverything } from '../../src/oidc/prune.ts';
import { listLoginAttempts, recordLoginAttempt } from '../../src/security/login-history.ts';
import { BrowserSession, formAction } from '../support/browser-session.ts';
import { signInToAccount } from '../support/account.ts';
import { createTestClock } from '../support/clock.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';

/**
 * «История входов» is kept for LOGIN_HISTORY_DAYS (180 by default), then the prune run deletes it:
 * login_attempts would otherwise grow with every sign-in forever.
 */

const DAY = 24 * 3600;

describe('login history retention (LOGIN_HISTORY_DAYS)', () => {
  const clock = createTestClock(new Date('2026-01-10T09:00:00Z'));
  let idp: TestIdp;
  const db = () => idp.runtime.database.db;
  const historyOf = async (oid: string) => (await listLoginAttempts(db(), oid, 1)).attempts.map((a) => ({ at: a.created_at.toISOString(), succeeded: a.succeeded }));

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
  });
  afterAll(() => idp?.close());

  async function wrongPassword(login: string): Promise<void> {
    const browser = new BrowserSession();
    const page = await browser.open(`${idp.issuer}/account`);
    const after = await browser.submit(formAction(page, '/login'), { login, password: 'Not-The-Password-1!' });
    expect(after.status).toBe(401);
  }

  it('the prune run deletes attempts older than the retention and keeps newer ones, for every citizen', async () => {
    const citizen = await idp.makeCitizen();
    const neighbour = await idp.makeCitizen();
    await signInToAccount(new BrowserSession(), idp.issuer, citizen);
    await wrongPassword(citizen.login);
    await signInToAccount(new BrowserSession(), idp.issuer, neighbour);
    clock.advance(100 * DAY);
    const later = clock.now();
    await signInToAccount(new BrowserSession(), idp.issuer, citizen);
    expect(await historyOf(citizen.oid)).toHaveLength(3);

    // 181 days after the first sign-ins: those are past 180 days, the one from day 100 is not.
    clock.advance(81 * DAY);
    await pruneEverything(db(), clock, { loginHistoryDays: 180 });
    expect(await historyOf(citizen.oid)).toEqual([{ at: later.toISOString(), succeeded: true }]);
    expect(await historyOf(neighbour.oid)).toEqual([]);

    // A second run has nothing more to do with the same retention; a shorter one takes the rest.
    await pruneEverything(db(), clock, { loginHistoryDays: 180 });
    expect(await historyOf(citizen.oid)).toHaveLength(1);
    await pruneEverything(db(), clock, { loginHistoryDays: 30 });
    expect(await historyOf(citizen.oid)).toEqual([]);
  });

  it('keeps an attempt exactly LOGIN_HISTORY_DAYS old and deletes one a second older', async () => {
    const { oid } = await idp.makeCitizen();
    const citizen = (await findCitizenByOid(db(), oid))!;
    const now = clock.now();
    const attempt = (secondsAgo: number) =>
      recordLoginAttempt(db(), { citizen, now: new Date(now.getTime() - secondsAgo * 1000), ip: '198.51.100.7', userAgent: 'test', method: 'pwd', succeeded: false, reason: 'wrong_password' });
    await attempt(7 * DAY);
    await attempt(7 * DAY + 1);
    await pruneEverything(db(), clock, { loginHistoryDays: 7 });
    expect(await historyOf(oid)).toEqual([{ at: new Date(now.getTime() - 7 * DAY * 1000).toISOString(), succeeded: false }]);
  });

  it('without a retention given, the prune run keeps 180 days (the default of LOGIN_HISTORY_DAYS)', async () => {
    const { oid } = await idp.makeCitizen();
    const citizen = (await findCitizenByOid(db(), oid))!;
    const now = clock.now();
    for (const days of [179, 181]) {
      await recordLoginAttempt(db(), { citizen, now: new Date(now.getTime() - days * DAY * 1000), ip: '198.51.100.7', userAgent: 'test', method: 'pwd', succeeded: true });
    }
    await pruneEverything(db(), clock);
    expect(await historyOf(oid)).toEqual([{ at: new Date(now.getTime() - 179 * DAY * 1000).toISOString(), succeeded: true }]);
  });

  it('reads LOGIN_HISTORY_DAYS from the environment: 180 by default, whole days of at least 1', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).loginHistoryDays).toBe(180);
    expect(loadConfig({ NODE_ENV: 'test', LOGIN_HISTORY_DAYS: '30' }).loginHistoryDays).toBe(30);
    for (const bad of ['0', '-5', '1.5', 'forever']) {
      expect(() => loadConfig({ NODE_ENV: 'test', LOGIN_HISTORY_DAYS: bad }), bad).toThrow(ConfigError);
    }
  });
});
