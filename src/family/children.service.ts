import type { Db, DbOrTrx } from '../db/database.ts';
import type { AuditActor } from '../audit/audit.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { AppError, assertThat } from '../shared/app-error.ts';
import { ageOn, calendarDate, MIN_ACCOUNT_AGE } from '../shared/validators.ts';
import { notifyCitizen } from '../sessions/notification-settings.ts';
import { normalizeNameForRegistry } from '../verification/mock-registries.ts';
import type { BirthRecordVerdict } from './civil-registry.ts';
import { isAdultOn, type ChildInput } from './child-form.ts';
import type { Child, ChildCheckReason } from './family.tables.ts';

/**
 * Children of a citizen: a record from the birth certificate, checked by the civil registry (ЗАГС)
 * in the background, and — for a child of 14 or older with an own account — a link between the two
 * accounts that the child agrees to. Every change is one transaction with its audit event; every
 * state transition is a conditional UPDATE on the state it starts from, so two tabs or two workers
 * cannot both make it.
 */

/** A record id as we write it (no leading zeros), so one record has one URL. */
const NUMERIC_ID = /^[1-9]\d{0,17}$/;

export const CIVIL_REGISTRY_ACTOR = { type: 'system', name: 'civil-registry-check' } as const;

/** Only a standard or confirmed account may add children: the registry matches the parent by verified name and birth date. */
export function mayAddChildren(citizen: { trust_level: string }): boolean {
  return citizen.trust_level === 'standard' || citizen.trust_level === 'confirmed';
}

const citizenActor = (oid: string): AuditActor => ({ type: 'citizen', oid });

export type AddChildOutcome = { result: 'added'; child: Child } | { result: 'duplicate'; childId: string };

/**
 * Adds a child record and queues its registry check. Refuses a simplified parent
 * (`family.level_too_low`) and a second record of the same certificate (`duplicate`).
 */
export async function addChild(db: Db, input: { parentOid: string; child: ChildInput; now: Date; requestId?: string | null }): Promise<AddChildOutcome> {
  return db.transaction().execute(async (trx) => {
    // Locking the parent serialises two submissions of one form (two tabs): the second sees the first's record.
    const parent = await trx.selectFrom('citizens').select(['oid', 'trust_level']).where('oid', '=', input.parentOid).forUpdate().executeTakeFirst();
    assertThat(parent, () => new AppError('error.not_found', 404));
    assertThat(mayAddChildren(parent), () => new AppError('family.level_too_low', 403, 'a standard or confirmed account is needed to add children'));
    const duplicate = await findSameCertificate(trx, parent.oid, input.child);
    if (duplicate) return { result: 'duplicate', childId: duplicate };

    const child = await trx
      .insertInto('children')
      .values({ parent_oid: parent.oid, ...childColumns(input.child), created_at: input.now, updated_at: input.now, next_attempt_at: input.now })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(trx, { type: 'child.added', citizenOid: parent.oid, actor: citizenActor(parent.oid), details: { childId: child.id }, requestId: input.requestId });
    return { result: 'added', child };
  });
}

export type ResubmitOutcome = { result: 'resubmitted' } | { result: 'duplicate'; childId: string };

/**
 * After «Данные не найдены» or a registry that never answered: the corrected data go to the
 * registry again. Only from `not_found` or `failed`; the revision moves on, so a worker still
 * holding a claim on the old data can no longer finish it.
 */
export async function resubmitChild(db: Db, input: { parentOid: string; childId: string; child: ChildInput; now: Date; requestId?: string | null }): Promise<ResubmitOutcome> {
  return db.transaction().execute(async (trx) => {
    const parent = await trx.selectFrom('citizens').select(['oid', 'trust_level']).where('oid', '=', input.parentOid).forUpdate().executeTakeFirst();
    assertThat(parent, () => new AppError('error.not_found', 404));
    assertThat(mayAddChildren(parent), () => new AppError('family.level_too_low', 403, 'a standard or confirmed account is needed to add children'));
    const duplicate = await findSameCertificate(trx, input.parentOid, input.child, input.childId);
    if (duplicate) return { result: 'duplicate', childId: duplicate };
    const updated = await trx
      .updateTable('children')
      .set((eb) => ({
        ...childColumns(input.child),
        check_status: 'pending', check_revision: eb('check_revision', '+', 1), attempts: 0, next_attempt_at: input.now, leased_until: null,
        reason_code: null, mismatched_fields: null, last_error: null, checked_at: null, updated_at: input.now,
      }))
      .where('id', '=', input.childId)
      .where('parent_oid', '=', input.parentOid)
      .where('check_status', 'in', ['not_found', 'failed'])
      .returning('id')
      .executeTakeFirst();
    assertThat(updated, () => new AppError('family.not_editable', 409, 'only a record the registry did not confirm can be corrected'));
    await recordAudit(trx, { type: 'child.resubmitted', citizenOid: input.parentOid, actor: citizenActor(input.parentOid), details: { childId: input.childId }, requestId: input.requestId });
    return { result: 'resubmitted' };
  });
}

