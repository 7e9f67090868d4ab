import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';
import { giveIdentity } from '../support/identity.ts';

const askFor = (claims: Record<string, null>, verification: Record<string, unknown> = { trust_framework: null }) =>
  JSON.stringify({ userinfo: { verified_claims: { verification, claims } } });

describe('OpenID Connect for Identity Assurance: verified_claims', () => {
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient();
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  async function userinfoFor(citizen: { oid: string; login: string; password: string }, claims: string, scope = 'openid fullname') {
    const start = await startAuthorization(config, rp.redirectUri, { scope, claims });
    const tokens = await exchangeCode(config, start, await loginThrough(new BrowserSession(), start, citizen.login, citizen.password));
    return oidc.fetchUserInfo(config, tokens.access_token, citizen.oid);
  }

  it('states the name and birth date verified against the registry for a standard account', async () => {
    const citizen = await idp.makeCitizen({ lastName: 'Орлова', firstName: 'Вера', middleName: 'Павловна' });
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
    const userinfo = await userinfoFor(citizen, askFor({ given_name: null, family_name: null, middle_name: null, birthdate: null }));
    expect(userinfo.verified_claims).toEqual({
      verification: {
        trust_framework: 'ru_esia',
        assurance_level: 'standard',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        evidence: [{
          type: 'document',
          check_details: [{ check_method: 'data', organization: 'МВД России' }],
          document_details: { type: 'idcard', document_number: '4506123456', date_of_issuance: '2005-05-20', issuer: { name: 'ОВД района Арбат г. Москвы', country_code: 'RUS' } },
        }],
      },
      claims: { given_name: 'Вера', family_name: 'Орлова', middle_name: 'Павловна', birthdate: '1985-04-12' },
    });
  });

  it('adds the in-person check for an account confirmed at a service centre', async () => {
    const citizen = await idp.makeCitizen();
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'confirmed', method: 'in_person', serviceCentre: 'МФЦ Тверской' });
    const userinfo = await userinfoFor(citizen, askFor({ family_name: null }));
    const verified = userinfo.verified_claims as { verification: { assurance_level: string; evidence: Array<{ check_details: unknown[] }> }; claims: unknown };
    expect(verified.verification.assurance_level).toBe('confirmed');
    expect(verified.verification.evidence[0].check_details).toEqual([
      { check_method: 'data', organization: 'МВД России' },
      { check_method: 'vpip', organization: 'МФЦ Тверской' },
      { check_method: 'pvp' },
    ]);
    expect(verified.claims).toEqual({ family_name: 'Тестов' });
  });

  it('omits claims that were never verified, and omits verified_claims when nothing asked is verified', async () => {
    const citizen = await idp.makeCitizen({ email: 'v@example.ru' });
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
    const partly = await userinfoFor(citizen, askFor({ given_name: null, email: null }));
    expect((partly.verified_claims as { claims: unknown }).claims).toEqual({ given_name: 'Тест' });
    const none = await userinfoFor(citizen, askFor({ email: null }));
    expect(none).not.toHaveProperty('verified_claims');
  });

  it('gives nothing for a simplified account or an unverified passport', async () => {
    const simplified = await idp.makeCitizen();
    await giveIdentity(idp.runtime.database.db, simplified.oid);
    expect(await userinfoFor(simplified, askFor({ given_name: null }))).not.toHaveProperty('verified_claims');
  });

  it('honours value constraints on the trust framework and the assurance level', async () => {
    const citizen = await idp.makeCitizen();
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard' });
    expect(await userinfoFor(citizen, askFor({ given_name: null }, { trust_framework: { value: 'eidas' } }))).not.toHaveProperty('verified_claims');
    expect(await userinfoFor(citizen, askFor({ given_name: null }, { trust_framework: null, assurance_level: { values: ['confirmed'] } }))).not.toHaveProperty('verified_claims');
    expect(await userinfoFor(citizen, askFor({ given_name: null }, { trust_framework: { value: 'ru_esia' }, assurance_level: { values: ['standard', 'confirmed'] } }))).toHaveProperty('verified_claims');
  });

  it('is never sent unless asked for through the claims parameter', async () => {
    const citizen = await idp.makeCitizen();
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'confirmed' });
    const start = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname birthdate' });
    const tokens = await exchangeCode(config, start, await loginThrough(new BrowserSession(), start, citizen.login, citizen.password));
    expect(await oidc.fetchUserInfo(config, tokens.access_token, citizen.oid)).not.toHaveProperty('verified_claims');
  });
});
