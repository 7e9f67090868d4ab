import { findPassport } from '../citizens/citizens.repository.ts';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen, CitizenDocument } from '../citizens/citizen.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { changeTrustLevel } from '../trust/trust.service.ts';
import { loadTrustProgress } from '../trust/trust-progress.ts';
import { AppError, assertThat } from '../shared/app-error.ts';
import type { RegistryRejection } from './state-registries.ts';
import { notifyTrustLevelChanged } from './trust-notification.ts';
import type { RegistryCheck, RegistryCheckSnapshot } from './verification.tables.ts';

/**
 * Registry checks: the citizen submits their data (simplified → standard), the worker asks the
 * registries, and the outcome lands here. A check is a row with a state; the data it checks is
 * a snapshot taken at submission, so edits made meanwhile cannot ride on someone else's verdict.
 */

export const REGISTRY_ACTOR = { type: 'system', name: 'registry-check' } as const;

/** What a check would verify now, or null while birth date, SNILS or passport is missing. */
export function snapshotOf(citizen: Citizen, passport: CitizenDocument | undefined): RegistryCheckSnapshot | null {
  if (!citizen.birth_date || !citizen.snils || !passport) return null;
  return {
    lastName: citizen.last_name,
    firstName: citizen.first_name,
    middleName: citizen.middle_name,
    birthDate: citizen.birth_date,
    snils: citizen.snils,
    passport: { series: passport.series, number: passport.number, issueDate: passport.issue_date },
  };
}

// Field by field: the snapshot comes back from jsonb, which does not keep key order.
function sameSnapshot(a: RegistryCheckSnapshot, b: RegistryCheckSnapshot): boolean {
  return (
    a.lastName === b.lastName && a.firstName === b.firstName && (a.middleName ?? null) === (b.middleName ?? null) &&
    a.birthDate === b.birthDate && a.snils === b.snils &&
    a.passport.series === b.passport.series && a.passport.number === b.passport.number && a.passport.issueDate === b.passport.issueDate
  );
}

export async function findLatestRegistryCheck(db: DbOrTrx, citizenOid: string): Promise<RegistryCheck | undefined> {
  return db.selectFrom('registry_checks').selectAll().where('citizen_oid', '=', citizenOid).orderBy('created_at', 'desc').orderBy('id').limit(1).executeTakeFirst();
}

/**
 * Submits the citizen's current data for checking. Refuses `verification.not_simplified` (the
 * level is already reached), `verification.data_incomplete` and `verification.check_pending`.
 */
export async function requestRegistryCheck(db: Db, input: { citizenOid: string; now: Date; requestId?: string | null }): Promise<RegistryCheck> {
  return db.transaction().execute(async (trx) => {
    // Locking the citizen serialises two submissions (two tabs): the second sees the first's pending check.
    const citizen = await trx.selectFrom('citizens').selectAll().where('oid', '=', input.citizenOid).forUpdate().executeTakeFirst();
    assertThat(citizen, () => new AppError('error.not_found', 404));
    assertThat(citizen.trust_level === 'simplified', () => new AppError('verification.not_simplified', 409, 'the account is already verified'));
    const progress = await loadTrustProgress(trx, citizen);
    const passport = await findPassport(trx, citizen.oid);
    const snapshot = snapshotOf(citizen, passport);
    assertThat(progress.hasPersonalData && snapshot && passport, () => new AppError('verification.data_incomplete', 400, 'personal data, SNILS and passport are required'));
    const pending = await trx.selectFrom('registry_checks').select('id').where('citizen_oid', '=', citizen.oid).where('status', '=', 'pending').executeTakeFirst();
    assertThat(!pending, () => new AppError('verification.check_pending', 409, 'a check is already in progress'));

    const check = await trx
      .insertInto('registry_checks')
      .values({ citizen_oid: citizen.oid, snapshot, created_at: input.now, next_attempt_at: input.now })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx.updateTable('citizen_documents').set({ vrf_status: 'verifying', updated_at: input.now }).where('id', '=', passport.id).execute();
    await recordAudit(trx, { type: 'registry_check.requested', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { checkId: check.id }, requestId: input.requestId });
    return check;
  });
}

export type CheckOutcome = 'verified' | 'rejected' | 'superseded' | 'retry' | 'stale';

/**
 * Records the registries' verdict on a check this worker claimed. `stale`: the check is no longer
 * this worker's to finish — its lease ran out and another worker claimed it since (attempts moved
 * on), or the citizen's edit superseded it — so nothing changes and a check finishes exactly once.
 */