/** Removes a record from «Дети». A record linked to the child's account must be unlinked first. */
export async function removeChild(db: Db, input: { parentOid: string; childId: string; requestId?: string | null }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const removed = await trx
      .deleteFrom('children')
      .where('id', '=', input.childId)
      .where('parent_oid', '=', input.parentOid)
      .where((eb) => eb.or([eb('link_state', 'is', null), eb('link_state', '!=', 'linked')]))
      .returning('id')
      .executeTakeFirst();
    if (!removed) {
      const linked = await trx.selectFrom('children').select('id').where('id', '=', input.childId).where('parent_oid', '=', input.parentOid).executeTakeFirst();
      throw linked ? new AppError('family.unlink_first', 409, 'unlink the child account first') : new AppError('error.not_found', 404);
    }
    await recordAudit(trx, { type: 'child.removed', citizenOid: input.parentOid, actor: citizenActor(input.parentOid), details: { childId: input.childId }, requestId: input.requestId });
  });
}

// ─── The registry's verdict (called by the worker) ───────────────────────────────────────────────

export type ChildCheckOutcome = 'verified' | 'not_found' | 'retry' | 'failed' | 'stale';

/**
 * Records the registry's verdict on a check this worker claimed. `stale`: the record is no longer
 * this claim's to finish — removed, corrected (revision moved on), or claimed again by another
 * worker after this one's lease ran out (attempts moved on) — so a check finishes exactly once.
 * A verified child of 14 to 17 with a matching account gets a link request for the child to answer
 * (and a notice saying so).
 */
export async function finishChildCheck(db: Db, claimed: Child, verdict: BirthRecordVerdict, now: Date): Promise<ChildCheckOutcome> {
  return db.transaction().execute(async (trx) => {
    const child = await lockClaimedChild(trx, claimed);
    if (!child) return 'stale';
    const audit = (type: string, details: Record<string, unknown> = {}) =>
      recordAudit(trx, { type, citizenOid: child.parent_oid, actor: CIVIL_REGISTRY_ACTOR, details: { childId: child.id, ...details } });

    if (!verdict.ok) {
      const fields = verdict.reason === 'data_mismatch' ? verdict.fields : null;
      await trx.updateTable('children').set({ check_status: 'not_found', reason_code: verdict.reason, mismatched_fields: fields, checked_at: now, leased_until: null, updated_at: now }).where('id', '=', child.id).execute();
      await audit('child.not_found', { reasonCode: verdict.reason, ...(fields ? { fields } : {}) });
      return 'not_found';
    }

    await trx.updateTable('children').set({ check_status: 'verified', reason_code: null, mismatched_fields: null, checked_at: now, leased_until: null, updated_at: now }).where('id', '=', child.id).execute();
    await audit('child.verified');
    if (mayHaveLinkedAccount(child.birth_date, now)) {
      const childOid = await findChildAccount(trx, child);
      if (childOid) {
        await trx.updateTable('children').set({ child_oid: childOid, link_state: 'pending_child_consent', link_changed_at: now }).where('id', '=', child.id).execute();
        await audit('child.link_requested', { childOid });
        await notifyChild(trx, childOid, 'requested', now);
      }
    }
    return 'verified';
  });
}

/**
 * The registry did not answer: try again after a growing pause, or after `maxAttempts` end the
 * check as `failed` (`registry_unavailable`), which the parent can send again.
 */
export async function recordChildCheckFailure(
  db: Db,
  claimed: Child,
  input: { error: string; now: Date; maxAttempts: number; retryDelaySeconds: (attempts: number) => number },
): Promise<ChildCheckOutcome> {
  return db.transaction().execute(async (trx) => {
    const child = await lockClaimedChild(trx, claimed);
    if (!child) return 'stale';
    if (child.attempts >= input.maxAttempts) {
      const reason: ChildCheckReason = 'registry_unavailable';
      await trx.updateTable('children').set({ check_status: 'failed', reason_code: reason, last_error: input.error, checked_at: input.now, leased_until: null, updated_at: input.now }).where('id', '=', child.id).execute();
      await recordAudit(trx, { type: 'child.check_failed', citizenOid: child.parent_oid, actor: CIVIL_REGISTRY_ACTOR, details: { childId: child.id, reasonCode: reason } });
      return 'failed';
    }
    await trx
      .updateTable('children')
      .set({ leased_until: null, last_error: input.error, next_attempt_at: new Date(input.now.getTime() + input.retryDelaySeconds(child.attempts) * 1000) })
      .where('id', '=', child.id)
      .execute();
    return 'retry';
  });
}

