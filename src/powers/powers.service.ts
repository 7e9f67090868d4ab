import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database, Db, DbOrTrx } from '../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { AppError } from '../shared/app-error.ts';
import { listMemberships, findMembership, type Membership } from '../organisations/memberships.ts';
import { checkPowerForm, REVOKE_REASON_MAX, type PowerForm, type PowerFormProblems } from './power-form.ts';
import { notifyPowerSides, type PowerEvent } from './power-notices.ts';
import { assertTransition, effectiveState, PowerStateError, type PowerTransition } from './power-states.ts';
import {
  findConflictingActivePower, findPowerRecord, findRepresentativeBySnils, holdsVerifiedSnils, insertDraft, isEligibleRepresentative, isPowerId, listPowersByPrincipals, listPowersHeldBy,
  listRelyingParties, lockRepresentative, type PowerRecord,
} from './powers.repository.ts';
import type { PoaRight, PoaState, PowerOfAttorneyRow, PrincipalKind } from './powers.table.ts';

/**
 * Powers of attorney: a principal — a citizen, or an organisation through its head or an admin —
 * lets a representative act for them. Every change is one transaction: the guarded state change
 * (`UPDATE … WHERE state = <expected> RETURNING`), its audit event and the notices to both sides.
 */

/** The power names a right the same principal already gave the same representative for an overlapping time and service. */
export class PowerConflictError extends AppError {
  readonly conflictingPowerId: string;
  readonly right: PoaRight;

  constructor(conflictingPowerId: string, right: PoaRight) {
    super('powers.error.conflict', 409, `conflicts with power of attorney ${conflictingPowerId} (${right})`, { conflictingPowerId, right });
    this.name = 'PowerConflictError';
    this.conflictingPowerId = conflictingPowerId;
    this.right = right;
  }
}

/** One answer for "no such power" and "not yours to see": a power's existence is not disclosed. */
const notFound = () => new AppError('powers.error.not_found', 404, 'no such power of attorney');

const canManageOrganisation = (membership: Membership | undefined) => Boolean(membership?.roles.some((role) => role === 'chief' || role === 'admin'));

/** The organisations whose powers the citizen signs: those they head or administer. */
export async function listManagedOrganisations(db: DbOrTrx, citizenOid: string): Promise<Membership['organisation'][]> {
  return (await listMemberships(db, citizenOid)).filter(canManageOrganisation).map((m) => m.organisation);
}

/** Which sides of the power the citizen stands on now (membership is checked live). */
export async function sidesOf(db: DbOrTrx, power: Pick<PowerRecord, 'principal' | 'representative'>, citizenOid: string): Promise<{ principal: boolean; representative: boolean }> {
  const principal = power.principal.kind === 'citizen'
    ? power.principal.oid === citizenOid
    : canManageOrganisation(await findMembership(db, citizenOid, power.principal.oid));
  return { principal, representative: power.representative.oid === citizenOid };
}

// ─── Create a draft ───

export type CreateDraftOutcome = { result: 'created'; id: string } | { result: 'invalid'; problems: PowerFormProblems };

/**
 * Saves a draft from the create form. The representative is named by SNILS and must hold an account
 * whose SNILS the registries verified. A draft that would duplicate an active power is refused now,
 * not only at signing, so the principal learns it while the form is still in front of them.
 */
export async function createDraftPower(db: Db, input: { actorOid: string; form: PowerForm; now: Date; requestId?: string | null }): Promise<CreateDraftOutcome> {
  const { actorOid, form, now } = input;
  const principal = await resolvePrincipal(db, actorOid, form.principal);
  const knownClients = new Set((await listRelyingParties(db)).map((c) => c.clientId));
  const checked = checkPowerForm(form, now, knownClients);
  if (!checked.ok) return { result: 'invalid', problems: checked.problems };
  const { terms } = checked;

  return db.transaction().execute(async (trx): Promise<CreateDraftOutcome> => {
    const representative = await findRepresentativeBySnils(trx, terms.snils);
    if (!representative) return { result: 'invalid', problems: { representative_snils: { key: 'powers.error.representative_snils.not_found' } } };
    if (principal.kind === 'citizen' && (representative.oid === actorOid || (await holdsVerifiedSnils(trx, actorOid, terms.snils)))) {
      return { result: 'invalid', problems: { representative_snils: { key: 'powers.error.representative_snils.self' } } };
    }
    await lockRepresentative(trx, representative.oid);
    const draft = { principalKind: principal.kind, principalOid: principal.oid, representativeOid: representative.oid, ...terms };
    const conflict = await findConflictingActivePower(trx, draft, now);
    if (conflict) return { result: 'invalid', problems: { form: conflictProblem(conflict, terms.rights) } };
    const id = await insertDraft(trx, { ...draft, createdByOid: actorOid, createdAt: now });
    await recordAudit(trx, {
      type: 'power_of_attorney.drafted',
      citizenOid: actorOid,
      actor: { type: 'citizen', oid: actorOid },
      details: { powerId: id, principalKind: principal.kind, principalOid: principal.oid, representativeOid: representative.oid, rights: terms.rights },
      requestId: input.requestId,
    });
    return { result: 'created', id };
  });
}

