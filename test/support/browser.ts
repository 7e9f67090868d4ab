import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Kysely, PostgresDialect } from 'kysely';
import { pino } from 'pino';
import { chromium, type Browser as PlaywrightBrowser, type Page as PlaywrightPage } from 'playwright-core';
import { createMosruApp, type MosruOptions } from '../../src/mosru/app.ts';
import { migrateMosru } from '../../src/mosru/migrate.ts';
import type { MosruDatabase } from '../../src/mosru/mosru.tables.ts';
import type { Clock } from '../../src/shared/clock.ts';
import type { TestIdp } from './idp.ts';
import { findForm, type Browser, type Page } from './browserless.ts';

/**
 * The two sites a journey needs — a test IdP (startTestIdp) and the mock Mos.ru beside it — and a
 * real headless Chromium to walk through them. The HTTP-level tests use `startMosru` too.
 */

export interface TestMosru {
  base: string;
  db: Kysely<MosruDatabase>;
  clientId: string;
  clientSecret: string;
  /** The key sealing stored refresh tokens, so tests can read what Mos.ru keeps. */
  tokenKey: Buffer;
  /** Every log line Mos.ru wrote (JSON), to prove what is and is not logged. */
  logLines: string[];
  close(): Promise<void>;
}

/**
 * Mos.ru on a random loopback port, registered at the IdP as a client whose redirect URIs name that
 * port, with its tables (schema `mosru`) migrated in the IdP's database — as main.ts does in demo mode.
 */
export async function startMosru(idp: TestIdp, options: { clock?: Clock; minTrustLevel?: MosruOptions['minTrustLevel'] } = {}): Promise<TestMosru> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await idp.makeClient({
    clientId: `mosru-${randomBytes(3).toString('hex')}`,
    name: 'Мос.ру (демо)',
    redirectUris: [`${base}/callback`],
    postLogoutRedirectUris: [`${base}/`],
    backchannelLogoutUri: `${base}/backchannel-logout`,
  });
  // Kysely over the IdP's pool, as main.ts does; never destroyed here (that would end the IdP's pool).
  const db = new Kysely<MosruDatabase>({ dialect: new PostgresDialect({ pool: idp.runtime.database.pool }) });
  await migrateMosru(db);
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }));
  const tokenKey = randomBytes(32);
  const app = createMosruApp({
    baseUrl: base,
    idpIssuer: idp.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret!,
    logger,
    db,
    tokenKey,
    clock: options.clock,
    minTrustLevel: options.minTrustLevel,
  });
  server.on('request', app.callback());
  return {
    base,
    db,
    clientId: client.clientId,
    clientSecret: client.clientSecret!,
    tokenKey,
    logLines,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Debian's Chromium, headless, through playwright-core (which downloads no browser of its own).
 * Playwright starts it with a fresh temporary profile (`--user-data-dir`) and refuses one in `args`;
 * each test takes a new context, so no cookie crosses from one test to the next. The network flags
 * keep Chromium from calling home: this machine refuses such connections.
 */
export function launchChromium(): Promise<PlaywrightBrowser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const SCREENSHOTS = 'test-results/screenshots';

/** A full-page screenshot of a key page, for people reading the test run (test-results/ is not committed). */
export async function screenshot(page: PlaywrightPage, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

// ─── The same journeys over plain HTTP (test/support/browserless.ts) ─────────────────────────────

/** Signs in to Mos.ru with e-mail and password; returns the page after the redirect. */
export async function signInAtMosru(browser: Browser, mosru: TestMosru, account: { email: string; password: string }): Promise<Page> {
  const form = await browser.get(`${mosru.base}/login`);
  return browser.submit(form, { id: 'login-form' }, { email: account.email, password: account.password });
}

/**
 * At the IdP: logs in (when the login page is shown) and agrees on the consent page (when shown).
 * `agree=yes` ticks the consent checkbox; it is harmless where the page has none.
 */
export async function passIdp(browser: Browser, page: Page, citizen: { login: string; password: string }): Promise<Page> {
  let current = page;
  if (findForm(current.body, { actionContains: '/login' }) && current.body.includes('name="password"')) {
    current = await browser.submit(current, { actionContains: '/login' }, { login: citizen.login, password: citizen.password });
  }
  if (findForm(current.body, { actionContains: '/confirm' })) current = await browser.submit(current, { actionContains: '/confirm' }, { agree: 'yes' });
  return current;
}

/** From Mos.ru's settings, «Подключить Госуслуги», to the first IdP page (login or consent). */
export async function startConnecting(browser: Browser, mosru: TestMosru): Promise<Page> {
  const settings = await browser.get(`${mosru.base}/settings`);
  return browser.submit(settings, { id: 'connect-form' });
}