async function lockClaimedChild(trx: DbOrTrx, claimed: Child): Promise<Child | undefined> {
  return trx
    .selectFrom('children')
    .selectAll()
    .where('id', '=', claimed.id)
    .where('check_status', '=', 'pending')
    .where('check_revision', '=', claimed.check_revision)
    .where('attempts', '=', claimed.attempts)
    .forUpdate()
    .executeTakeFirst();
}

// ─── The link with the child's own account (14+) ─────────────────────────────────────────────────

/**
 * The child's own account: born the same day, verified (standard or confirmed — a simplified
 * account's data are only typed in, and anyone could type a child's name), not the parent, not
 * linked into another account (src/merge), and either holding the SNILS the record has, or — when
 * the account has no SNILS or the record none — bearing the same name. One person, or none: a link
 * is never guessed.
 */
export async function findChildAccount(db: DbOrTrx, child: Child): Promise<string | undefined> {
  const candidates = await db
    .selectFrom('citizens')
    .select(['oid', 'last_name', 'first_name', 'middle_name', 'snils', 'trust_level'])
    .where('birth_date', '=', child.birth_date)
    .where('trust_level', 'in', ['standard', 'confirmed'])
    .where('merged_into_oid', 'is', null)
    .where('oid', '!=', child.parent_oid)
    .execute();
  const sameName = (c: (typeof candidates)[number]) =>
    normalizeNameForRegistry(c.last_name) === normalizeNameForRegistry(child.last_name) &&
    normalizeNameForRegistry(c.first_name) === normalizeNameForRegistry(child.first_name) &&
    normalizeNameForRegistry(c.middle_name) === normalizeNameForRegistry(child.middle_name);
  const bySnils = child.snils ? candidates.filter((c) => c.snils === child.snils) : [];
  const matches = bySnils.length ? bySnils : candidates.filter((c) => (c.snils === null || child.snils === null) && sameName(c));
  return onePersonsAccount(matches);
}

/**
 * One match, or several verified accounts sharing one SNILS — the same person's duplicates, which may
 * share it until linked (src/merge): then the account a login by that SNILS opens, the confirmed one,
 * then the oldest; the link follows it should the accounts be linked. Anything else is not one person.
 */
function onePersonsAccount(matches: Array<{ oid: string; snils: string | null; trust_level: string }>): string | undefined {
  if (matches.length === 1) return matches[0].oid;
  if (matches.length === 0 || matches[0].snils === null || matches.some((m) => m.snils !== matches[0].snils)) return undefined;
  const rank = (m: (typeof matches)[number]) => (m.trust_level === 'confirmed' ? 0 : 1);
  return matches.toSorted((a, b) => rank(a) - rank(b) || (BigInt(a.oid) < BigInt(b.oid) ? -1 : 1))[0].oid;
}

export type LinkRequestOutcome = { result: 'requested' } | { result: 'no_account' };

/**
 * The parent asks to link a verified child of 14 or older with the child's account: after the
 * account was created later, or again after the child declined or the parent unlinked.
 */
export async function requestChildLink(db: Db, input: { parentOid: string; childId: string; now: Date; requestId?: string | null }): Promise<LinkRequestOutcome> {
  return db.transaction().execute(async (trx) => {
    const child = await trx.selectFrom('children').selectAll().where('id', '=', input.childId).where('parent_oid', '=', input.parentOid).forUpdate().executeTakeFirst();
    assertThat(child, () => new AppError('error.not_found', 404));
    assertThat(child.check_status === 'verified', () => new AppError('family.not_verified', 409, 'the registry has not confirmed the child yet'));
    assertThat(ageOn(child.birth_date, calendarDate(input.now)) >= MIN_ACCOUNT_AGE, () => new AppError('family.too_young_for_account', 409, 'a child has an own account from 14'));
    assertThat(!isAdultOn(child.birth_date, calendarDate(input.now)), () => new AppError('family.adult', 409, 'an adult is no longer a child to link'));
    assertThat(child.link_state === null || child.link_state === 'declined' || child.link_state === 'unlinked', () => new AppError('family.link_exists', 409, 'the link is already requested or in place'));
    const childOid = await findChildAccount(trx, child);
    if (!childOid) return { result: 'no_account' };
    const updated = await trx
      .updateTable('children')
      .set({ child_oid: childOid, link_state: 'pending_child_consent', link_changed_at: input.now })
      .where('id', '=', child.id)
      .where((eb) => (child.link_state === null ? eb('link_state', 'is', null) : eb('link_state', '=', child.link_state)))
      .returning('id')
      .executeTakeFirst();
    assertThat(updated, () => new AppError('family.link_exists', 409));
    await recordAudit(trx, { type: 'child.link_requested', citizenOid: input.parentOid, actor: citizenActor(input.parentOid), details: { childId: child.id, childOid }, requestId: input.requestId });
    await notifyChild(trx, childOid, 'requested', input.now);
    return { result: 'requested' };
  });
}