/** 'self' is the citizen; anything else must be an organisation they head or administer now. */
async function resolvePrincipal(db: DbOrTrx, actorOid: string, choice: string): Promise<{ kind: PrincipalKind; oid: string }> {
  if (choice === 'self') return { kind: 'citizen', oid: actorOid };
  const membership = await findMembership(db, actorOid, choice);
  if (!canManageOrganisation(membership)) throw new AppError('powers.error.not_organisation_manager', 403, 'only the head or an admin signs an organisation\'s powers');
  return { kind: 'organisation', oid: membership!.organisation.oid };
}

function conflictProblem(conflict: { id: string; rights: PoaRight[] }, rights: PoaRight[]) {
  const right = rights.find((r) => conflict.rights.includes(r))!;
  return { key: 'powers.error.conflict', params: { id: conflict.id, right } };
}

// ─── Transitions ───

interface TransitionInput {
  actorOid: string;
  powerId: string;
  now: Date;
  requestId?: string | null;
}

/**
 * «Подписать и выдать»: draft → active, by the principal side, unless it would duplicate an active
 * power or its representative no longer holds a verified SNILS (the draft stays, to be discarded).
 */
export async function activatePower(db: Db, input: TransitionInput): Promise<PowerRecord> {
  const { now } = input;
  return db.transaction().execute(async (trx) => {
    const seen = await visiblePower(trx, input.powerId, input.actorOid);
    if (!seen.sides.principal) throw notFound();
    // Lock first, then read afresh: a concurrent activation for the same representative has committed by now.
    await lockRepresentative(trx, seen.power.representative.oid);
    const power = await findPowerRecord(trx, input.powerId);
    if (!power) throw notFound(); // discarded meanwhile
    assertTransition('activate', power.state);
    if (power.validTo.getTime() <= now.getTime()) throw new AppError('powers.refused.period_over', 409, 'the draft\'s period is over');
    // Checked again under the lock: the account was eligible when the draft was saved, maybe not now.
    if (!(await isEligibleRepresentative(trx, power.representative.oid))) {
      throw new AppError('powers.refused.representative_not_verified', 409, 'the representative no longer holds a verified SNILS');
    }
    const conflict = await findConflictingActivePower(trx, { ...power, principalKind: power.principal.kind, principalOid: power.principal.oid, representativeOid: power.representative.oid }, now);
    if (conflict) {
      const { params } = conflictProblem(conflict, power.rights);
      throw new PowerConflictError(params.id, params.right as PoaRight);
    }
    const updated = await trx
      .updateTable('powers_of_attorney')
      .set({ state: 'active', activated_at: now })
      .where('id', '=', power.id)
      .where('state', '=', 'draft')
      .returning('id')
      .executeTakeFirst();
    if (!updated) throw new PowerStateError('activate', await currentState(trx, power.id, now));
    await afterTransition(trx, { ...power, state: 'active', activatedAt: now }, 'activated', input);
    return { ...power, state: 'active', activatedAt: now };
  });
}

/** A draft the principal no longer wants is deleted: it never had effect, so nothing needs keeping. */
export async function discardDraft(db: Db, input: TransitionInput): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const { power, sides } = await visiblePower(trx, input.powerId, input.actorOid);
    if (!sides.principal) throw notFound();
    const deleted = await trx.deleteFrom('powers_of_attorney').where('id', '=', power.id).where('state', '=', 'draft').returning('id').executeTakeFirst();
    if (!deleted) throw new PowerStateError('discard', await currentState(trx, power.id, input.now));
    await recordAudit(trx, {
      type: 'power_of_attorney.discarded',
      citizenOid: input.actorOid,
      actor: { type: 'citizen', oid: input.actorOid },
      details: { powerId: power.id, principalKind: power.principal.kind, principalOid: power.principal.oid, representativeOid: power.representative.oid },
      requestId: input.requestId,
    });
  });
}

