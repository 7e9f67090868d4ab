import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import type { Db } from '../../src/db/database.ts';
import type { OrgRole } from '../../src/organisations/memberships.ts';
import { removeMember } from '../../src/organisations/members.service.ts';
import { atRolePage, bearerGet, chooseRole, makeRp, signIn, tokensOf, type Rp } from '../e2e/acting-support.ts';

/**
 * The ESIA-shaped organisation API: GET /rs/prns/{oid}/roles (scope usr_org, the token's own citizen)
 * and GET /rs/orgs/{orgOid} (a token acting for that organisation, fields by org_* scopes).
 */
describe('organisation REST API (/rs/prns/{oid}/roles, /rs/orgs/{orgOid})', () => {
  let idp: TestIdp;
  let db: Db;
  let rp: Rp;

  beforeAll(async () => {
    idp = await startTestIdp();
    db = idp.runtime.database.db;
    rp = await makeRp(idp, { name: 'Портал поставщиков' });
  });
  afterAll(() => idp?.close());

  const api = (path: string, token: string) => bearerGet(`${idp.issuer}${path}`, token);

  async function organisation(values: { kind: 'legal' | 'sole_proprietor'; fullName: string; shortName: string | null; inn: string; ogrn: string; kpp: string | null }): Promise<string> {
    const row = await db.insertInto('organisations').values({ kind: values.kind, full_name: values.fullName, short_name: values.shortName, inn: values.inn, ogrn: values.ogrn, kpp: values.kpp, created_at: new Date() }).returning('oid').executeTakeFirstOrThrow();
    return String(row.oid);
  }
  const join = (organisationOid: string, citizenOid: string, roles: OrgRole[]) =>
    db.insertInto('organisation_members').values({ organisation_oid: organisationOid, citizen_oid: citizenOid, roles, joined_at: new Date() }).execute();

  /** Signs in at the RP with `scope`, as a private person or for an organisation; returns the access token. */
  async function tokenFor(citizen: { login: string; password: string }, scope: string, role = 'person'): Promise<string> {
    let flow = await signIn(rp, citizen, { scope });
    if (atRolePage(flow)) flow = await chooseRole(flow, role);
    else if (role !== 'person') throw new Error(`no role page for ${scope}: ${flow.page.url}`);
    return (await tokensOf(rp, flow)).access_token;
  }

  let citizen: { oid: string; login: string; password: string };
  let romashka: string;
  let ip: string;
  let vector: string;

  beforeAll(async () => {
    citizen = await idp.makeCitizen();
    romashka = await organisation({ kind: 'legal', fullName: 'Общество с ограниченной ответственностью «Ромашка»', shortName: 'ООО «Ромашка»', inn: '7701234560', ogrn: '1027700123450', kpp: '770101001' });
    ip = await organisation({ kind: 'sole_proprietor', fullName: 'Индивидуальный предприниматель Тестов Тест Тестович', shortName: null, inn: '770123456703', ogrn: '304770000123453', kpp: null });
    vector = await organisation({ kind: 'legal', fullName: 'Общество с ограниченной ответственностью «Вектор»', shortName: 'ООО «Вектор»', inn: '5001112228', ogrn: '1155000111221', kpp: '500101001' });
    await join(romashka, citizen.oid, ['admin', 'employee']);
    await join(ip, citizen.oid, ['chief']);
    const someoneElse = await idp.makeCitizen();
    await join(vector, someoneElse.oid, ['chief']);
  });

  it('lists the citizen\'s organisations and roles in ESIA\'s shape, with an ETag', async () => {
    const token = await tokenFor(citizen, 'openid usr_org');
    const roles = await fetch(`${idp.issuer}/rs/prns/${citizen.oid}/roles`, { headers: { authorization: `Bearer ${token}` } });
    expect(roles.status).toBe(200);
    expect(await roles.json()).toEqual({
      stateFacts: ['hasSize'],
      size: 2,
      elements: [
        { oid: Number(ip), fullName: 'Индивидуальный предприниматель Тестов Тест Тестович', shortName: null, ogrn: '304770000123453', type: 'BUSINESS', chief: true, admin: true, active: true },
        { oid: Number(romashka), fullName: 'Общество с ограниченной ответственностью «Ромашка»', shortName: 'ООО «Ромашка»', ogrn: '1027700123450', type: 'LEGAL', chief: false, admin: true, active: true },
      ],
    });
    const etag = roles.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(roles.headers.get('cache-control')).toBe('private, no-cache');
    const again = await fetch(`${idp.issuer}/rs/prns/${citizen.oid}/roles`, { headers: { authorization: `Bearer ${token}`, 'if-none-match': `W/${etag}` } });
    expect(again.status).toBe(304);

    // Live: a membership removed a moment ago is gone from the list.
    await removeMember(db, { actorOid: citizen.oid, organisationOid: romashka, memberOid: citizen.oid });
    const after = await api(`/rs/prns/${citizen.oid}/roles`, token);
    expect(after.body).toMatchObject({ size: 1, elements: [{ oid: Number(ip) }] });
    await join(romashka, citizen.oid, ['admin', 'employee']);
  });

  it('needs the usr_org scope, the token\'s own citizen and a token at all', async () => {
    const withoutScope = await tokenFor(citizen, 'openid fullname');
    const refused = await api(`/rs/prns/${citizen.oid}/roles`, withoutScope);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'rest.insufficient_scope' });
    expect(refused.wwwAuthenticate).toBe('Bearer realm="esia-rs", error="insufficient_scope", scope="usr_org"');

    const token = await tokenFor(citizen, 'openid usr_org');
    const other = await idp.makeCitizen();
    expect(await api(`/rs/prns/${other.oid}/roles`, token)).toMatchObject({ status: 403, body: { error: 'rest.forbidden_subject' } });
    expect((await api('/rs/prns/not-an-oid/roles', token)).status).toBe(404);
    const anonymous = await fetch(`${idp.issuer}/rs/prns/${citizen.oid}/roles`, { headers: { accept: 'application/json' } });
    expect(anonymous.status).toBe(401);
    expect((await api(`/rs/prns/${citizen.oid}/roles`, 'made-up-token')).status).toBe(401);

    // A citizen with no organisations gets an empty collection.
    const loner = await idp.makeCitizen();
    expect((await api(`/rs/prns/${loner.oid}/roles`, await tokenFor(loner, 'openid usr_org'))).body).toEqual({ stateFacts: ['hasSize'], size: 0, elements: [] });
  });

  it('serves /rs/orgs/{orgOid} only to a token acting for that organisation, fields by the org_* scopes', async () => {
    const asPerson = await tokenFor(citizen, 'openid usr_org org_fullname');
    expect(await api(`/rs/orgs/${romashka}`, asPerson)).toMatchObject({ status: 403, body: { error: 'rest.not_acting_for_organisation' } });
    expect(await api('/rs/orgs/2999999999', asPerson)).toMatchObject({ status: 404, body: { error: 'rest.not_found' } });
    expect((await api('/rs/orgs/abc', asPerson)).status).toBe(404);

    const some = await tokenFor(citizen, 'openid org_fullname org_ogrn org_inn', `org:${romashka}`);
    const org = await api(`/rs/orgs/${romashka}`, some);
    expect(org.status).toBe(200);
    expect(org.body).toEqual({ oid: Number(romashka), fullName: 'Общество с ограниченной ответственностью «Ромашка»', ogrn: '1027700123450', inn: '7701234560', eTag: expect.stringMatching(/^[\w-]{43}$/) });
    // Acting for Ромашка says nothing about the citizen's other organisation, or someone else's.
    expect(await api(`/rs/orgs/${ip}`, some)).toMatchObject({ status: 403, body: { error: 'rest.not_acting_for_organisation' } });
    expect((await api(`/rs/orgs/${vector}`, some)).status).toBe(403);

    const all = await tokenFor(citizen, 'openid org_fullname org_shortname org_ogrn org_inn org_kpp org_type', `org:${romashka}`);
    expect((await api(`/rs/orgs/${romashka}`, all)).body).toEqual({
      oid: Number(romashka), fullName: 'Общество с ограниченной ответственностью «Ромашка»', shortName: 'ООО «Ромашка»', ogrn: '1027700123450', inn: '7701234560', kpp: '770101001', type: 'LEGAL', eTag: expect.any(String),
    });
    const business = await tokenFor(citizen, 'openid org_fullname org_shortname org_kpp org_type', `org:${ip}`);
    // A sole proprietor has no KPP (and this one no short name): absent, not null.
    expect((await api(`/rs/orgs/${ip}`, business)).body).toEqual({ oid: Number(ip), fullName: 'Индивидуальный предприниматель Тестов Тест Тестович', type: 'BUSINESS', eTag: expect.any(String) });
  });

  it('asks for an org_* scope before showing anything of the organisation', async () => {
    const token = await tokenFor(citizen, 'openid usr_org', `org:${romashka}`);
    const refused = await api(`/rs/orgs/${romashka}`, token);
    expect(refused).toMatchObject({ status: 403, body: { error: 'rest.insufficient_scope' } });
    expect(refused.wwwAuthenticate).toContain('scope="org_fullname"');
  });

  it('ends /rs/orgs access at once when the employee is removed from the organisation', async () => {
    const employee = await idp.makeCitizen();
    await join(romashka, employee.oid, ['employee']);
    const token = await tokenFor(employee, 'openid org_fullname', `org:${romashka}`);
    expect((await api(`/rs/orgs/${romashka}`, token)).status).toBe(200);
    expect(await removeMember(db, { actorOid: citizen.oid, organisationOid: romashka, memberOid: employee.oid })).toEqual({ result: 'removed', left: false });
    // The token's acting context is re-checked on every request (src/acting): it no longer holds,
    // and the API answers as for a revoked token.
    expect((await api(`/rs/orgs/${romashka}`, token)).status).toBe(401);
    expect(await api(`/rs/prns/${employee.oid}/roles`, await tokenFor(employee, 'openid usr_org'))).toMatchObject({ status: 200, body: { size: 0 } });
  });
});
