import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, openAuthorization, startAuthorization, submitLogin } from '../support/oidc.ts';
import { formAction } from '../support/browser-session.ts';
import type { TrustLevel } from '../../src/citizens/citizen.table.ts';

const LEVELS: TrustLevel[] = ['simplified', 'standard', 'confirmed'];
const rank = (level: TrustLevel) => LEVELS.indexOf(level);
const CONF_ACC = Buffer.from('conf_acc').toString('base64url');

describe('trust-level step-up', () => {
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;
  const citizens = {} as Record<TrustLevel, { oid: string; login: string; password: string }>;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient({ name: 'Портал «Мой район»' });
    config = await discoverClient(idp.issuer, rp);
    for (const level of LEVELS) citizens[level] = await idp.makeCitizen({ trustLevel: level });
  });
  afterAll(() => idp?.close());

  // Each way an RP can ask for a minimum level, as authorization parameters.
  const ways: Array<[string, (level: TrustLevel) => Record<string, string> | undefined]> = [
    ['acr_values', (level) => ({ acr_values: level })],
    ['an essential acr claim', (level) => ({ claims: JSON.stringify({ id_token: { acr: { essential: true, value: level } } }) })],
    ['person_filter=conf_acc', (level) => (level === 'confirmed' ? { person_filter: CONF_ACC } : undefined)],
  ];

  for (const [way, paramsFor] of ways) {
    for (const required of LEVELS) {
      const params = paramsFor(required);
      if (!params) continue;
      for (const actual of LEVELS) {
        const enough = rank(actual) >= rank(required);
        it(`${way}=${required}: a ${actual} account ${enough ? 'signs in' : 'is stopped with an explanation'}`, async () => {
          const browser = new BrowserSession();
          const start = await startAuthorization(config, rp.redirectUri, params);
          const loginPage = await openAuthorization(browser, start);
          const next = await submitLogin(browser, loginPage, citizens[actual].login, citizens[actual].password, rp.redirectUri);
          if (enough) {
            const page = next.url.startsWith(rp.redirectUri) ? next : await browser.submit(formAction(next, '/confirm'), { agree: 'yes' }, (u) => u.startsWith(rp.redirectUri));
            const tokens = await exchangeCode(config, start, new URL(page.url));
            expect(tokens.claims()!.acr).toBe(actual);
            return;
          }
          expect(next.status).toBe(200);
          expect(next.html).toContain('Недостаточный уровень учётной записи');
          expect(next.html).toContain('Портал «Мой район»');
          expect(next.html).toContain(`data-trust-level="${actual}"`);
          // The steps to the next level are listed with links to where the citizen takes them.
          expect(next.html).toMatch(actual === 'simplified' ? /trust\.step\.fill_passport/ : /trust\.step\.visit_centre/);
          const back = await browser.submit(formAction(next, '/abort'), {}, (u) => u.startsWith(rp.redirectUri));
          const answer = new URL(back.url).searchParams;
          expect(answer.get('error')).toBe('access_denied');
          expect(answer.get('error_description')).toBe(
            required === 'confirmed'
              ? 'ESIA-007055: Вход в систему осуществляется с неподтверждённой учётной записью'
              : 'ESIA-007055: Вход в систему осуществляется с упрощённой учётной записью',
          );
          expect(answer.get('code')).toBeNull();
        });
      }
    }
  }

  it('takes the strictest of several requirements and the lowest of a list', async () => {
    const browser = new BrowserSession();
    const start = await startAuthorization(config, rp.redirectUri, { acr_values: 'standard confirmed', person_filter: CONF_ACC });
    const next = await submitLogin(browser, await openAuthorization(browser, start), citizens.standard.login, citizens.standard.password, rp.redirectUri);
    expect(next.html).toContain('Недостаточный уровень учётной записи');

    const lenient = await startAuthorization(config, rp.redirectUri, { acr_values: 'standard confirmed' });
    const tokens = await exchangeCode(config, lenient, await loginThrough(new BrowserSession(), lenient, citizens.standard.login, citizens.standard.password));
    expect(tokens.claims()!.acr).toBe('standard');
  });

  it('refreshes the session acr when the level rose since sign-in, without asking again', async () => {
    const citizen = await idp.makeCitizen();
    const browser = new BrowserSession();
    const first = await startAuthorization(config, rp.redirectUri);
    expect((await exchangeCode(config, first, await loginThrough(browser, first, citizen.login, citizen.password))).claims()!.acr).toBe('simplified');

    await idp.runtime.database.db.updateTable('citizens').set({ trust_level: 'standard' }).where('oid', '=', citizen.oid).execute();
    const second = await startAuthorization(config, rp.redirectUri, { acr_values: 'standard' });
    const page = await browser.open(second.url.toString(), (u) => u.startsWith(rp.redirectUri));
    expect(page.url.startsWith(rp.redirectUri)).toBe(true);
    const idToken = (await exchangeCode(config, second, new URL(page.url))).claims()!;
    expect(idToken.acr).toBe('standard');
  });

  it('answers prompt=none for a too-low account with an error, not a page', async () => {
    const browser = new BrowserSession();
    const first = await startAuthorization(config, rp.redirectUri);
    await loginThrough(browser, first, citizens.simplified.login, citizens.simplified.password);
    const silent = await startAuthorization(config, rp.redirectUri, { prompt: 'none', acr_values: 'confirmed' });
    const page = await browser.open(silent.url.toString(), (u) => u.startsWith(rp.redirectUri));
    expect(new URL(page.url).searchParams.get('error')).toBe('access_denied');
  });
});