/**
 * Ends an active power at once: the principal side revokes it, or the representative renounces it
 * (both end as `revoked`; the audit event and the notices say which). Tokens issued under it stop
 * working at their next check, which reads the power live.
 */
export async function revokePower(db: Db, input: TransitionInput & { reason?: string }): Promise<{ power: PowerRecord; event: 'revoked' | 'renounced' }> {
  const { now } = input;
  const reason = input.reason?.trim() || null;
  if (reason && reason.length > REVOKE_REASON_MAX) throw new AppError('powers.error.reason.too_long', 400, 'reason too long', { max: REVOKE_REASON_MAX });
  return db.transaction().execute(async (trx) => {
    const { power, sides } = await visiblePower(trx, input.powerId, input.actorOid);
    const transition: PowerTransition = sides.principal ? 'revoke' : 'renounce';
    assertTransition(transition, effectiveState(power, now));
    const updated = await trx
      .updateTable('powers_of_attorney')
      .set({ state: 'revoked', ended_at: now, revoke_reason: reason })
      .where('id', '=', power.id)
      .where('state', '=', 'active')
      .where('valid_to', '>', now)
      .returning('id')
      .executeTakeFirst();
    if (!updated) throw new PowerStateError(transition, await currentState(trx, power.id, now));
    const ended = { ...power, state: 'revoked' as const, endedAt: now, revokeReason: reason };
    const event = transition === 'revoke' ? 'revoked' : 'renounced';
    await afterTransition(trx, ended, event, input, { withReason: reason !== null });
    return { power: ended, event };
  });
}

/**
 * Marks active powers past their end as expired and tells both sides; for the prune timer and the
 * CLI. Reads never wait for it (an active power past valid_to already counts as expired), so it
 * only has to catch up. Batches are claimed with SKIP LOCKED, so instances sweep side by side.
 */
export async function expireDuePowers(db: Db, now: Date, batchSize = 200): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .updateTable('powers_of_attorney')
        .set({ state: 'expired', ended_at: sql`valid_to` })
        .where('id', 'in', (eb) =>
          eb.selectFrom('powers_of_attorney').select('id').where('state', '=', 'active').where('valid_to', '<=', now).orderBy('id').limit(batchSize).forUpdate().skipLocked(),
        )
        .where('state', '=', 'active')
        .returning('id')
        .execute();
      for (const { id } of rows) {
        const power = (await findPowerRecord(trx, id))!;
        await afterTransition(trx, power, 'expired', { now });
      }
      return rows.length;
    });
    total += expired;
    if (expired < batchSize) return total;
  }
}

async function afterTransition(
  trx: DbOrTrx,
  power: PowerRecord,
  event: Exclude<PowerEvent, 'ended_account_deleted'>,
  input: { actorOid?: string; now: Date; requestId?: string | null },
  extra: Record<string, unknown> = {},
): Promise<void> {
  await recordAudit(trx, {
    type: `power_of_attorney.${event}`,
    citizenOid: input.actorOid ?? (power.principal.kind === 'citizen' ? power.principal.oid : power.representative.oid),
    actor: input.actorOid ? { type: 'citizen', oid: input.actorOid } : { type: 'system', name: 'powers-sweeper' },
    details: { powerId: power.id, principalKind: power.principal.kind, principalOid: power.principal.oid, representativeOid: power.representative.oid, rights: power.rights, ...extra },
    requestId: input.requestId,
  });
  await notifyPowerSides(trx, power, event, input.now);
}

/** The power if the citizen stands on a side of it; drafts are shown to the principal side only. */
async function visiblePower(db: DbOrTrx, powerId: string, citizenOid: string): Promise<{ power: PowerRecord; sides: { principal: boolean; representative: boolean } }> {
  const power = await findPowerRecord(db, powerId);
  if (!power) throw notFound();
  const sides = await sidesOf(db, power, citizenOid);
  if (!sides.principal && !(sides.representative && power.state !== 'draft')) throw notFound();
  return { power, sides };
}