export async function finishRegistryCheck(db: Db, claimed: RegistryCheck, verdict: { reason: RegistryRejection | null }, now: Date): Promise<CheckOutcome> {
  return db.transaction().execute(async (trx) => {
    const check = await lockClaimedCheck(trx, claimed);
    if (!check) return 'stale';
    return finishLocked(trx, check, verdict.reason, now);
  });
}

/**
 * A registry did not answer: try again after a growing pause, or give up after `maxAttempts`
 * with `registry_unavailable`, which the citizen can act on (send again later).
 */
export async function recordRegistryFailure(
  db: Db,
  claimed: RegistryCheck,
  input: { error: string; now: Date; maxAttempts: number; retryDelaySeconds: (attempts: number) => number },
): Promise<CheckOutcome> {
  return db.transaction().execute(async (trx) => {
    const check = await lockClaimedCheck(trx, claimed);
    if (!check) return 'stale';
    if (check.attempts >= input.maxAttempts) {
      await trx.updateTable('registry_checks').set({ last_error: input.error }).where('id', '=', check.id).execute();
      return finishLocked(trx, check, 'registry_unavailable', input.now);
    }
    await trx
      .updateTable('registry_checks')
      .set({ leased_until: null, last_error: input.error, next_attempt_at: new Date(input.now.getTime() + input.retryDelaySeconds(check.attempts) * 1000) })
      .where('id', '=', check.id)
      .execute();
    return 'retry';
  });
}

async function lockClaimedCheck(trx: DbOrTrx, claimed: RegistryCheck): Promise<RegistryCheck | undefined> {
  return trx
    .selectFrom('registry_checks')
    .selectAll()
    .where('id', '=', claimed.id)
    .where('status', '=', 'pending')
    .where('attempts', '=', claimed.attempts)
    .forUpdate()
    .executeTakeFirst();
}

async function finishLocked(trx: DbOrTrx, check: RegistryCheck, reason: RegistryRejection | null, now: Date): Promise<CheckOutcome> {
  const citizen = await trx.selectFrom('citizens').selectAll().where('oid', '=', check.citizen_oid).forUpdate().executeTakeFirstOrThrow();
  const passport = await findPassport(trx, citizen.oid);
  const current = snapshotOf(citizen, passport);
  const finished = { finished_at: now, leased_until: null };
  const audit = (type: string, details: Record<string, unknown> = {}) =>
    recordAudit(trx, { type, citizenOid: citizen.oid, actor: REGISTRY_ACTOR, details: { checkId: check.id, ...details } });

  // The citizen edited the data while it was being checked: the verdict is about data they no longer have.
  if (!current || !sameSnapshot(current, check.snapshot)) {
    await trx.updateTable('registry_checks').set({ status: 'superseded', ...finished }).where('id', '=', check.id).execute();
    if (passport?.vrf_status === 'verifying') await setPassportStatus(trx, passport.id, 'not_verified', now);
    await audit('registry_check.superseded');
    return 'superseded';
  }

  if (reason) {
    await trx.updateTable('registry_checks').set({ status: 'rejected', reason_code: reason, ...finished }).where('id', '=', check.id).execute();
    // Only a passport the МВД turned down is "rejected"; a SNILS problem or a silent registry says nothing about it.
    await setPassportStatus(trx, passport!.id, reason.startsWith('passport_') ? 'rejected' : 'not_verified', now);
    await audit('registry_check.rejected', { reasonCode: reason });
    return 'rejected';
  }

  await trx.updateTable('registry_checks').set({ status: 'verified', ...finished }).where('id', '=', check.id).execute();
  await setPassportStatus(trx, passport!.id, 'verified', now);
  await audit('registry_check.verified');
  // Never lower a level: someone confirmed meanwhile stays confirmed.
  if (citizen.trust_level === 'simplified') {
    await changeTrustLevel(trx, { citizenOid: citizen.oid, level: 'standard', actor: REGISTRY_ACTOR, method: 'registry_check', details: { checkId: check.id }, now });
    await notifyTrustLevelChanged(trx, citizen, { level: 'standard', previousLevel: citizen.trust_level }, now);
  }
  return 'verified';
}

async function setPassportStatus(trx: DbOrTrx, documentId: string, status: CitizenDocument['vrf_status'], now: Date): Promise<void> {
  await trx.updateTable('citizen_documents').set({ vrf_status: status, updated_at: now }).where('id', '=', documentId).execute();
}
