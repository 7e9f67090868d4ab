import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, oidc } from '../support/oidc.ts';
import { removeMember } from '../../src/organisations/members.service.ts';
import {
  addMember, atRolePage, bearerGet, chooseRole, finishAtRp, introspect, makeOrganisation, makeRp, refresh, signIn, tokensOf, userinfo, type Rp,
} from './acting-support.ts';

/**
 * Signing in as an employee: the role page, the organisation in the tokens, ESIA's org_oid syntax,
 * ESIA-007194, and removal from the organisation ending the access at once.
 */
describe('signing in as an employee of an organisation', () => {
  let idp: TestIdp;
  let rp: Rp;
  const db = () => idp.runtime.database.db;

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await makeRp(idp, { name: 'Портал поставщиков' });
  });
  afterAll(() => idp?.close());

  /** A citizen who is the head of one organisation and an employee of another. */
  async function employee() {
    const citizen = await idp.makeCitizen({ lastName: 'Орлова', firstName: 'Мария', middleName: 'Викторовна' });
    const romashka = await makeOrganisation(db(), { fullName: 'Общество с ограниченной ответственностью «Ромашка»', shortName: 'ООО «Ромашка»' });
    const vasilek = await makeOrganisation(db(), { fullName: 'Индивидуальный предприниматель Орлова Мария Викторовна', kind: 'sole_proprietor' });
    await addMember(db(), romashka.oid, citizen.oid, ['employee', 'admin']);
    await addMember(db(), vasilek.oid, citizen.oid, ['chief']);
    return { citizen, romashka, vasilek };
  }

  it('offers the organisations on the role page and puts the chosen one in every token', async () => {
    const { citizen, romashka, vasilek } = await employee();
    const flow = await signIn(rp, citizen, { scope: 'openid fullname usr_org org_fullname org_ogrn org_inn' });
    expect(atRolePage(flow)).toBe(true);
    expect(flow.page.html).toContain('Выберите, как войти');
    expect(flow.page.html).toContain('Портал поставщиков');
    // «Как частное лицо» first, then the organisations, each with its OGRN and the citizen's roles.
    const options = [...flow.page.html.matchAll(/name="role"[^>]*value="([^"]+)"/g)].map((m) => m[1]);
    expect(options[0]).toBe('person');
    expect(options.slice(1).sort()).toEqual([`org:${romashka.oid}`, `org:${vasilek.oid}`].sort());
    expect(flow.page.html).toContain('Как частное лицо');
    expect(flow.page.html).toContain('Как сотрудник организации ООО «Ромашка»');
    expect(flow.page.html).toContain(`ОГРН ${romashka.ogrn} · сотрудник, администратор`);
    expect(flow.page.html).toContain(`ОГРН ${vasilek.ogrn} · руководитель`);

    const consent = await chooseRole(flow, `org:${romashka.oid}`);
    expect(consent.page.html).toContain('Полное наименование организации');
    expect(consent.page.html).toContain('Вы входите как сотрудник организации ООО «Ромашка».');
    const tokens = await tokensOf(rp, consent);

    const idToken = tokens.claims()!;
    expect(idToken.sub).toBe(citizen.oid);
    // Fields by the granted org_* scopes (no shortName, type or kpp here); oid and roles always.
    expect(idToken['urn:esia:org']).toEqual({ oid: Number(romashka.oid), fullName: romashka.fullName, ogrn: romashka.ogrn, inn: romashka.inn, roles: ['employee', 'admin'] });

    const me = await oidc.fetchUserInfo(rp.config, tokens.access_token, citizen.oid);
    expect(me['urn:esia:org']).toEqual(idToken['urn:esia:org']);
    expect(me['urn:esia:usr_org']).toEqual(expect.arrayContaining([
      { oid: Number(romashka.oid), fullName: romashka.fullName, shortName: 'ООО «Ромашка»', ogrn: romashka.ogrn, type: 'LEGAL', roles: ['employee', 'admin'] },
      { oid: Number(vasilek.oid), fullName: vasilek.fullName, ogrn: vasilek.ogrn, type: 'BUSINESS', roles: ['chief'] },
    ]));

    const introspection = await introspect(idp, rp, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, sub: citizen.oid, 'urn:esia:org': { oid: Number(romashka.oid), ogrn: romashka.ogrn, roles: ['employee', 'admin'] } });

    const org = await bearerGet(`${idp.issuer}/rs/orgs/${romashka.oid}`, tokens.access_token);
    expect(org.status).toBe(200);
    expect(org.body).toMatchObject({ oid: Number(romashka.oid), fullName: romashka.fullName, ogrn: romashka.ogrn });
    // The token acts for Ромашка only.
    expect((await bearerGet(`${idp.issuer}/rs/orgs/${vasilek.oid}`, tokens.access_token)).status).toBe(403);
  });

  it('ends the org-scoped access at once when the employee is removed: introspection, userinfo, REST and refresh', async () => {
    const { citizen, romashka, vasilek } = await employee();
    const chief = await idp.makeCitizen();
    await db().updateTable('organisation_members').set({ roles: ['employee'] }).where('organisation_oid', '=', romashka.oid).where('citizen_oid', '=', citizen.oid).execute();
    await addMember(db(), romashka.oid, chief.oid, ['chief']);
    const flow = await chooseRole(await signIn(rp, citizen, { scope: 'openid org_fullname' }), `org:${romashka.oid}`);
    const tokens = await tokensOf(rp, flow);
    expect(tokens.refresh_token).toBeTruthy();
    expect((await introspect(idp, rp, tokens.access_token)).active).toBe(true);
    // A person token of the same citizen at the same RP, from another browser: it must keep working.
    const personFlow = await chooseRole(await signIn(rp, citizen, { scope: 'openid org_fullname' }), 'person');
    const personTokens = await tokensOf(rp, personFlow);

    expect(await removeMember(db(), { actorOid: chief.oid, organisationOid: romashka.oid, memberOid: citizen.oid })).toMatchObject({ result: 'removed' });

    expect(await introspect(idp, rp, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(idp, rp, tokens.refresh_token!)).toEqual({ active: false });
    expect((await userinfo(idp, tokens.access_token)).status).toBe(401);
    const rest = await bearerGet(`${idp.issuer}/rs/orgs/${romashka.oid}`, tokens.access_token);
    expect(rest.status).toBe(401);
    expect(rest.wwwAuthenticate).toContain('invalid_token');
    const refreshed = await refresh(idp, rp, tokens.refresh_token!);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');

    expect((await introspect(idp, rp, personTokens.access_token)).active).toBe(true);
    expect((await userinfo(idp, personTokens.access_token)).status).toBe(200);
    // Still a member of the other organisation: that one is still offered.
    const again = await signIn(rp, citizen, { scope: 'openid org_fullname' });
    expect(again.page.html).toContain(`org:${vasilek.oid}`);
    expect(again.page.html).not.toContain(`org:${romashka.oid}`);
  });

  it('keeps working through a refresh while the membership holds', async () => {
    const { citizen, romashka } = await employee();
    const tokens = await tokensOf(rp, await chooseRole(await signIn(rp, citizen, { scope: 'openid org_fullname' }), `org:${romashka.oid}`));
    const refreshed = await refresh(idp, rp, tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(String(refreshed.body.id_token))['urn:esia:org']).toMatchObject({ oid: Number(romashka.oid), fullName: romashka.fullName });
    expect(await introspect(idp, rp, String(refreshed.body.access_token))).toMatchObject({ active: true, 'urn:esia:org': { oid: Number(romashka.oid) } });
  });

  it('chooses the organisation without asking when the RP names it the ESIA way (scope?org_oid=)', async () => {
    const { citizen, romashka } = await employee();
    const flow = await signIn(rp, citizen, { scope: `openid org_fullname?org_oid=${romashka.oid} org_ogrn?org_oid=${romashka.oid}` });
    expect(atRolePage(flow)).toBe(false);
    const tokens = await tokensOf(rp, flow);
    expect(tokens.claims()!['urn:esia:org']).toEqual({ oid: Number(romashka.oid), fullName: romashka.fullName, ogrn: romashka.ogrn, roles: ['employee', 'admin'] });
    const recorded = await db().selectFrom('audit_events').select(['type', 'details']).where('citizen_oid', '=', citizen.oid).where('type', '=', 'acting.organisation_chosen').execute();
    expect(recorded).toEqual([{ type: 'acting.organisation_chosen', details: { clientId: rp.clientId, organisationOid: romashka.oid } }]);
  });

  it('accepts a plain org_oid parameter too', async () => {
    const { citizen, vasilek } = await employee();
    const flow = await signIn(rp, citizen, { scope: 'openid org_type org_kpp', org_oid: vasilek.oid });
    expect(atRolePage(flow)).toBe(false);
    // A sole proprietor has no KPP: the field is left out rather than null.
    expect((await tokensOf(rp, flow)).claims()!['urn:esia:org']).toEqual({ oid: Number(vasilek.oid), type: 'BUSINESS', roles: ['chief'] });
  });

  it('refuses an organisation the citizen does not belong to with ESIA-007194', async () => {
    const { citizen } = await employee();
    const foreign = await makeOrganisation(db(), { fullName: 'АО «Чужая»' });
    const flow = await signIn(rp, citizen, { scope: `openid org_fullname?org_oid=${foreign.oid}` });
    const answer = new URL(flow.page.url);
    expect(answer.toString().startsWith(rp.redirectUri)).toBe(true);
    expect(answer.searchParams.get('error')).toBe('access_denied');
    expect(answer.searchParams.get('error_description')).toMatch(/^ESIA-007194: /);
    expect(answer.searchParams.get('state')).toBe(flow.start.state);

    // The same with prompt=none in the session just opened, and for two different organisations at once.
    const silent = await signIn(rp, citizen, { scope: 'openid org_fullname', org_oid: foreign.oid, prompt: 'none' }, flow.browser);
    expect(new URL(silent.page.url).searchParams.get('error_description')).toMatch(/^ESIA-007194: /);
    const { romashka } = await employee();
    const mixed = await signIn(rp, citizen, { scope: `openid org_fullname?org_oid=${romashka.oid} org_ogrn?org_oid=${foreign.oid}` }, flow.browser);
    expect(new URL(mixed.page.url).searchParams.get('error')).toBe('access_denied');
  });

  it('gives no organisation claims to a citizen who chose to sign in as a private person', async () => {
    const { citizen } = await employee();
    const flow = await chooseRole(await signIn(rp, citizen, { scope: 'openid fullname org_fullname usr_org' }), 'person');
    const tokens = await tokensOf(rp, flow);
    expect(tokens.claims()).not.toHaveProperty('urn:esia:org');
    const me = await oidc.fetchUserInfo(rp.config, tokens.access_token, citizen.oid);
    expect(me).not.toHaveProperty('urn:esia:org');
    expect(me['urn:esia:usr_org']).toHaveLength(2);
    expect(await introspect(idp, rp, tokens.access_token)).not.toHaveProperty('urn:esia:org');
  });

  it('does not ask when there is nothing to choose, and forgets an earlier choice then', async () => {
    const { citizen, romashka } = await employee();
    const browser = new BrowserSession();
    const first = await chooseRole(await signIn(rp, citizen, { scope: 'openid org_fullname' }, browser), `org:${romashka.oid}`);
    expect((await tokensOf(rp, first)).claims()!['urn:esia:org']).toBeDefined();
    // The same RP, the same session, no organisation asked for: no role page, a private person's tokens.
    const second = await signIn(rp, citizen, { scope: 'openid fullname' }, browser);
    expect(atRolePage(second)).toBe(false);
    const tokens = await tokensOf(rp, second);
    expect(tokens.claims()).not.toHaveProperty('urn:esia:org');
    expect(await introspect(idp, rp, tokens.access_token)).not.toHaveProperty('urn:esia:org');

    const loner = await idp.makeCitizen();
    expect(atRolePage(await signIn(rp, loner, { scope: 'openid org_fullname usr_org' }))).toBe(false);
  });

  it('answers account_selection_required to prompt=none until a choice is made, then reuses it; prompt=select_account asks again', async () => {
    const { citizen, romashka } = await employee();
    const browser = new BrowserSession();
    // A session at the IdP without any choice for this RP yet.
    await tokensOf(rp, await signIn(rp, citizen, { scope: 'openid fullname' }, browser));
    const silent = await signIn(rp, citizen, { scope: 'openid org_fullname', prompt: 'none' }, browser);
    expect(new URL(silent.page.url).searchParams.get('error')).toBe('account_selection_required');

    await tokensOf(rp, await chooseRole(await signIn(rp, citizen, { scope: 'openid org_fullname' }, browser), `org:${romashka.oid}`));
    const renewed = await signIn(rp, citizen, { scope: 'openid org_fullname', prompt: 'none' }, browser);
    expect((await tokensOf(rp, renewed)).claims()!['urn:esia:org']).toMatchObject({ oid: Number(romashka.oid) });

    const forced = await signIn(rp, citizen, { scope: 'openid org_fullname', prompt: 'select_account' }, browser);
    expect(atRolePage(forced)).toBe(true);
    expect((await tokensOf(rp, await chooseRole(forced, 'person'))).claims()).not.toHaveProperty('urn:esia:org');
  });

  it('refuses a forged choice with 400 and the page again', async () => {
    const { citizen } = await employee();
    const foreign = await makeOrganisation(db(), { fullName: 'АО «Чужая»' });
    const flow = await signIn(rp, citizen, { scope: 'openid org_fullname' });
    for (const forged of [`org:${foreign.oid}`, 'org:abc', 'poa:1', 'admin', '']) {
      const answer = await chooseRole(flow, forged);
      expect(answer.page.status).toBe(400);
      expect(answer.page.html).toContain('Выберите один из вариантов');
      expect(answer.page.html).toContain('name="role"');
    }
    // The interaction is intact: a real choice still goes through.
    expect((await finishAtRp(await chooseRole(flow, 'person'))).searchParams.get('code')).toBeTruthy();
  });

  it('shows the page in English with ui_locales=en', async () => {
    const { citizen, romashka } = await employee();
    const flow = await signIn(rp, citizen, { scope: 'openid org_fullname', ui_locales: 'en' });
    expect(flow.page.html).toContain('Choose how to sign in');
    expect(flow.page.html).toContain('As a private person');
    expect(flow.page.html).toContain('As an employee of ООО «Ромашка»');
    expect(flow.page.html).toContain(`OGRN ${romashka.ogrn} · employee, administrator`);
    expect(flow.page.html).toContain('lang="en"');
  });

  it('writes organisation scopes the ESIA way in the JWT access tokens of esia-profile clients', async () => {
    const { citizen, romashka } = await employee();
    const esia = await makeRp(idp, { tokenProfile: 'esia' });
    const tokens = await tokensOf(esia, await chooseRole(await signIn(esia, citizen, { scope: 'openid fullname org_fullname' }), `org:${romashka.oid}`));
    const claims = decodeJwt(tokens.access_token);
    expect(claims.sub).toBe(citizen.oid);
    expect(claims['urn:esia:org']).toEqual({ oid: Number(romashka.oid), ogrn: romashka.ogrn, roles: ['employee', 'admin'] });
    expect(String(claims.scope).split(' ').sort()).toEqual([`fullname?oid=${citizen.oid}`, `org_fullname?org_oid=${romashka.oid}`]);
    expect((await bearerGet(`${idp.issuer}/rs/orgs/${romashka.oid}`, tokens.access_token)).status).toBe(200);
  });
});
