import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';
import { giveIdentity } from '../support/identity.ts';
import { getJson } from '../support/http.ts';

const ALL_DATA_SCOPES = 'openid fullname birthdate gender birthplace snils inn id_doc email mobile contacts addresses';

describe('ESIA-style tokens, scopes and claims', () => {
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient();
    config = await discoverClient(idp.issuer, rp);
  });
  afterAll(() => idp?.close());

  async function signIn(citizen: { login: string; password: string }, params: Record<string, string> = {}, rpConfig = config, redirectUri = rp.redirectUri) {
    const start = await startAuthorization(rpConfig, redirectUri, params);
    const callback = await loginThrough(new BrowserSession(), start, citizen.login, citizen.password);
    return exchangeCode(rpConfig, start, callback);
  }

  it('advertises ESIA scopes, claims, trust levels and identity assurance in discovery', async () => {
    const metadata = await getJson(`${idp.issuer}/.well-known/openid-configuration`);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'fullname', 'birthdate', 'gender', 'birthplace', 'snils', 'inn', 'id_doc', 'email', 'mobile', 'contacts', 'addresses', 'profile', 'phone', 'address']));
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['sub', 'acr', 'amr', 'urn:esia:sbj', 'urn:esia:sid', 'urn:esia:amd', 'urn:esia:snils', 'urn:esia:id_doc', 'verified_claims']));
    expect(metadata.acr_values_supported).toEqual(['simplified', 'standard', 'confirmed']);
    expect(metadata).toMatchObject({ verified_claims_supported: true, trust_frameworks_supported: ['ru_esia'], evidence_supported: ['document'] });
    expect(metadata.claims_in_verified_claims_supported).toEqual(['given_name', 'family_name', 'middle_name', 'birthdate']);
  });

  it('puts the OID, urn:esia:sbj, the session, the methods and the level in the id_token', async () => {
    const citizen = await idp.makeCitizen({ trustLevel: 'standard' });
    const tokens = await signIn(citizen);
    const idToken = tokens.claims()!;
    expect(idToken.sub).toBe(citizen.oid);
    expect(idToken['urn:esia:sbj']).toEqual({ 'urn:esia:sbj:typ': 'P', 'urn:esia:sbj:oid': Number(citizen.oid), 'urn:esia:sbj:nam': `OID.${citizen.oid}` });
    expect(idToken['urn:esia:sid']).toMatch(/^[\w-]{20,}$/);
    expect(idToken['urn:esia:amd']).toBe('PWD');
    expect(idToken.amr).toEqual(['pwd']);
    expect(idToken.acr).toBe('standard');
    expect(idToken.auth_time).toBeTypeOf('number');
    // The data itself is not in the id_token: the RP reads it from userinfo or the person API.
    expect(idToken.family_name).toBeUndefined();
  });

  it('marks only confirmed accounts as trusted (urn:esia:sbj:is_tru)', async () => {
    const confirmed = await idp.makeCitizen({ trustLevel: 'confirmed' });
    const simplified = await idp.makeCitizen();
    expect((await signIn(confirmed)).claims()!['urn:esia:sbj']).toMatchObject({ 'urn:esia:sbj:is_tru': true });
    expect((await signIn(simplified)).claims()!['urn:esia:sbj']).not.toHaveProperty('urn:esia:sbj:is_tru');
  });

  it('releases each scope\'s claims at userinfo, and nothing else', async () => {
    const citizen = await idp.makeCitizen({ lastName: 'Кузнецова', firstName: 'Ольга', middleName: 'Игоревна', email: 'olga@example.ru', phone: '+7 903 111-22-33' });
    await giveIdentity(idp.runtime.database.db, citizen.oid, { snils: '11223344595' });
    const all = await signIn(citizen, { scope: ALL_DATA_SCOPES });
    const userinfo = await oidc.fetchUserInfo(config, all.access_token, citizen.oid);
    expect(userinfo).toMatchObject({
      family_name: 'Кузнецова', given_name: 'Ольга', middle_name: 'Игоревна', name: 'Кузнецова Ольга Игоревна',
      birthdate: '1985-04-12', gender: 'female', place_of_birth: { locality: 'г. Москва' },
      'urn:esia:snils': '112-233-445 95', 'urn:esia:inn': '500100732259',
      'urn:esia:id_doc': { type: 'RF_PASSPORT', series: '4506', number: '123456', issueDate: '2005-05-20', issueId: '770-001', issuedBy: 'ОВД района Арбат г. Москвы', vrfStu: 'NOT_VERIFIED' },
      email: 'olga@example.ru', email_verified: true, phone_number: '+79031112233', phone_number_verified: true,
      'urn:esia:contacts': [{ type: 'MBT', value: '+79031112233', vrfStu: 'VERIFIED' }, { type: 'EML', value: 'olga@example.ru', vrfStu: 'VERIFIED' }],
      address: { formatted: '119002, г. Москва, ул. Арбат, д. 1, кв. 2', postal_code: '119002', country: 'RU' },
    });
    expect(userinfo['urn:esia:addresses']).toHaveLength(2);

    const narrow = await signIn(citizen, { scope: 'openid birthdate' });
    const limited = await oidc.fetchUserInfo(config, narrow.access_token, citizen.oid);
    expect(limited.birthdate).toBe('1985-04-12');
    for (const claim of ['family_name', 'email', 'phone_number', 'urn:esia:snils', 'urn:esia:id_doc', 'address', 'gender']) expect(limited).not.toHaveProperty(claim);
  });

  it('accepts the standard OIDC scopes as aliases', async () => {
    const citizen = await idp.makeCitizen({ email: 'alias@example.ru', phone: '+7 903 222-33-44' });
    await giveIdentity(idp.runtime.database.db, citizen.oid);
    const tokens = await signIn(citizen, { scope: 'openid profile phone address email' });
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, citizen.oid);
    expect(userinfo).toMatchObject({ family_name: 'Тестов', birthdate: '1985-04-12', gender: 'female', email: 'alias@example.ru', address: { postal_code: '119002' } });
    expect(userinfo.phone_number).toBe('+79032223344');
    expect(userinfo).not.toHaveProperty('urn:esia:snils');
  });

  it('refuses a scope the client was not registered for with ESIA-007019', async () => {
    const narrowClient = await idp.makeClient({ scopes: 'openid fullname', redirectUris: ['http://127.0.0.1:9/narrow'] });
    const narrowConfig = await discoverClient(idp.issuer, narrowClient);
    const start = await startAuthorization(narrowConfig, narrowClient.redirectUri, { scope: 'openid fullname snils' });
    const page = await new BrowserSession().open(start.url.toString(), (url) => url.startsWith(narrowClient.redirectUri));
    const answer = new URL(page.url).searchParams;
    expect(answer.get('error')).toBe('invalid_scope');
    expect(answer.get('error_description')).toMatch(/^ESIA-007019: .*snils/);
    expect(answer.get('state')).toBe(start.state);
    expect(answer.get('iss')).toBe(idp.issuer);
  });

  it('issues RFC 9068 JWT access tokens for the person API, with ESIA claims and headers', async () => {
    const citizen = await idp.makeCitizen({ trustLevel: 'confirmed' });
    const resource = `${idp.issuer}/rs`;
    const start = await startAuthorization(config, rp.redirectUri, { scope: 'openid fullname snils', resource });
    const callback = await loginThrough(new BrowserSession(), start, citizen.login, citizen.password);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.codeVerifier, expectedState: start.state, expectedNonce: start.nonce }, { resource });
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'RS256', sbt: 'access', ver: 1 });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ iss: idp.issuer, aud: resource, sub: citizen.oid, client_id: rp.clientId, 'urn:esia:sbj_id': Number(citizen.oid), acr: 'confirmed' });
    expect(claims.scope).toBe('fullname snils');
    expect(claims['urn:esia:sid']).toBeTruthy();
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('writes scope the ESIA way for clients of the esia token profile', async () => {
    const esiaClient = await idp.makeClient({ redirectUris: ['http://127.0.0.1:9/esia'], tokenProfile: 'esia' });
    const esiaConfig = await discoverClient(idp.issuer, esiaClient);
    const citizen = await idp.makeCitizen();
    const tokens = await signIn(citizen, { scope: 'openid fullname mobile' }, esiaConfig, esiaClient.redirectUri);
    const claims = decodeJwt(tokens.access_token);
    expect(claims.aud).toBe(`${idp.issuer}/rs`);
    expect(String(claims.scope).split(' ').sort()).toEqual([`fullname?oid=${citizen.oid}`, `mobile?oid=${citizen.oid}`]);
  });

  it('lives as long as ESIA tokens by default: access 3600 s, id_token 10800 s', async () => {
    const citizen = await idp.makeCitizen();
    const tokens = await signIn(citizen);
    expect(tokens.expires_in).toBe(3600);
    const idToken = tokens.claims()!;
    expect(idToken.exp - idToken.iat).toBe(10800);
  });
});
