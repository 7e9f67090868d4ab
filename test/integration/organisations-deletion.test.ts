import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { giveIdentity, uniqueSnils } from '../support/identity.ts';
import type { Db } from '../../src/db/database.ts';
import type { Citizen } from '../../src/citizens/citizen.table.ts';
import { findCitizenByOid } from '../../src/citizens/citizens.repository.ts';
import { deleteAccount } from '../../src/sessions/account-deletion.service.ts';
import { mockBusinessRegistry } from '../../src/organisations/business-registry.ts';
import { addOrganisation } from '../../src/organisations/organisations.service.ts';
import { answerInvitation, inviteMember } from '../../src/organisations/invitations.service.ts';
import { findMembership, findOrganisation } from '../../src/organisations/memberships.ts';

/**
 * Deleting an account: the citizen's memberships and the invitations addressed to them go; an
 * organisation they head goes with them (with its members and invitations); invitations they sent
 * stay with the organisation without naming them.
 */
describe('organisations when a citizen deletes their account', () => {
  let idp: TestIdp;
  let db: Db;
  let serial = 0;

  beforeAll(async () => {
    idp = await startTestIdp();
    db = idp.runtime.database.db;
  });
  afterAll(() => idp?.close());

  const now = () => idp.runtime.clock.now();

  async function person(options: { snils?: string; level?: 'standard' | 'confirmed' } = {}) {
    const email = `del-${process.pid}-${++serial}@example.ru`;
    const { oid } = await idp.makeCitizen({ email });
    const snils = options.snils ?? uniqueSnils();
    await giveIdentity(db, oid, { snils, verifiedAs: options.level ?? 'standard' });
    return { oid, email, snils, citizen: async () => (await findCitizenByOid(db, oid))! };
  }

  async function headOf(snils: string, numbers: { kind: string; inn: string; ogrn: string }) {
    const chief = await person({ snils, level: 'confirmed' });
    const added = await addOrganisation(db, mockBusinessRegistry(), { citizen: await chief.citizen(), ...numbers, now: now() });
    if (added.result !== 'added') throw new Error(`add: ${JSON.stringify(added)}`);
    return { chief, organisationOid: added.organisationOid };
  }

  async function invite(actor: { citizen: () => Promise<Citizen> }, organisationOid: string, invitee: string, role = 'employee') {
    const outcome = await inviteMember(db, { actor: await actor.citizen(), organisationOid, invitee, role, now: now() });
    if (outcome.result !== 'invited') throw new Error(`invite: ${JSON.stringify(outcome)}`);
    return outcome.invitationId;
  }

  /** Rows of this area's tables whose text mentions any of the traces. */
  async function tracesIn(traces: string[]): Promise<Record<string, number>> {
    const found: Record<string, number> = {};
    for (const table of ['organisations', 'organisation_members', 'organisation_invitations']) {
      for (const trace of traces) {
        const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)} AS r WHERE r::text ~ ${`(^|[^0-9])${trace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^0-9]|$)`}`.execute(db);
        if (Number(rows[0].n) > 0) found[`${table}:${trace}`] = Number(rows[0].n);
      }
    }
    return found;
  }

  it('erases an employee\'s memberships and the invitations to them; keeps the organisation and what they sent', async () => {
    const { chief, organisationOid } = await headOf('11223344595', { kind: 'legal', inn: '7701234560', ogrn: '1027700123450' });
    const leaving = await person();
    const colleague = await person();

    // Joined as admin through an invitation by SNILS; a second, pending one by e-mail; an admin's own invitation to a colleague.
    const accepted = await invite(chief, organisationOid, leaving.snils, 'admin');
    expect((await answerInvitation(db, { citizen: await leaving.citizen(), invitationId: accepted, answer: 'accept', now: now() })).result).toBe('accepted');
    await invite(chief, organisationOid, leaving.email);
    const sentByLeaving = await invite(leaving, organisationOid, colleague.snils);
    expect(Object.keys(await tracesIn([leaving.oid, leaving.snils, leaving.email]))).toEqual(expect.arrayContaining([
      `organisation_members:${leaving.oid}`, `organisation_invitations:${leaving.oid}`, `organisation_invitations:${leaving.snils}`, `organisation_invitations:${leaving.email}`,
    ]));

    expect(await deleteAccount(idp.runtime.provider, db, { oid: leaving.oid })).toMatchObject({ result: 'deleted' });

    expect(await tracesIn([leaving.oid, leaving.snils, leaving.email])).toEqual({});
    expect(await findMembership(db, leaving.oid, organisationOid)).toBeUndefined();
    expect(await findMembership(db, chief.oid, organisationOid)).toMatchObject({ roles: ['chief'] });
    // The invitation they sent for the organisation stays, no longer naming them; the colleague can still accept it.
    expect(await db.selectFrom('organisation_invitations').select(['state', 'invited_by_oid']).where('id', '=', sentByLeaving).executeTakeFirst()).toEqual({ state: 'pending', invited_by_oid: null });
    expect((await answerInvitation(db, { citizen: await colleague.citizen(), invitationId: sentByLeaving, answer: 'accept', now: now() })).result).toBe('accepted');
  });

  it('deletes the organisation whose chief deletes their account, with its members and invitations', async () => {
    const { chief, organisationOid } = await headOf('34567892329', { kind: 'legal', inn: '5001112228', ogrn: '1155000111221' });
    const employee = await person();
    const invitationId = await invite(chief, organisationOid, employee.snils);
    await answerInvitation(db, { citizen: await employee.citizen(), invitationId, answer: 'accept', now: now() });
    await invite(chief, organisationOid, uniqueSnils());

    expect(await deleteAccount(idp.runtime.provider, db, { oid: chief.oid })).toMatchObject({ result: 'deleted' });

    expect(await findOrganisation(db, organisationOid)).toBeUndefined();
    expect(await findMembership(db, employee.oid, organisationOid)).toBeUndefined();
    expect(await db.selectFrom('organisation_invitations').select('id').where('organisation_oid', '=', organisationOid).execute()).toEqual([]);
    expect(await tracesIn([chief.oid, chief.snils, chief.email, organisationOid])).toEqual({});
    const trail = await db.selectFrom('audit_events').select(['type', 'details']).where('citizen_oid', '=', chief.oid).where('type', '=', 'organisation.deleted').execute();
    expect(trail).toEqual([{ type: 'organisation.deleted', details: { organisationOid, reason: 'chief_account_deleted' } }]);
    // The employee's own account is untouched.
    expect(await findCitizenByOid(db, employee.oid)).toBeDefined();
  });
});
