import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { launchChromium, screenshot } from '../support/browser.ts';
import { discoverClient, oidc } from '../support/oidc.ts';
import { addMember, makeOrganisation } from '../e2e/acting-support.ts';

/**
 * The role choice in a real browser (Debian's headless Chromium): a small relying party on its own
 * loopback port asks for an organisation's data; the citizen signs in, sees «Выберите, как войти»,
 * picks the organisation, agrees, and lands back at the RP, which shows what the tokens say.
 * Screenshots go to test-results/screenshots/.
 */
let idp: TestIdp;
let rp: { base: string; close(): Promise<void> };
let chromium: Browser;
let context: BrowserContext;

/** The RP: `/` sends the browser to the IdP, `/callback` redeems the code and prints the organisation from userinfo. */
async function startRp(): Promise<{ base: string; close(): Promise<void> }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await idp.makeClient({ name: 'Портал закупок', redirectUris: [`${base}/callback`] });
  const config = await discoverClient(idp.issuer, client);
  const pending = new Map<string, { verifier: string; nonce: string }>();
  server.on('request', (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/') {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        pending.set(state, { verifier, nonce });
        const target = oidc.buildAuthorizationUrl(config, {
          redirect_uri: `${base}/callback`, scope: 'openid fullname org_fullname org_ogrn usr_org', state, nonce,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
        });
        res.writeHead(303, { location: target.toString() }).end();
        return;
      }
      const flow = pending.get(url.searchParams.get('state') ?? '');
      if (url.pathname !== '/callback' || !flow) {
        res.writeHead(404).end();
        return;
      }
      const tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: flow.verifier, expectedState: url.searchParams.get('state')!, expectedNonce: flow.nonce });
      const claims = tokens.claims()!;
      const me = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      const org = me['urn:esia:org'] as { fullName?: string; ogrn?: string } | undefined;
      const text = (s: unknown) => String(s ?? '').replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><meta charset="utf-8"><title>Портал закупок</title><h1>Портал закупок</h1>`
        + `<p id="who">${text(me.name)}</p><p id="organisation">${text(org?.fullName)}</p><p id="ogrn">${text(org?.ogrn)}</p>`,
      );
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  return {
    base,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

beforeAll(async () => {
  [idp, chromium] = await Promise.all([startTestIdp(), launchChromium()]);
  rp = await startRp();
});

afterAll(async () => {
  await context?.close();
  await chromium?.close();
  await rp?.close();
  await idp?.close();
});

async function newPage(): Promise<Page> {
  await context?.close();
  context = await chromium.newContext({ locale: 'ru-RU' });
  return context.newPage();
}

describe('the role choice in a browser', () => {
  it('signs an employee in for the organisation they choose', async () => {
    const db = idp.runtime.database.db;
    const citizen = await idp.makeCitizen({ lastName: 'Кузнецов', firstName: 'Олег', middleName: 'Игоревич' });
    const company = await makeOrganisation(db, { fullName: 'Общество с ограниченной ответственностью «Вектор»', shortName: 'ООО «Вектор»' });
    const shop = await makeOrganisation(db, { fullName: 'Индивидуальный предприниматель Кузнецов Олег Игоревич', kind: 'sole_proprietor' });
    await addMember(db, company.oid, citizen.oid, ['employee']);
    await addMember(db, shop.oid, citizen.oid, ['chief']);
    const page = await newPage();

    await page.goto(rp.base);
    await page.waitForURL(`${idp.issuer}/interaction/**`);
    await page.fill('#login', citizen.login);
    await page.fill('#password', citizen.password);
    await page.click('form[action$="/login"] button[type=submit]');

    await page.waitForURL(/\/interaction\/[^/]+\/role$/);
    expect(await page.textContent('h1')).toBe('Выберите, как войти');
    const labels = (await page.locator('#role-form label').allInnerTexts()).map((l) => l.replace(/\s+/g, ' ').trim());
    expect(labels).toHaveLength(3);
    expect(labels[0]).toContain('Как частное лицо');
    expect(labels.join(' | ')).toContain(`Как сотрудник организации ООО «Вектор» ОГРН ${company.ogrn} · сотрудник`);
    // «Как частное лицо» is preselected: the choice is never made for the citizen silently.
    expect(await page.isChecked('input[value="person"]')).toBe(true);
    await screenshot(page, 'idp-role-choice');

    await page.check(`input[value="org:${company.oid}"]`);
    await page.click('#role-continue');
    await page.waitForSelector('form[action$="/confirm"]');
    expect(await page.textContent('.scopes')).toContain('Полное наименование организации');
    await page.check('input[name="agree"]');
    await page.click('form[action$="/confirm"] button[type=submit]');

    await page.waitForURL(`${rp.base}/callback**`);
    expect(await page.textContent('#who')).toBe('Кузнецов Олег Игоревич');
    expect(await page.textContent('#organisation')).toBe(company.fullName);
    expect(await page.textContent('#ogrn')).toBe(company.ogrn);
    await screenshot(page, 'rp-signed-in-for-organisation');
  });
});