/** The child, in their own account, answers the parent's request: «Разрешить объединение…» or «Отклонить». */
export async function answerLinkRequest(db: Db, input: { childOid: string; childId: string; accept: boolean; now: Date; requestId?: string | null }): Promise<void> {
  assertThat(NUMERIC_ID.test(input.childId), () => new AppError('error.not_found', 404));
  await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('children')
      .set({ link_state: input.accept ? 'linked' : 'declined', link_changed_at: input.now })
      .where('id', '=', input.childId)
      .where('child_oid', '=', input.childOid)
      .where('link_state', '=', 'pending_child_consent')
      .returning(['id', 'parent_oid'])
      .executeTakeFirst();
    if (!updated) throw await refusal(trx, input.childId, (row) => row.child_oid === input.childOid, 'family.link_not_pending');
    await recordAudit(trx, {
      type: input.accept ? 'child.link_accepted' : 'child.link_declined',
      citizenOid: input.childOid, actor: citizenActor(input.childOid), details: { childId: updated.id, parentOid: updated.parent_oid }, requestId: input.requestId,
    });
  });
}

/**
 * The parent ends the link (after a confirmation page). The child cannot: the link was their
 * consent to the parent's request, and the parent answers for the child until 18 — the child's
 * page says to ask the parent. The record stays in «Дети»; the parent may ask again later.
 */
export async function unlinkChild(db: Db, input: { parentOid: string; childId: string; now: Date; requestId?: string | null }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('children')
      .set({ link_state: 'unlinked', link_changed_at: input.now })
      .where('id', '=', input.childId)
      .where('parent_oid', '=', input.parentOid)
      .where('link_state', '=', 'linked')
      .returning(['id', 'child_oid'])
      .executeTakeFirst();
    if (!updated) throw await refusal(trx, input.childId, (row) => row.parent_oid === input.parentOid, 'family.not_linked');
    await recordAudit(trx, { type: 'child.unlinked', citizenOid: input.parentOid, actor: citizenActor(input.parentOid), details: { childId: updated.id, childOid: updated.child_oid }, requestId: input.requestId });
    if (updated.child_oid) await notifyChild(trx, updated.child_oid, 'unlinked', input.now);
  });
}

/** A child with an own account (14+) who is still a child (under 18): the only age a link is asked for. */
function mayHaveLinkedAccount(birthDate: string, now: Date): boolean {
  const today = calendarDate(now);
  return ageOn(birthDate, today) >= MIN_ACCOUNT_AGE && !isAdultOn(birthDate, today);
}

/**
 * Tells the child's own account what the parent did, in the transaction of the change (template
 * `family_link`). A security notice — it concerns who is tied to the account — so it always reaches
 * the child; it names nobody: who asks is shown in the account, not in an SMS.
 */
async function notifyChild(trx: DbOrTrx, childOid: string, event: 'requested' | 'unlinked', now: Date): Promise<void> {
  await notifyCitizen(trx, { oid: childOid, kind: 'security', template: 'family_link', payload: { event }, now });
}

/** Why a guarded transition did not happen: not this citizen's record (404), or not in the state it starts from (409). */
async function refusal(trx: DbOrTrx, childId: string, owns: (row: Pick<Child, 'parent_oid' | 'child_oid'>) => boolean, code: string): Promise<AppError> {
  const row = NUMERIC_ID.test(childId) ? await trx.selectFrom('children').select(['parent_oid', 'child_oid']).where('id', '=', childId).executeTakeFirst() : undefined;
  return row && owns(row) ? new AppError(code, 409) : new AppError('error.not_found', 404);
}

// ─── helpers ─────────────────────────────────────────────────────────────────────────────────────

function childColumns(child: ChildInput) {
  return {
    last_name: child.lastName, first_name: child.firstName, middle_name: child.middleName, birth_date: child.birthDate, gender: child.gender, snils: child.snils,
    cert_series: child.certificate.series, cert_number: child.certificate.number, cert_issue_date: child.certificate.issueDate, cert_issued_by: child.certificate.issuedBy,
  };
}

async function findSameCertificate(trx: DbOrTrx, parentOid: string, child: ChildInput, exceptId?: string): Promise<string | undefined> {
  const row = await trx
    .selectFrom('children')
    .select('id')
    .where('parent_oid', '=', parentOid)
    .where('cert_series', '=', child.certificate.series)
    .where('cert_number', '=', child.certificate.number)
    .$if(exceptId !== undefined, (qb) => qb.where('id', '!=', exceptId!))
    .executeTakeFirst();
  return row?.id;
}
