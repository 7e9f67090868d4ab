import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, oidc } from '../support/oidc.ts';
import { giveIdentity } from '../support/identity.ts';
import { revokePower } from '../../src/powers/powers.service.ts';
import {
  addMember, atRolePage, bearerGet, chooseRole, grantPower, introspect, makeOrganisation, makeRp, refresh, signIn, tokensOf, userinfo, type Rp,
} from './acting-support.ts';

/**
 * Acting on someone's behalf: a representative with a usable power of attorney signs in «как
 * представитель»; access tokens name the principal with the representative in `act`; revoking
 * the power kills those tokens at once.
 */
describe('signing in as a representative under a power of attorney', () => {
  let idp: TestIdp;
  let rp: Rp;
  const db = () => idp.runtime.database.db;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await makeRp(idp, { name: 'Портал услуг' });
  });
  afterAll(() => idp?.close());

  async function pair(rights: Array<'view' | 'apply' | 'manage_poa'> = ['view', 'apply'], clientIds: string[] | null = null) {
    const principal = await idp.makeCitizen({ lastName: 'Сидорова', firstName: 'Анна', middleName: 'Павловна' });
    await giveIdentity(db(), principal.oid);
    const representative = await idp.makeCitizen({ lastName: 'Сидоров', firstName: 'Павел', middleName: 'Андреевич' });
    const powerId = await grantPower(db(), { principalOid: principal.oid, representativeOid: representative.oid, rights, clientIds, validTo: new Date('2031-06-30T21:00:00Z') });
    return { principal, representative, powerId };
  }

  const resource = () => `${idp.issuer}/rs`;

  it('offers «как представитель» even without organisation scopes, with the principal, the end date and the rights', async () => {
    const { representative, powerId } = await pair();
    const flow = await signIn(rp, representative, { scope: 'openid fullname' });
    expect(atRolePage(flow)).toBe(true);
    const options = [...flow.page.html.matchAll(/name="role"[^>]*value="([^"]+)"/g)].map((m) => m[1]);
    expect(options).toEqual(['person', `poa:${powerId}`]);
    expect(flow.page.html).toContain('Как представитель: Сидорова Анна Павловна');
    expect(flow.page.html).toContain('По доверенности до 01.07.2031 · права: просмотр данных, подача заявлений');
  });

  it('issues access tokens naming the principal, with the representative in act, and keeps the ID token the representative\'s', async () => {
    const { principal, representative, powerId } = await pair();
    const flow = await chooseRole(await signIn(rp, representative, { scope: 'openid fullname birthdate', resource: resource() }), `poa:${powerId}`);
    // Consent is given knowing on whose behalf.
    expect(flow.page.html).toContain('Вы входите как представитель: Сидорова Анна Павловна (по доверенности).');
    const tokens = await tokensOf(rp, flow, { resource: resource() });

    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({
      sub: principal.oid,
      act: { sub: representative.oid },
      'urn:esia:poa': { id: powerId, rights: ['view', 'apply'], principal_type: 'P' },
      'urn:esia:sbj_id': Number(principal.oid),
      client_id: rp.clientId,
    });

    const idToken = tokens.claims()!;
    expect(idToken.sub).toBe(representative.oid);
    expect(idToken).not.toHaveProperty('act');
    expect(idToken['urn:esia:acting_for']).toEqual({ sub: principal.oid, type: 'P', poa_id: powerId, rights: ['view', 'apply'] });

    // The person API serves the principal's data to the representative (the power has `view`)…
    const person = await bearerGet(`${idp.issuer}/rs/prns/${principal.oid}`, tokens.access_token);
    expect(person.status).toBe(200);
    expect(person.body).toMatchObject({ lastName: 'Сидорова', firstName: 'Анна', birthDate: '12.04.1985' });
    // …and not the representative's own, nor the principal's organisations list.
    expect((await bearerGet(`${idp.issuer}/rs/prns/${representative.oid}`, tokens.access_token)).status).toBe(403);
  });

  it('names the principal in introspection of an opaque token, and answers userinfo about the representative', async () => {
    const { principal, representative, powerId } = await pair();
    const tokens = await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid fullname' }), `poa:${powerId}`));
    const introspection = await introspect(idp, rp, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, sub: principal.oid, act: { sub: representative.oid }, 'urn:esia:poa': { id: powerId, rights: ['view', 'apply'], principal_type: 'P' } });
    const me = await oidc.fetchUserInfo(rp.config, tokens.access_token, representative.oid);
    expect(me).toMatchObject({ sub: representative.oid, family_name: 'Сидоров', 'urn:esia:acting_for': { sub: principal.oid, poa_id: powerId } });
    expect((await bearerGet(`${idp.issuer}/rs/prns/${principal.oid}`, tokens.access_token)).body).toMatchObject({ lastName: 'Сидорова' });
  });

  it('kills the delegated tokens the moment the power is revoked: introspection, person API, userinfo and refresh', async () => {
    const { principal, representative, powerId } = await pair();
    const browser = new BrowserSession();
    const jwt = await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid fullname', resource: resource() }, browser), `poa:${powerId}`), { resource: resource() });
    const opaque = await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid fullname' }, browser), `poa:${powerId}`));
    expect((await bearerGet(`${idp.issuer}/rs/prns/${principal.oid}`, jwt.access_token)).status).toBe(200);
    expect((await introspect(idp, rp, opaque.access_token)).active).toBe(true);

    await revokePower(db(), { actorOid: principal.oid, powerId, now: new Date(), reason: 'больше не нужна' });

    expect(await introspect(idp, rp, opaque.access_token)).toEqual({ active: false });
    expect(await introspect(idp, rp, opaque.refresh_token!)).toEqual({ active: false });
    for (const token of [jwt.access_token, opaque.access_token]) {
      const answer = await bearerGet(`${idp.issuer}/rs/prns/${principal.oid}`, token);
      expect(answer.status).toBe(401);
      expect(answer.wwwAuthenticate).toContain('invalid_token');
    }
    expect((await userinfo(idp, opaque.access_token)).status).toBe(401);
    const refreshed = await refresh(idp, rp, opaque.refresh_token!);
    expect(refreshed).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // And the power is no longer offered.
    expect(atRolePage(await signIn(rp, representative, { scope: 'openid fullname' }, browser))).toBe(false);
  });

  it('lets a power of attorney with no view right sign in, but not read the principal\'s data', async () => {
    const { principal, representative, powerId } = await pair(['apply']);
    const tokens = await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid fullname', resource: resource() }), `poa:${powerId}`), { resource: resource() });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: principal.oid, 'urn:esia:poa': { rights: ['apply'] } });
    expect((await bearerGet(`${idp.issuer}/rs/prns/${principal.oid}`, tokens.access_token)).status).toBe(403);
  });

  it('offers only powers usable at this RP and never another representative\'s; a forged power id is refused', async () => {
    const { representative, powerId } = await pair(['view'], ['another-rp']);
    const other = await pair(['view']);
    const flow = await signIn(rp, representative, { scope: 'openid fullname' });
    // The power is for another RP only: nothing to choose here.
    expect(atRolePage(flow)).toBe(false);
    const withPowers = await signIn(rp, other.representative, { scope: 'openid fullname' });
    expect(atRolePage(withPowers)).toBe(true);
    for (const forged of [`poa:${powerId}`, 'poa:999999999']) {
      const answer = await chooseRole(withPowers, forged);
      expect(answer.page.status).toBe(400);
      expect(answer.page.html).toContain(`poa:${other.powerId}`);
    }
  });

  it('acts for an organisation principal: its OID as the subject, type O', async () => {
    const head = await idp.makeCitizen();
    const company = await makeOrganisation(db(), { fullName: 'АО «Север»', shortName: 'АО «Север»' });
    await addMember(db(), company.oid, head.oid, ['chief']);
    const representative = await idp.makeCitizen();
    const powerId = await grantPower(db(), { principalOid: company.oid, principalKind: 'organisation', representativeOid: representative.oid, rights: ['view'] });
    const flow = await signIn(rp, representative, { scope: 'openid fullname', resource: resource() });
    expect(flow.page.html).toContain('Как представитель: «АО «Север»»');
    const tokens = await tokensOf(rp, await chooseRole(flow, `poa:${powerId}`), { resource: resource() });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: company.oid, act: { sub: representative.oid }, 'urn:esia:poa': { principal_type: 'O' } });
    // An organisation is not a person: the person API has nothing under its OID.
    expect((await bearerGet(`${idp.issuer}/rs/prns/${company.oid}`, tokens.access_token)).status).toBe(404);
  });

  it('gives a representative who chose to sign in as themselves their own tokens', async () => {
    const { representative, powerId } = await pair();
    const tokens = await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid fullname', resource: resource() }), 'person'), { resource: resource() });
    const access = decodeJwt(tokens.access_token);
    expect(access.sub).toBe(representative.oid);
    expect(access).not.toHaveProperty('act');
    expect(tokens.claims()).not.toHaveProperty('urn:esia:acting_for');
    expect((await bearerGet(`${idp.issuer}/rs/prns/${representative.oid}`, tokens.access_token)).status).toBe(200);
    const recorded = await db().selectFrom('audit_events').select('type').where('citizen_oid', '=', representative.oid).where('type', 'like', 'acting.%').execute();
    expect(recorded).toEqual([]);
    expect(powerId).toBeTruthy();
  });
});
