import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { giveIdentity, uniqueSnils } from '../support/identity.ts';
import { messagesTo } from '../support/outbox.ts';
import type { Db } from '../../src/db/database.ts';
import { AppError } from '../../src/shared/app-error.ts';
import { addYears, calendarDate } from '../../src/shared/validators.ts';
import { renderTemplate, TemplateError } from '../../src/notifications/templates.ts';
import { deleteAccount } from '../../src/sessions/account-deletion.service.ts';
import { pruneEverything } from '../../src/oidc/prune.ts';
import { addDays, type PowerForm } from '../../src/powers/power-form.ts';
import { PowerStateError } from '../../src/powers/power-states.ts';
import { findUsablePower, listUsablePowers } from '../../src/powers/powers.repository.ts';
import {
  activatePower, createDraftPower, discardDraft, expireDuePowers, findConflictingPowersForMerge, getPowerForCitizen, listCitizenPowers, PowerConflictError,
  revokePower,
} from '../../src/powers/powers.service.ts';
import { seedDemoPower } from '../../src/powers/demo-power.ts';
import { DEMO_CLIENT_ID, seedDemoData } from '../../src/demo/seed.ts';

const DAY = 24 * 3600;

describe('powers of attorney', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let db: Db;
  let rpA: string;
  let rpB: string;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
    rpA = (await idp.makeClient({ name: 'Сервис А' })).clientId;
    rpB = (await idp.makeClient({ name: 'Сервис Б' })).clientId;
  });
  afterAll(async () => idp?.close());
  // Noon in Moscow, so "today" and "tomorrow" are not a second apart.
  beforeEach(() => clock.set(new Date('2026-03-10T09:00:00Z')));

  const today = () => calendarDate(clock.now());
  let names = 0;
  const surnames = ['Доверителева', 'Представителев', 'Посторонний', 'Кузнецов', 'Соколова', 'Попов', 'Лебедева', 'Козлов', 'Новикова', 'Морозов'];

  /** A citizen whose SNILS the registries verified (standard level): the only kind a power can name. */
  async function verifiedCitizen() {
    const citizen = await idp.makeCitizen({ lastName: surnames[names++ % surnames.length] });
    const snils = uniqueSnils();
    await giveIdentity(db, citizen.oid, { verifiedAs: 'standard', snils });
    const { phone, last_name } = await db.selectFrom('citizens').select(['phone', 'last_name']).where('oid', '=', citizen.oid).executeTakeFirstOrThrow();
    return { ...citizen, snils, phone: phone!, lastName: last_name, fullName: `${last_name} Тест Тестович` };
  }

  function form(representativeSnils: string, overrides: Partial<PowerForm> = {}): PowerForm {
    return { principal: 'self', representativeSnils, rights: ['view'], clientIds: [], validFrom: today(), validTo: addDays(addYears(today(), 1), -1), ...overrides };
  }

  async function draft(principalOid: string, representativeSnils: string, overrides: Partial<PowerForm> = {}): Promise<string> {
    const outcome = await createDraftPower(db, { actorOid: principalOid, form: form(representativeSnils, overrides), now: clock.now() });
    if (outcome.result !== 'created') throw new Error(`draft refused: ${JSON.stringify(outcome.problems)}`);
    return outcome.id;
  }

  async function grant(principalOid: string, representativeSnils: string, overrides: Partial<PowerForm> = {}): Promise<string> {
    const id = await draft(principalOid, representativeSnils, overrides);
    await activatePower(db, { actorOid: principalOid, powerId: id, now: clock.now() });
    return id;
  }

  const stateOf = async (id: string) => (await db.selectFrom('powers_of_attorney').select('state').where('id', '=', id).executeTakeFirst())?.state;
  const powerNotices = async (phone: string) =>
    (await messagesTo(db, phone)).filter((m) => m.template === 'power_of_attorney').map((m) => ({ event: m.payload.event, side: m.payload.side, powerId: m.payload.powerId }));

  async function refusal(promise: Promise<unknown>): Promise<AppError> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
    throw new Error('expected a refusal');
  }

  // ─── Creating a draft ───

  describe('the create form', () => {
    it.each<[string, Partial<PowerForm>, string, string]>([
      ['no SNILS', { representativeSnils: '' }, 'representative_snils', 'powers.error.representative_snils.required'],
      ['letters in the SNILS', { representativeSnils: '123-abc-789 01' }, 'representative_snils', 'powers.error.representative_snils.format'],
      ['a short SNILS', { representativeSnils: '123-456-789' }, 'representative_snils', 'powers.error.representative_snils.length'],
      ['a wrong control number', { representativeSnils: '112-233-445 96' }, 'representative_snils', 'powers.error.representative_snils.checksum'],
      ['no right', { rights: [] }, 'rights', 'powers.error.rights.required'],
      ['an unknown service', { clientIds: ['no-such-client'] }, 'clients', 'powers.error.clients.unknown'],
      ['no start date', { validFrom: '' }, 'valid_from', 'powers.error.valid_from.required'],
      ['a start date in words', { validFrom: 'завтра' }, 'valid_from', 'powers.error.valid_from.format'],
      ['31 February', { validFrom: '31.02.2026' }, 'valid_from', 'powers.error.valid_from.impossible_date'],
      ['a start two days ago', { validFrom: '2026-03-08' }, 'valid_from', 'powers.error.valid_from.past'],
      ['no end date', { validTo: '' }, 'valid_to', 'powers.error.valid_to.required'],
      ['an end in the past', { validFrom: '2026-03-09', validTo: '2026-03-09' }, 'valid_to', 'powers.error.valid_to.past'],
      ['an end before the start', { validFrom: '2026-04-10', validTo: '2026-04-09' }, 'valid_to', 'powers.error.valid_to.before_from'],
      ['more than three years', { validFrom: '2026-03-10', validTo: '2029-03-10' }, 'valid_to', 'powers.error.valid_to.too_long'],
    ])('refuses %s', async (_, overrides, field, key) => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const outcome = await createDraftPower(db, { actorOid: principal.oid, form: form(representative.snils, overrides), now: clock.now() });
      expect(outcome).toEqual({ result: 'invalid', problems: { [field]: expect.objectContaining({ key }) } });
      expect(await db.selectFrom('powers_of_attorney').select('id').where('principal_citizen_oid', '=', principal.oid).execute()).toEqual([]);
    });

    it('accepts yesterday as the start (a form sent after midnight) and exactly three years less a day', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils, { validFrom: '09.03.2026', validTo: '08.03.2029', rights: ['view', 'apply'], clientIds: [rpA, rpA] });
      const row = await db.selectFrom('powers_of_attorney').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'draft', principal_kind: 'citizen', principal_citizen_oid: principal.oid, representative_oid: representative.oid, rights: ['view', 'apply'], client_ids: [rpA], created_by_oid: principal.oid });
      // Calendar days in Moscow: from 00:00 МСК of the first day to 24:00 МСК of the last.
      expect(row.valid_from.toISOString()).toBe('2026-03-08T21:00:00.000Z');
      expect(row.valid_to.toISOString()).toBe('2029-03-08T21:00:00.000Z');
    });

    it('does not find a representative without an account, or whose SNILS was never verified', async () => {
      const principal = await verifiedCitizen();
      const unverified = await idp.makeCitizen();
      const snils = uniqueSnils();
      await giveIdentity(db, unverified.oid, { snils });
      for (const representativeSnils of [uniqueSnils(), snils]) {
        const outcome = await createDraftPower(db, { actorOid: principal.oid, form: form(representativeSnils), now: clock.now() });
        expect(outcome).toEqual({ result: 'invalid', problems: { representative_snils: { key: 'powers.error.representative_snils.not_found' } } });
      }
    });

    it('refuses a power to oneself', async () => {
      const principal = await verifiedCitizen();
      const outcome = await createDraftPower(db, { actorOid: principal.oid, form: form(principal.snils), now: clock.now() });
      expect(outcome).toEqual({ result: 'invalid', problems: { representative_snils: { key: 'powers.error.representative_snils.self' } } });
    });
  });

  // ─── Activation, notices, use ───

  describe('signing', () => {
    it('activates a draft, tells both sides and makes it usable at the services it names', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils, { rights: ['view', 'apply'], clientIds: [rpA] });
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toBeUndefined();
      expect(await powerNotices(representative.phone)).toEqual([]);

      await activatePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() });
      expect(await stateOf(id)).toBe('active');
      expect(await powerNotices(principal.phone)).toEqual([{ event: 'activated', side: 'principal', powerId: id }]);
      expect(await powerNotices(representative.phone)).toEqual([{ event: 'activated', side: 'representative', powerId: id }]);
      const [notice] = (await messagesTo(db, representative.phone)).filter((m) => m.template === 'power_of_attorney');
      expect(renderTemplate(notice.template, notice.payload).text).toContain(`Вам выдана доверенность №${id}, она действует по 9 марта 2027 г. включительно`);
      const audit = await db.selectFrom('audit_events').select(['type', 'details']).where('citizen_oid', '=', principal.oid).where('type', '=', 'power_of_attorney.activated').execute();
      expect(audit).toEqual([{ type: 'power_of_attorney.activated', details: expect.objectContaining({ powerId: id, representativeOid: representative.oid }) }]);

      const usable = await findUsablePower(db, id, representative.oid, rpA, clock.now());
      expect(usable).toEqual({
        id, principal: { kind: 'citizen', oid: principal.oid, displayName: principal.fullName },
        representativeOid: representative.oid, rights: ['view', 'apply'], clientIds: [rpA], validTo: new Date('2027-03-09T21:00:00Z'),
      });
      expect(await listUsablePowers(db, representative.oid, rpA, clock.now())).toEqual([usable]);
      // Not at another service, not for another citizen, not by a made-up id.
      expect(await findUsablePower(db, id, representative.oid, rpB, clock.now())).toBeUndefined();
      expect(await listUsablePowers(db, representative.oid, rpB, clock.now())).toEqual([]);
      expect(await findUsablePower(db, id, principal.oid, rpA, clock.now())).toBeUndefined();
      expect(await findUsablePower(db, 'abc', representative.oid, rpA, clock.now())).toBeUndefined();
    });

    it('is usable only from its first day', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await grant(principal.oid, representative.snils, { validFrom: '2026-03-12', validTo: '2026-03-20' });
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toBeUndefined();
      clock.set(new Date('2026-03-11T20:59:59Z'));
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toBeUndefined();
      clock.set(new Date('2026-03-11T21:00:00Z'));
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toMatchObject({ id });
    });

    it('refuses to sign a draft whose period is over', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils, { validTo: '2026-03-11' });
      clock.advance(3 * DAY);
      expect(await refusal(activatePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() }))).toMatchObject({ code: 'powers.refused.period_over', status: 409 });
      expect(await stateOf(id)).toBe('draft');
    });

    it.each<[string, (representativeOid: string, otherOid: string) => Promise<unknown>]>([
      ['fell to simplified', (oid) => db.updateTable('citizens').set({ trust_level: 'simplified' }).where('oid', '=', oid).execute()],
      ['lost its SNILS', (oid) => db.updateTable('citizens').set({ snils: null }).where('oid', '=', oid).execute()],
      ['was linked into another account', (oid, other) => db.updateTable('citizens').set({ merged_into_oid: other }).where('oid', '=', oid).execute()],
    ])('refuses to sign a draft whose representative\'s account %s, keeping the draft', async (_, change) => {
      const [principal, representative, other] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils);
      await change(representative.oid, other.oid);
      expect(await refusal(activatePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() }))).toMatchObject({ code: 'powers.refused.representative_not_verified', status: 409 });
      expect(await stateOf(id)).toBe('draft');
      expect(await powerNotices(principal.phone)).toEqual([]);
      expect(await powerNotices(representative.phone)).toEqual([]);
    });

    it('signs the kept draft once the representative is verified again', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils);
      await db.updateTable('citizens').set({ trust_level: 'simplified' }).where('oid', '=', representative.oid).execute();
      await refusal(activatePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() }));
      await db.updateTable('citizens').set({ trust_level: 'confirmed' }).where('oid', '=', representative.oid).execute();
      await activatePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() });
      expect(await stateOf(id)).toBe('active');
    });

    it('lets the principal discard a draft (the row goes), and only a draft', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils);
      await discardDraft(db, { actorOid: principal.oid, powerId: id, now: clock.now() });
      expect(await stateOf(id)).toBeUndefined();
      expect(await refusal(discardDraft(db, { actorOid: principal.oid, powerId: id, now: clock.now() }))).toMatchObject({ code: 'powers.error.not_found', status: 404 });
      const active = await grant(principal.oid, representative.snils);
      expect(await refusal(discardDraft(db, { actorOid: principal.oid, powerId: active, now: clock.now() }))).toMatchObject({ code: 'powers.refused.active', status: 409 });
    });
  });

  // ─── Conflicts ───

  describe('conflicts', () => {
    it('refuses a draft that repeats an active right for an overlapping time and service, naming the power and the right', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const first = await grant(principal.oid, representative.snils, { rights: ['view', 'apply'], validFrom: '2026-03-10', validTo: '2026-06-30' });
      const outcome = await createDraftPower(db, { actorOid: principal.oid, form: form(representative.snils, { rights: ['manage_poa', 'apply'], validFrom: '2026-06-30', validTo: '2026-12-31' }), now: clock.now() });
      expect(outcome).toEqual({ result: 'invalid', problems: { form: { key: 'powers.error.conflict', params: { id: first, right: 'apply' } } } });

      // Another right, a period after the first one ends, or another representative: no conflict.
      await grant(principal.oid, representative.snils, { rights: ['manage_poa'] });
      await grant(principal.oid, representative.snils, { rights: ['view'], validFrom: '2026-07-01', validTo: '2026-12-31' });
      await grant(principal.oid, (await verifiedCitizen()).snils, { rights: ['view'] });
      // Another principal to the same representative is their own business.
      await grant((await verifiedCitizen()).oid, representative.snils, { rights: ['view'] });
    });

    it('tells services apart: powers for disjoint services do not conflict, one for all services conflicts with both', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const atA = await grant(principal.oid, representative.snils, { clientIds: [rpA] });
      await grant(principal.oid, representative.snils, { clientIds: [rpB] });
      const everywhere = await createDraftPower(db, { actorOid: principal.oid, form: form(representative.snils), now: clock.now() });
      expect(everywhere).toEqual({ result: 'invalid', problems: { form: { key: 'powers.error.conflict', params: { id: atA, right: 'view' } } } });
    });

    it('checks again at signing: of two drafts for the same right, the second is refused', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const [first, second] = [await draft(principal.oid, representative.snils), await draft(principal.oid, representative.snils)];
      await activatePower(db, { actorOid: principal.oid, powerId: first, now: clock.now() });
      const error = await refusal(activatePower(db, { actorOid: principal.oid, powerId: second, now: clock.now() }));
      expect(error).toBeInstanceOf(PowerConflictError);
      expect(error).toMatchObject({ status: 409, conflictingPowerId: first, right: 'view' });
      expect(await stateOf(second)).toBe('draft');
      // Once the first is revoked, the second may be signed.
      await revokePower(db, { actorOid: principal.oid, powerId: first, now: clock.now() });
      await activatePower(db, { actorOid: principal.oid, powerId: second, now: clock.now() });
      expect(await stateOf(second)).toBe('active');
    });

    it('lets exactly one of two concurrent activations through', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      for (let round = 0; round < 3; round++) {
        const ids = [await draft(principal.oid, representative.snils, { rights: ['apply'] }), await draft(principal.oid, representative.snils, { rights: ['apply', 'view'] })];
        const results = await Promise.allSettled(ids.map((powerId) => activatePower(db, { actorOid: principal.oid, powerId, now: clock.now() })));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const [rejected] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected.reason).toBeInstanceOf(PowerConflictError);
        const active = await db.selectFrom('powers_of_attorney').select('id').where('principal_citizen_oid', '=', principal.oid).where('state', '=', 'active').execute();
        expect(active).toHaveLength(1);
        await revokePower(db, { actorOid: principal.oid, powerId: active[0].id, now: clock.now() });
      }
    });
  });

  // ─── Revocation and refused transitions ───

  describe('revocation', () => {
    it('revokes with a reason: unusable at once, both sides told, the reason kept', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await grant(principal.oid, representative.snils);
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toBeDefined();
      clock.advance(3600);
      await revokePower(db, { actorOid: principal.oid, powerId: id, reason: '  Больше не нужна  ', now: clock.now() });
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toBeUndefined();
      const row = await db.selectFrom('powers_of_attorney').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'revoked', revoke_reason: 'Больше не нужна', ended_at: clock.now() });
      expect((await powerNotices(principal.phone)).at(-1)).toEqual({ event: 'revoked', side: 'principal', powerId: id });
      expect((await powerNotices(representative.phone)).at(-1)).toEqual({ event: 'revoked', side: 'representative', powerId: id });
    });

    it('lets the representative renounce it', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await grant(principal.oid, representative.snils);
      await revokePower(db, { actorOid: representative.oid, powerId: id, now: clock.now() });
      expect(await stateOf(id)).toBe('revoked');
      expect((await powerNotices(principal.phone)).at(-1)).toEqual({ event: 'renounced', side: 'principal', powerId: id });
      expect((await db.selectFrom('audit_events').select('type').where('citizen_oid', '=', representative.oid).where('type', 'like', 'power_of_attorney.%').execute()).map((e) => e.type)).toEqual(['power_of_attorney.renounced']);
    });

    it('refuses what the states do not allow', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await draft(principal.oid, representative.snils);
      const act = (powerId: string) => activatePower(db, { actorOid: principal.oid, powerId, now: clock.now() });
      const revoke = (powerId: string, actorOid = principal.oid) => revokePower(db, { actorOid, powerId, now: clock.now() });

      expect(await refusal(revoke(id))).toMatchObject({ code: 'powers.refused.draft', status: 409 });
      await act(id);
      expect(await refusal(act(id))).toMatchObject({ code: 'powers.refused.active', status: 409 });
      await revoke(id);
      const twice = await refusal(revoke(id));
      expect(twice).toBeInstanceOf(PowerStateError);
      expect(twice).toMatchObject({ code: 'powers.refused.revoked', transition: 'revoke', state: 'revoked' });
      expect(await refusal(act(id))).toMatchObject({ code: 'powers.refused.revoked' });
      expect(await refusal(revoke(id, representative.oid))).toMatchObject({ code: 'powers.refused.revoked', transition: 'renounce' });
      expect(await refusal(revokePower(db, { actorOid: principal.oid, powerId: await grant(principal.oid, representative.snils), reason: 'я'.repeat(501), now: clock.now() })))
        .toMatchObject({ code: 'powers.error.reason.too_long', status: 400 });
    });

    it('answers 404 for someone else\'s power, and hides drafts from the representative', async () => {
      const [principal, representative, stranger] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
      const pending = await draft(principal.oid, representative.snils, { rights: ['apply'] });
      const active = await grant(principal.oid, representative.snils);
      for (const [actor, id] of [[stranger.oid, active], [stranger.oid, pending], [representative.oid, pending]]) {
        expect(await refusal(getPowerForCitizen(db, id, actor, clock.now()))).toMatchObject({ code: 'powers.error.not_found', status: 404 });
        expect(await refusal(revokePower(db, { actorOid: actor, powerId: id, now: clock.now() }))).toMatchObject({ status: 404 });
        expect(await refusal(activatePower(db, { actorOid: actor, powerId: id, now: clock.now() }))).toMatchObject({ status: 404 });
      }
      expect(await refusal(getPowerForCitizen(db, '999999', principal.oid, clock.now()))).toMatchObject({ status: 404 });
      expect(await refusal(getPowerForCitizen(db, '1; drop', principal.oid, clock.now()))).toMatchObject({ status: 404 });
      expect(await stateOf(active)).toBe('active');
    });
  });

  // ─── Expiry with the fake clock ───

  describe('expiry', () => {
    it('is usable until valid_to, expired from then on — on read at once, and marked by the sweeper', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      const id = await grant(principal.oid, representative.snils, { validFrom: '2026-03-10', validTo: '2026-03-15' });
      const end = new Date('2026-03-15T21:00:00Z');

      clock.set(new Date(end.getTime() - 1000));
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toMatchObject({ id });
      expect(await expireDuePowers(db, clock.now())).toBe(0);

      clock.set(end);
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toBeUndefined();
      expect(await listUsablePowers(db, representative.oid, rpA, clock.now())).toEqual([]);
      // Not marked yet, yet every read already says expired.
      expect(await stateOf(id)).toBe('active');
      const lists = await listCitizenPowers(db, { oid: principal.oid, displayName: 'Доверителева' }, clock.now());
      expect(lists.granted[0].powers.active).toEqual([]);
      expect(lists.granted[0].powers.ended).toEqual([expect.objectContaining({ id, effectiveState: 'expired', inForce: false })]);
      const held = await listCitizenPowers(db, { oid: representative.oid, displayName: 'Представителев' }, clock.now());
      expect(held.received.ended).toEqual([expect.objectContaining({ id, effectiveState: 'expired' })]);
      expect(await refusal(revokePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() }))).toMatchObject({ code: 'powers.refused.expired' });

      clock.advance(600);
      expect((await pruneEverything(db, clock)).expiredPowers).toBe(1);
      const row = await db.selectFrom('powers_of_attorney').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ state: 'expired', ended_at: end });
      expect((await powerNotices(principal.phone)).at(-1)).toEqual({ event: 'expired', side: 'principal', powerId: id });
      expect((await powerNotices(representative.phone)).at(-1)).toEqual({ event: 'expired', side: 'representative', powerId: id });
      expect(await expireDuePowers(db, clock.now())).toBe(0);
      expect(await refusal(activatePower(db, { actorOid: principal.oid, powerId: id, now: clock.now() }))).toMatchObject({ code: 'powers.refused.expired' });
    });

    it('sweeps in batches until none is left', async () => {
      const principal = await verifiedCitizen();
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await grant(principal.oid, (await verifiedCitizen()).snils, { validTo: '2026-03-12' }));
      clock.set(new Date('2026-03-13T00:00:00Z'));
      expect(await expireDuePowers(db, clock.now(), 2)).toBe(5);
      expect(await db.selectFrom('powers_of_attorney').select('state').where('id', 'in', ids).execute()).toEqual(ids.map(() => ({ state: 'expired' })));
    });
  });

  // ─── Organisations as principals ───

  describe('an organisation as principal', () => {
    let organisations = 0;
    async function organisation() {
      const n = ++organisations;
      const [chief, admin, employee] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
      const org = await db.insertInto('organisations').values({ kind: 'legal', full_name: `ООО «Тест ${n}»`, short_name: `Тест ${n}`, inn: `77000000${String(n).padStart(2, '0')}`, ogrn: `10277000000${String(n).padStart(2, '0')}`, kpp: '770001001', created_at: clock.now() }).returning('oid').executeTakeFirstOrThrow();
      await db.insertInto('organisation_members').values([
        { organisation_oid: org.oid, citizen_oid: chief.oid, roles: ['chief'], joined_at: clock.now() },
        { organisation_oid: org.oid, citizen_oid: admin.oid, roles: ['employee', 'admin'], joined_at: clock.now() },
        { organisation_oid: org.oid, citizen_oid: employee.oid, roles: ['employee'], joined_at: clock.now() },
      ]).execute();
      return { oid: org.oid, name: `Тест ${n}`, chief, admin, employee };
    }

    it('is granted by the head or an admin, refused to a plain employee, and shown under the organisation', async () => {
      const org = await organisation();
      const representative = await verifiedCitizen();
      const id = await draft(org.chief.oid, representative.snils, { principal: org.oid });
      await activatePower(db, { actorOid: org.admin.oid, powerId: id, now: clock.now() });
      expect(await db.selectFrom('powers_of_attorney').select(['principal_kind', 'principal_organisation_oid', 'principal_citizen_oid', 'created_by_oid']).where('id', '=', id).executeTakeFirst())
        .toEqual({ principal_kind: 'organisation', principal_organisation_oid: org.oid, principal_citizen_oid: null, created_by_oid: org.chief.oid });
      expect(await findUsablePower(db, id, representative.oid, rpA, clock.now())).toMatchObject({ principal: { kind: 'organisation', oid: org.oid, displayName: org.name } });

      // Head and admins hear about it as the organisation; the employee does not.
      expect(await powerNotices(org.chief.phone)).toEqual([{ event: 'activated', side: 'organisation', powerId: id }]);
      expect(await powerNotices(org.admin.phone)).toEqual([{ event: 'activated', side: 'organisation', powerId: id }]);
      expect(await powerNotices(org.employee.phone)).toEqual([]);

      const refused = await refusal(createDraftPower(db, { actorOid: org.employee.oid, form: form(representative.snils, { principal: org.oid, rights: ['apply'] }), now: clock.now() }));
      expect(refused).toMatchObject({ code: 'powers.error.not_organisation_manager', status: 403 });
      expect(await refusal(createDraftPower(db, { actorOid: representative.oid, form: form(org.chief.snils, { principal: org.oid }), now: clock.now() }))).toMatchObject({ status: 403 });
      expect(await refusal(getPowerForCitizen(db, id, org.employee.oid, clock.now()))).toMatchObject({ status: 404 });
      expect(await refusal(revokePower(db, { actorOid: org.employee.oid, powerId: id, now: clock.now() }))).toMatchObject({ status: 404 });

      const adminView = await listCitizenPowers(db, { oid: org.admin.oid, displayName: 'Админ' }, clock.now());
      expect(adminView.granted.map((g) => g.principal)).toEqual([{ kind: 'citizen', oid: org.admin.oid, displayName: 'Админ' }, { kind: 'organisation', oid: org.oid, displayName: org.name }]);
      expect(adminView.granted[1].powers.active.map((p) => p.id)).toEqual([id]);
      expect((await listCitizenPowers(db, { oid: org.employee.oid, displayName: 'Сотрудник' }, clock.now())).granted).toHaveLength(1);

      // A demoted admin loses the organisation's powers at once.
      await db.updateTable('organisation_members').set({ roles: ['employee'] }).where('citizen_oid', '=', org.admin.oid).execute();
      expect(await refusal(revokePower(db, { actorOid: org.admin.oid, powerId: id, now: clock.now() }))).toMatchObject({ status: 404 });
      await revokePower(db, { actorOid: org.chief.oid, powerId: id, reason: 'Уволен', now: clock.now() });
      expect(await stateOf(id)).toBe('revoked');
    });

    it('tells the representatives of its powers in force that they ended when the chief\'s account deletion takes the organisation', async () => {
      const org = await organisation();
      const [first, second, later, gone] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
      const byChief = await grant(org.chief.oid, first.snils, { principal: org.oid });
      const byAdmin = await draft(org.admin.oid, second.snils, { principal: org.oid });
      await activatePower(db, { actorOid: org.admin.oid, powerId: byAdmin, now: clock.now() });
      const notYet = await draft(org.chief.oid, later.snils, { principal: org.oid });
      const revoked = await grant(org.chief.oid, gone.snils, { principal: org.oid });
      await revokePower(db, { actorOid: org.chief.oid, powerId: revoked, now: clock.now() });
      const chiefsOwn = await grant(org.chief.oid, first.snils, { rights: ['apply'] });

      expect(await deleteAccount(idp.runtime.provider, db, { oid: org.chief.oid })).toMatchObject({ result: 'deleted' });
      expect(await db.selectFrom('organisations').select('oid').where('oid', '=', org.oid).execute()).toEqual([]);
      expect(await db.selectFrom('powers_of_attorney').select('id').where('id', 'in', [byChief, byAdmin, notYet, revoked, chiefsOwn]).execute()).toEqual([]);

      // Each representative hears once that their power ended, as any power ended by a deletion.
      expect((await powerNotices(first.phone)).filter((n) => n.event === 'ended_account_deleted').toSorted((a, b) => Number(a.powerId) - Number(b.powerId)))
        .toEqual([{ event: 'ended_account_deleted', side: 'representative', powerId: byChief }, { event: 'ended_account_deleted', side: 'representative', powerId: chiefsOwn }]);
      expect((await powerNotices(second.phone)).at(-1)).toEqual({ event: 'ended_account_deleted', side: 'representative', powerId: byAdmin });
      // A draft never in force and a revoked power end without a word.
      expect(await powerNotices(later.phone)).toEqual([]);
      expect((await powerNotices(gone.phone)).map((n) => n.event)).toEqual(['activated', 'revoked']);
      // The admin, who signed for the organisation, hears of its powers as the organisation; the deleted chief hears nothing.
      expect((await powerNotices(org.admin.phone)).filter((n) => n.event === 'ended_account_deleted').map((n) => n.powerId).toSorted()).toEqual([byChief, byAdmin].toSorted());
      expect((await powerNotices(org.chief.phone)).filter((n) => n.event === 'ended_account_deleted')).toEqual([]);
      expect((await powerNotices(org.employee.phone)).filter((n) => n.event === 'ended_account_deleted')).toEqual([]);
    });

    it('lets an admin hold the organisation\'s power, and tells them once', async () => {
      const org = await organisation();
      const id = await grant(org.chief.oid, org.admin.snils, { principal: org.oid });
      expect(await powerNotices(org.admin.phone)).toEqual([{ event: 'activated', side: 'representative', powerId: id }]);
    });
  });

  describe('the notice', () => {
    it('has a text for every event and side, naming the power by number only', () => {
      for (const event of ['activated', 'revoked', 'renounced', 'expired', 'ended_account_deleted']) {
        for (const side of ['principal', 'organisation', 'representative']) {
          const { subject, text } = renderTemplate('power_of_attorney', { event, side, powerId: '42', validTo: '2027-03-09' });
          expect(subject).toBe('Доверенность №42');
          expect(text).toContain('№42');
          expect(text).toContain('раздел «Доверенности»');
        }
      }
      expect(renderTemplate('power_of_attorney', { event: 'revoked', side: 'representative', powerId: '7' }).text).toBe('Доверенность №7, выданная вам, отозвана. Подробности — в личном кабинете Госуслуг, раздел «Доверенности».');
      for (const payload of [{ event: 'activated', side: 'principal' }, { event: 'exploded', side: 'principal', powerId: '1' }, { event: 'revoked', side: 'bystander', powerId: '1' }, { event: 'revoked', side: 'principal', powerId: '1 OR 1' }]) {
        expect(() => renderTemplate('power_of_attorney', payload)).toThrow(TemplateError);
      }
    });
  });

  // ─── Other areas ───

  describe('for other areas', () => {
    it('names the powers that stand in the way of merging two accounts', async () => {
      const [a, b, representative, other] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
      const between = await grant(a.oid, b.snils, { rights: ['apply'] });
      const fromA = await grant(a.oid, representative.snils, { rights: ['view', 'apply'] });
      const fromB = await draft(b.oid, representative.snils, { rights: ['apply'] });
      await grant(b.oid, other.snils, { rights: ['view'] });
      const revoked = await grant(b.oid, representative.snils, { rights: ['view'] });
      await revokePower(db, { actorOid: b.oid, powerId: revoked, now: clock.now() });

      const conflicts = await findConflictingPowersForMerge(db, a.oid, b.oid, clock.now());
      expect(conflicts.map((c) => [c.id, c.reason, c.state])).toEqual([[between, 'between_accounts', 'active'], [fromA, 'same_representative', 'active'], [fromB, 'same_representative', 'draft']]);
      expect(await findConflictingPowersForMerge(db, a.oid, other.oid, clock.now())).toEqual([]);
    });

    it('seeds the demo power once, through the same use cases', async () => {
      const [principal, representative] = [await verifiedCitizen(), await verifiedCitizen()];
      await seedDemoPower(db, { principalOid: principal.oid, representativeSnils: representative.snils, now: clock.now() });
      await seedDemoPower(db, { principalOid: principal.oid, representativeSnils: representative.snils, now: clock.now() });
      const usable = await listUsablePowers(db, representative.oid, rpA, clock.now());
      expect(usable).toEqual([expect.objectContaining({ rights: ['view'], clientIds: null, principal: expect.objectContaining({ oid: principal.oid }) })]);
    });

    it('is part of the demo data: Смирнова lets Иванов view her data, once', async () => {
      const { hasher, secrets, validateClient } = idp.runtime;
      for (let run = 0; run < 2; run++) await seedDemoData(db, hasher, secrets.secretBox, validateClient, 'http://127.0.0.1:9');
      const [ivanov, smirnova] = await Promise.all(['11223344595', '12345670140'].map((snils) => db.selectFrom('citizens').select('oid').where('snils', '=', snils).executeTakeFirstOrThrow()));
      expect(await listUsablePowers(db, ivanov.oid, DEMO_CLIENT_ID, new Date())).toEqual([
        expect.objectContaining({ principal: { kind: 'citizen', oid: smirnova.oid, displayName: 'Смирнова Анна Петровна' }, rights: ['view'], clientIds: null }),
      ]);
    });

    it('deletes every power naming a deleted account and tells the other side, without a trace of the deleted', async () => {
      const [principal, representative, other] = [await verifiedCitizen(), await verifiedCitizen(), await verifiedCitizen()];
      const held = await grant(principal.oid, representative.snils);
      const given = await grant(representative.oid, other.snils);
      await draft(representative.oid, principal.snils);
      const unrelated = await grant(principal.oid, other.snils);

      expect(await deleteAccount(idp.runtime.provider, db, { oid: representative.oid })).toMatchObject({ result: 'deleted' });
      const left = await db.selectFrom('powers_of_attorney').select('id').where((eb) => eb.or([eb('representative_oid', '=', representative.oid), eb('principal_citizen_oid', '=', representative.oid), eb('created_by_oid', '=', representative.oid)])).execute();
      expect(left).toEqual([]);
      expect(await stateOf(unrelated)).toBe('active');
      expect((await powerNotices(principal.phone)).at(-1)).toEqual({ event: 'ended_account_deleted', side: 'principal', powerId: held });
      expect(await powerNotices(other.phone)).toContainEqual({ event: 'ended_account_deleted', side: 'representative', powerId: given });
      expect((await powerNotices(other.phone)).filter((n) => n.powerId === unrelated)).toEqual([{ event: 'activated', side: 'representative', powerId: unrelated }]);
      const texts = (await messagesTo(db, principal.phone)).concat(await messagesTo(db, other.phone)).map((m) => JSON.stringify(m.payload));
      expect(texts.filter((t) => t.includes(representative.oid) || t.includes(representative.lastName))).toEqual([]);
    });
  });

});