/** After a guarded change matched nothing: what the power is now (a discarded draft is gone). */
async function currentState(db: DbOrTrx, powerId: string, now: Date): Promise<PoaState> {
  const power = await findPowerRecord(db, powerId);
  if (!power) throw notFound();
  return effectiveState(power, now);
}

// ─── Reading ───

export interface PowerView extends PowerRecord {
  /** What the citizen sees: an active power past its end reads as expired. */
  effectiveState: PoaState;
  /** Active and started: usable at the relying parties it names. */
  inForce: boolean;
  sides: { principal: boolean; representative: boolean };
}

export interface PowerBuckets {
  active: PowerView[];
  drafts: PowerView[];
  ended: PowerView[];
}

export interface CitizenPowers {
  /** «Выданные»: the citizen's own, then each organisation they sign for (by name). */
  granted: Array<{ principal: { kind: PrincipalKind; oid: string; displayName: string }; powers: PowerBuckets }>;
  /** «Полученные»: powers the citizen holds as representative (never drafts). */
  received: PowerBuckets;
}

export async function listCitizenPowers(db: DbOrTrx, citizen: { oid: string; displayName: string }, now: Date): Promise<CitizenPowers> {
  const organisations = await listManagedOrganisations(db, citizen.oid);
  const granted = await listPowersByPrincipals(db, { citizenOid: citizen.oid, organisationOids: organisations.map((o) => o.oid) });
  const received = await listPowersHeldBy(db, citizen.oid);
  const principals = [
    { kind: 'citizen' as const, oid: citizen.oid, displayName: citizen.displayName },
    ...organisations.map((o) => ({ kind: 'organisation' as const, oid: o.oid, displayName: o.shortName || o.fullName })),
  ];
  return {
    granted: principals.map((principal) => ({
      principal,
      powers: buckets(granted
        .filter((p) => p.principal.kind === principal.kind && p.principal.oid === principal.oid)
        .map((p) => view(p, { principal: true, representative: p.representative.oid === citizen.oid }, now))),
    })),
    received: buckets(received.map((p) => view(p, { principal: false, representative: true }, now))),
  };
}

/** One power for its detail page; someone on neither side (or a representative asking for a draft) gets 404. */
export async function getPowerForCitizen(db: DbOrTrx, powerId: string, citizenOid: string, now: Date): Promise<PowerView> {
  if (!isPowerId(powerId)) throw notFound();
  const { power, sides } = await visiblePower(db, powerId, citizenOid);
  return view(power, sides, now);
}

function view(power: PowerRecord, sides: PowerView['sides'], now: Date): PowerView {
  const state = effectiveState(power, now);
  return { ...power, effectiveState: state, inForce: state === 'active' && power.validFrom.getTime() <= now.getTime(), sides };
}

function buckets(powers: PowerView[]): PowerBuckets {
  return {
    active: powers.filter((p) => p.effectiveState === 'active'),
    drafts: powers.filter((p) => p.effectiveState === 'draft'),
    ended: powers.filter((p) => p.effectiveState === 'expired' || p.effectiveState === 'revoked'),
  };
}

// ─── Other areas ───

export interface MergeConflictingPower {
  id: string;
  state: 'draft' | 'active';
  principal: { kind: PrincipalKind; oid: string; displayName: string };
  representative: { oid: string; displayName: string };
  rights: PoaRight[];
  /** `between_accounts`: one account is the principal, the other the representative (a power to oneself after the merge);
   *  `same_representative`: both accounts gave the same representative a shared right (a duplicate after the merge). */
  reason: 'between_accounts' | 'same_representative';
}

/**
 * The powers that stand in the way of merging two accounts, for the merge page to name; it refuses
 * until they are revoked (active) or discarded (drafts). Ended powers never conflict.
 */
