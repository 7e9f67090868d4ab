import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import type { BrowserSession } from '../support/browser-session.ts';
import { listMemberships } from '../../src/organisations/memberships.ts';
import { listReceivedInvitations } from '../../src/organisations/invitations.service.ts';
import { listChildrenOf, listParentLinks } from '../../src/family/children.repository.ts';
import { listCitizenPowers, revokePower } from '../../src/powers/powers.service.ts';
import { listUsablePowers } from '../../src/powers/powers.repository.ts';
import { deleteAccount } from '../../src/sessions/account-deletion.service.ts';
import { decode, merging, newIdentity } from './merge-support.ts';

/**
 * What the other account held in the areas of issue 7 moves with a link: organisation memberships
 * (a shared organisation keeps one membership with both accounts' roles), children's records (a child
 * both registered keeps the survivor's record), the 14+ link naming it as the child, powers of
 * attorney on either side, invitations to its e-mail. «Отвязать» gives each back exactly, «Сделать
 * основным» takes them along, and powers one principal gave both accounts stop the link.
 */
describe('linked accounts: memberships, children and powers of attorney move with the link', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let m: ReturnType<typeof merging>;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    m = merging(idp);
  });
  afterAll(async () => idp?.close());
  beforeEach(() => clock.set(new Date()));

  let serial = 0;
  async function organisation(name: string): Promise<string> {
    const n = ++serial;
    const row = await m.db
      .insertInto('organisations')
      .values({ kind: 'legal', full_name: `Общество с ограниченной ответственностью «${name}»`, short_name: `ООО «${name}»`, inn: String(7_700_000_000 + n), ogrn: String(1_027_700_000_000 + n), kpp: null, created_at: clock.now() })
      .returning('oid')
      .executeTakeFirstOrThrow();
    return row.oid;
  }
  async function member(organisationOid: string, citizenOid: string, roles: Array<'chief' | 'admin' | 'employee'>, joinedAt = clock.now()) {
    await m.db.insertInto('organisation_members').values({ organisation_oid: organisationOid, citizen_oid: citizenOid, roles, joined_at: joinedAt }).execute();
  }
  async function childRecord(parentOid: string, certNumber: string, firstName: string, link?: { childOid: string }): Promise<string> {
    const row = await m.db
      .insertInto('children')
      .values({
        parent_oid: parentOid, last_name: 'Ёлкина', first_name: firstName, middle_name: 'Ивановна', birth_date: '2011-04-12', gender: 'F', snils: null,
        cert_series: 'IV-МЮ', cert_number: certNumber, cert_issue_date: '2011-04-20', cert_issued_by: 'Отдел ЗАГС Арбат', check_status: 'verified', checked_at: clock.now(),
        ...(link ? { child_oid: link.childOid, link_state: 'linked' as const, link_changed_at: clock.now() } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }
  /** An active power of attorney (written directly: the twins share a SNILS, which names only one of them). */
  async function power(principal: { oid: string }, representative: { oid: string }, rights: Array<'view' | 'apply' | 'manage_poa'>): Promise<string> {
    const now = clock.now();
    const row = await m.db
      .insertInto('powers_of_attorney')
      .values({
        principal_kind: 'citizen', principal_citizen_oid: principal.oid, principal_organisation_oid: null, representative_oid: representative.oid, rights, client_ids: null,
        valid_from: new Date(now.getTime() - 3_600_000), valid_to: new Date(now.getTime() + 30 * 86_400_000), state: 'active', created_by_oid: principal.oid, created_at: now, activated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  const rolesOf = async (oid: string) => Object.fromEntries((await listMemberships(m.db, oid)).map((ms) => [ms.organisation.oid, ms.roles]));
  const childrenOf = async (oid: string) => (await listChildrenOf(m.db, oid)).map((c) => c.id).toSorted();
  const childOidOf = async (id: string) => (await m.db.selectFrom('children').select('child_oid').where('id', '=', id).executeTakeFirstOrThrow()).child_oid;
  const powerSides = async (id: string) => {
    const row = await m.db.selectFrom('powers_of_attorney').select(['principal_citizen_oid', 'representative_oid', 'created_by_oid']).where('id', '=', id).executeTakeFirstOrThrow();
    return [row.principal_citizen_oid, row.representative_oid, row.created_by_oid];
  };
  const citizen = (oid: string) => m.citizenRow(oid);

  /**
   * Two accounts of one person, each with something of its own in every area, and an organisation
   * and a child both of them have.
   */
  async function holdings() {
    const [me, other] = await m.twins();
    const [representative, principal, mine] = [await m.person(newIdentity()), await m.person(newIdentity()), await m.person(newIdentity())];
    const parent = await m.person(newIdentity({ lastName: 'Ёлкин', firstName: 'Иван', middleName: 'Петрович', birthDate: '1960-01-01' }));
    const orgs = { others: await organisation('Берёзка'), mine: await organisation('Ромашка'), shared: await organisation('Василёк'), invites: await organisation('Ландыш') };
    await member(orgs.others, other.oid, ['employee']);
    await member(orgs.mine, me.oid, ['admin', 'employee']);
    await member(orgs.shared, other.oid, ['chief'], new Date('2020-01-01T00:00:00Z'));
    await member(orgs.shared, me.oid, ['employee']);
    const kids = {
      others: await childRecord(other.oid, String(100_000 + ++serial), 'Анна'),
      mine: await childRecord(me.oid, String(100_000 + ++serial), 'Вера'),
    };
    const sharedCert = String(100_000 + ++serial);
    const shared = { mine: await childRecord(me.oid, sharedCert, 'Галина'), others: await childRecord(other.oid, sharedCert, 'Галина') };
    // The other account is itself someone's child of 14+, linked with its parent.
    const asChild = await childRecord(parent.oid, String(100_000 + ++serial), 'Мария', { childOid: other.oid });
    const powers = {
      byOther: await power(other, representative, ['view']),
      toOther: await power(principal, other, ['apply']),
      byMe: await power(me, mine, ['view']),
    };
    const invitation = await m.db
      .insertInto('organisation_invitations')
      .values({ organisation_oid: orgs.invites, invitee_email: other.email, invitee_snils: null, roles: ['employee'], state: 'pending', invited_by_oid: null, created_at: clock.now(), expires_at: new Date(clock.now().getTime() + 14 * 86_400_000) })
      .returning('id')
      .executeTakeFirstOrThrow();
    await m.db.insertInto('acting_choices').values({ session_uid: `uid-${other.oid}`, client_id: 'some-rp', citizen_oid: other.oid, kind: 'person', organisation_oid: null, power_id: null, chosen_at: clock.now() }).execute();
    return { me, other, orgs, kids, shared, asChild, powers, invitationId: String(invitation.id) };
  }

  type Holdings = Awaited<ReturnType<typeof holdings>>;

  /** Each account holds exactly what it had before the link. */
  async function expectEachOwnsItsOwn(h: Holdings) {
    const { me, other, orgs, kids, shared, asChild, powers } = h;
    expect(await rolesOf(other.oid)).toEqual({ [orgs.others]: ['employee'], [orgs.shared]: ['chief'] });
    expect(await rolesOf(me.oid)).toEqual({ [orgs.mine]: ['admin', 'employee'], [orgs.shared]: ['employee'] });
    const sharedJoined = await m.db.selectFrom('organisation_members').select('joined_at').where('organisation_oid', '=', orgs.shared).where('citizen_oid', '=', other.oid).executeTakeFirstOrThrow();
    expect(sharedJoined.joined_at.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(await childrenOf(other.oid)).toEqual([kids.others, shared.others].toSorted());
    expect(await childrenOf(me.oid)).toEqual([kids.mine, shared.mine].toSorted());
    expect(await childOidOf(asChild)).toBe(other.oid);
    expect(await powerSides(powers.byOther)).toEqual([other.oid, expect.any(String), other.oid]);
    expect((await powerSides(powers.toOther))[1]).toBe(other.oid);
    expect(await powerSides(powers.byMe)).toEqual([me.oid, expect.any(String), me.oid]);
    expect((await listUsablePowers(m.db, other.oid, 'some-rp', clock.now())).map((p) => p.id)).toEqual([powers.toOther]);
    expect(await listUsablePowers(m.db, me.oid, 'some-rp', clock.now())).toEqual([]);
    expect(await m.db.selectFrom('merge_moved_rows').select('kind').where('origin_oid', 'in', [me.oid, other.oid]).execute()).toEqual([]);
  }

  /** `holder` (the group's primary) holds everything both accounts had; `alias` nothing. */
  async function expectHolderHoldsAll(h: Holdings, holder: string, alias: string, sharedChild: string) {
    const { orgs, kids, asChild, powers } = h;
    expect(await rolesOf(holder)).toEqual({ [orgs.others]: ['employee'], [orgs.mine]: ['admin', 'employee'], [orgs.shared]: ['chief', 'employee'] });
    expect(await rolesOf(alias)).toEqual({});
    expect(await childrenOf(holder)).toEqual([kids.others, kids.mine, sharedChild].toSorted());
    expect(await childrenOf(alias)).toEqual([]);
    expect(await childOidOf(asChild)).toBe(holder);
    expect((await listParentLinks(m.db, holder)).map((l) => [l.childId, l.state])).toEqual([[asChild, 'linked']]);
    expect(await powerSides(powers.byOther)).toEqual([holder, expect.any(String), holder]);
    expect((await powerSides(powers.toOther))[1]).toBe(holder);
    expect(await powerSides(powers.byMe)).toEqual([holder, expect.any(String), holder]);
    const lists = await listCitizenPowers(m.db, { oid: holder, displayName: 'Ёлкина Мария Петровна' }, clock.now());
    expect(lists.granted[0].powers.active.map((p) => p.id).toSorted()).toEqual([powers.byOther, powers.byMe].toSorted());
    expect(lists.received.active.map((p) => p.id)).toEqual([powers.toOther]);
    expect((await listUsablePowers(m.db, holder, 'some-rp', clock.now())).map((p) => p.id)).toEqual([powers.toOther]);
    expect(await listUsablePowers(m.db, alias, 'some-rp', clock.now())).toEqual([]);
    expect(await listReceivedInvitations(m.db, await citizen(holder), clock.now())).toEqual([expect.objectContaining({ id: h.invitationId })]);
  }

  /** The account pages of the signed-in primary show what it now holds. */
  async function expectPagesShow(browser: BrowserSession, h: Holdings) {
    const organisations = await browser.open(m.url('/account/organisations'));
    for (const oid of [h.orgs.others, h.orgs.mine, h.orgs.shared]) expect(organisations.html).toContain(`data-organisation-oid="${oid}"`);
    expect(organisations.html).toContain(`data-invitation-id="${h.invitationId}"`);
    const children = await browser.open(m.url('/account/children'));
    for (const id of [h.kids.others, h.kids.mine]) expect(children.html).toContain(`data-child-id="${id}"`);
    expect(decode(children.html)).toContain('Ёлкин Иван Петрович');
    const powers = await browser.open(m.url('/account/powers'));
    for (const id of Object.values(h.powers)) expect(powers.html).toContain(`data-power="${id}"`);
  }

  it('the survivor holds the other account\'s organisations, children, 14+ link, powers and invitations; «Отвязать» gives each back', async () => {
    const h = await holdings();
    const browser = await m.signedIn(h.me);
    expect((await m.link(browser, h.other)).url).toBe(m.url('/account/accounts?done=merged'));

    // The shared child keeps the survivor's record; the other's is kept aside, not on the alias.
    await expectHolderHoldsAll(h, h.me.oid, h.other.oid, h.shared.mine);
    await expectPagesShow(browser, h);
    expect(await m.db.selectFrom('children').select('id').where('id', '=', h.shared.others).execute()).toEqual([]);
    expect(await m.db.selectFrom('acting_choices').select('session_uid').where('citizen_oid', '=', h.other.oid).execute()).toEqual([]);
    const audit = await m.db.selectFrom('audit_events').select('details').where('citizen_oid', '=', h.me.oid).where('type', '=', 'account.merged').executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ memberships: 2, children: 2, childLinks: 1, powers: 2 });

    const undone = await m.post(browser, `/account/accounts/${h.other.oid}/unlink`);
    expect(undone.url).toBe(m.url('/account/accounts?done=unlinked'));
    await expectEachOwnsItsOwn(h);
    expect(await listReceivedInvitations(m.db, await citizen(h.me.oid), clock.now())).toEqual([]);
    expect(await listReceivedInvitations(m.db, await citizen(h.other.oid), clock.now())).toEqual([expect.objectContaining({ id: h.invitationId })]);
    // The other account's own pages show its own again.
    const own = await m.signedIn(h.other);
    expect((await own.open(m.url('/account/children'))).html).toContain(`data-child-id="${h.shared.others}"`);
    expect((await own.open(m.url('/account/organisations'))).html).toContain(`data-organisation-oid="${h.orgs.others}"`);
  });

  it('«Сделать основным» takes everything to the new primary; unlinking the old one afterwards gives each account its own', async () => {
    const h = await holdings();
    await m.link(await m.signedIn(h.me), h.other);
    const browser = await m.signedIn(h.me);
    expect((await m.post(browser, `/account/accounts/${h.other.oid}/primary`)).url).toBe(m.url('/account/accounts/primary-changed'));

    await expectHolderHoldsAll(h, h.other.oid, h.me.oid, h.shared.mine);
    const primary = await m.signedIn(h.other);
    await expectPagesShow(primary, h);

    // The old primary leaves with its own; the new one gets its own record of the shared child back.
    expect((await m.post(primary, `/account/accounts/${h.me.oid}/unlink`)).url).toBe(m.url('/account/accounts?done=unlinked'));
    await expectEachOwnsItsOwn(h);
  });

  it('splits a membership shared across a group of three back to each account\'s own roles', async () => {
    const identity = newIdentity();
    const [first, second] = await m.twins(identity);
    const third = await m.person({ ...identity }, 'Tretij-Parol-2026!');
    const org = await organisation('Ромашка-3');
    await member(org, first.oid, ['employee']);
    await member(org, second.oid, ['admin', 'employee']);
    await m.link(await m.signedIn(first), second);
    expect(await rolesOf(first.oid)).toEqual({ [org]: ['admin', 'employee'] });
    // `first` (holding both accounts' membership) is linked into `third`, with its own linked account.
    const browser = await m.signedIn(third);
    await m.link(browser, first);
    expect(await rolesOf(third.oid)).toEqual({ [org]: ['admin', 'employee'] });
    expect(await rolesOf(first.oid)).toEqual({});

    await m.post(browser, `/account/accounts/${second.oid}/unlink`);
    expect(await rolesOf(second.oid)).toEqual({ [org]: ['admin', 'employee'] });
    expect(await rolesOf(third.oid)).toEqual({ [org]: ['employee'] });
    await m.post(browser, `/account/accounts/${first.oid}/unlink`);
    expect(await rolesOf(first.oid)).toEqual({ [org]: ['employee'] });
    expect(await rolesOf(third.oid)).toEqual({});
    expect(await m.db.selectFrom('merge_moved_rows').select('row_id').where('kind', '=', 'org_membership').where('origin_oid', 'in', [first.oid, second.oid, third.oid]).execute()).toEqual([]);
  });

  it('keeps no role the shared membership lost while linked', async () => {
    const [me, other] = await m.twins();
    const org = await organisation('Одуванчик');
    await member(org, other.oid, ['admin', 'employee']);
    await member(org, me.oid, ['employee']);
    const browser = await m.signedIn(me);
    await m.link(browser, other);
    expect(await rolesOf(me.oid)).toEqual({ [org]: ['admin', 'employee'] });
    // The chief takes the admin role away from the (linked) member.
    await m.db.updateTable('organisation_members').set({ roles: ['employee'] }).where('organisation_oid', '=', org).where('citizen_oid', '=', me.oid).execute();

    await m.post(browser, `/account/accounts/${other.oid}/unlink`);
    expect(await rolesOf(other.oid)).toEqual({ [org]: ['employee'] });
    expect(await rolesOf(me.oid)).toEqual({ [org]: ['employee'] });
  });

  it('does not give back what was removed while linked', async () => {
    const [me, other] = await m.twins();
    const org = await organisation('Клевер');
    await member(org, other.oid, ['employee']);
    const kid = await childRecord(other.oid, String(100_000 + ++serial), 'Дарья');
    const browser = await m.signedIn(me);
    await m.link(browser, other);
    await m.db.deleteFrom('organisation_members').where('organisation_oid', '=', org).execute();
    await m.db.deleteFrom('children').where('id', '=', kid).execute();

    await m.post(browser, `/account/accounts/${other.oid}/unlink`);
    expect(await rolesOf(other.oid)).toEqual({});
    expect(await childrenOf(other.oid)).toEqual([]);
    expect(await m.db.selectFrom('merge_moved_rows').select('kind').where('origin_oid', '=', other.oid).execute()).toEqual([]);
  });

  it('refuses the link while one principal trusts both accounts with a shared right, until one of them is renounced', async () => {
    const [me, other] = await m.twins();
    const principal = await m.person(newIdentity());
    const toMe = await power(principal, me, ['view', 'apply']);
    const toOther = await power(principal, other, ['view']);
    // A right not shared does not count.
    await power(principal, other, ['manage_poa']);
    const browser = await m.signedIn(me);
    expect((await m.proveByPassword(browser, other)).url).toBe(m.url(`/account/accounts/${other.oid}/confirm`));
    const refused = await m.post(browser, `/account/accounts/${other.oid}/confirm`);
    expect(refused.status).toBe(409);
    const text = decode(refused.html);
    expect(text).toContain(`доверенность №${toMe}: OID ${principal.oid} доверяет OID ${me.oid} то же, что и другой учётной записи — откажитесь от одной из них`);
    expect(text).toContain(`доверенность №${toOther}: OID ${principal.oid} доверяет OID ${other.oid}`);
    expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();

    // The representative renounces one; the link goes through and the survivor holds the other power.
    await revokePower(m.db, { actorOid: other.oid, powerId: toOther, now: clock.now() });
    expect((await m.link(browser, other)).url).toBe(m.url('/account/accounts?done=merged'));
    expect((await listUsablePowers(m.db, me.oid, 'some-rp', clock.now())).map((p) => p.id).toSorted()).toHaveLength(2);
  });

  it('deleting the survivor erases what moved to it and what was kept aside', async () => {
    const h = await holdings();
    const browser = await m.signedIn(h.me);
    await m.link(browser, h.other);
    expect(await deleteAccount(idp.runtime.provider, m.db, { oid: h.me.oid })).toMatchObject({ result: 'deleted' });
    expect(await m.db.selectFrom('citizens').select('oid').where('oid', 'in', [h.me.oid, h.other.oid]).execute()).toEqual([]);
    expect(await m.db.selectFrom('merge_moved_rows').select('row_id').where('origin_oid', 'in', [h.me.oid, h.other.oid]).execute()).toEqual([]);
    expect(await m.db.selectFrom('merge_moved_rows').select('row_id').where('kind', '=', 'child_copy').where('row_id', '=', h.shared.others).execute()).toEqual([]);
    expect(await m.db.selectFrom('children').select('id').where('id', 'in', [h.kids.others, h.kids.mine, h.shared.mine]).execute()).toEqual([]);
    // The parent's record of the deleted child account stays, without the link.
    expect(await childOidOf(h.asChild)).toBeNull();
  });
});