export async function findConflictingPowersForMerge(db: DbOrTrx, oidA: string, oidB: string, now = new Date()): Promise<MergeConflictingPower[]> {
  const open = (await listPowersByPrincipals(db, { citizenOid: oidA, organisationOids: [] }))
    .concat(await listPowersByPrincipals(db, { citizenOid: oidB, organisationOids: [] }))
    .filter((p) => { const s = effectiveState(p, now); return s === 'active' || s === 'draft'; });
  const found = new Map<string, MergeConflictingPower>();
  const add = (p: PowerRecord, reason: MergeConflictingPower['reason']) => {
    if (!found.has(p.id)) found.set(p.id, { id: p.id, state: p.state as 'draft' | 'active', principal: p.principal, representative: p.representative, rights: p.rights, reason });
  };
  for (const p of open) {
    const other = p.principal.oid === oidA ? oidB : oidA;
    if (p.representative.oid === other) add(p, 'between_accounts');
  }
  const fromA = open.filter((p) => p.principal.oid === oidA);
  const fromB = open.filter((p) => p.principal.oid === oidB);
  for (const a of fromA) {
    for (const b of fromB) {
      if (a.representative.oid === b.representative.oid && a.rights.some((r) => b.rights.includes(r))) {
        add(a, 'same_representative');
        add(b, 'same_representative');
      }
    }
  }
  return [...found.values()].sort((x, y) => Number(x.id) - Number(y.id));
}

/**
 * Account deletion (ERASED_BY_AREA): every power that names the citizen — as principal, as
 * representative, or as the organisation admin who drafted it — is deleted, since a revoked row
 * would still have to name its representative. The other side of a power still in force is told it
 * has ended (by number only: the notice carries nothing of the deleted person).
 */
export async function erasePowersOfCitizen(trx: DbOrTrx, oid: string): Promise<void> {
  const powers = await lockPowersForErasure(trx, (eb) => eb.or([eb('principal_citizen_oid', '=', oid), eb('representative_oid', '=', oid), eb('created_by_oid', '=', oid)]));
  await announceEndedByDeletion(trx, powers, oid);
  if (powers.length > 0) await trx.deleteFrom('powers_of_attorney').where('id', 'in', powers.map((p) => p.id)).execute();
}

/**
 * An organisation deleted with its chief's account (organisations/account-erasure.ts) takes its
 * powers along by ON DELETE CASCADE; before it goes, the sides of those still in force — above all
 * their representatives — hear that they ended, the same notice as any power ended by a deletion.
 * The chief (`deletedOid`) is not written to. Call it in the erasure's transaction, before the
 * organisation's row is deleted.
 */
export async function announceOrganisationPowersEnded(trx: DbOrTrx, organisationOid: string, deletedOid: string): Promise<void> {
  const powers = await lockPowersForErasure(trx, (eb) => eb('principal_organisation_oid', '=', organisationOid));
  await announceEndedByDeletion(trx, powers, deletedOid);
}

type ErasedPower = Pick<PowerOfAttorneyRow, 'id' | 'principal_kind' | 'principal_citizen_oid' | 'principal_organisation_oid' | 'representative_oid' | 'state' | 'valid_to'>;

async function lockPowersForErasure(trx: DbOrTrx, which: (eb: ExpressionBuilder<Database, 'powers_of_attorney'>) => Expression<SqlBool>): Promise<ErasedPower[]> {
  return trx
    .selectFrom('powers_of_attorney')
    .select(['id', 'principal_kind', 'principal_citizen_oid', 'principal_organisation_oid', 'representative_oid', 'state', 'valid_to'])
    .where(which)
    .forUpdate()
    .execute();
}

/** Audits and tells the other sides of each power still in force that it ended with a deleted account; `deletedOid` hears nothing. */
async function announceEndedByDeletion(trx: DbOrTrx, powers: ErasedPower[], deletedOid: string): Promise<void> {
  if (powers.length === 0) return;
  // Deletion runs in real time; the database's clock decides what is still in force.
  const { now } = (await sql<{ now: Date }>`SELECT now() AS now`.execute(trx)).rows[0];
  for (const p of powers) {
    if (p.state !== 'active' || p.valid_to.getTime() <= now.getTime()) continue;
    const principal = { kind: p.principal_kind, oid: (p.principal_citizen_oid ?? p.principal_organisation_oid)! };
    await recordAudit(trx, {
      type: 'power_of_attorney.ended_account_deleted',
      citizenOid: p.representative_oid === deletedOid ? (principal.kind === 'citizen' ? principal.oid : null) : p.representative_oid,
      actor: { type: 'system', name: 'account-deletion' },
      details: { powerId: p.id, principalKind: principal.kind },
    });
    await notifyPowerSides(trx, { id: p.id, principal, representative: { oid: p.representative_oid }, validTo: p.valid_to }, 'ended_account_deleted', now, deletedOid);
  }
}
