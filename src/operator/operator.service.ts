import { sql } from 'kysely';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen, CitizenDocument } from '../citizens/citizen.table.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AuditActor } from '../audit/audit.table.ts';
import { changeTrustLevel } from '../trust/trust.service.ts';
import { AppError, assertThat } from '../shared/app-error.ts';
import { findPassport } from '../citizens/citizens.repository.ts';
import { notifyTrustLevelChanged } from '../verification/trust-notification.ts';

/**
 * Service-centre operators: citizens with the `operator` staff role, who confirm identities in
 * person (standard → confirmed) after checking the passport at the desk.
 */

export interface OperatorRole {
  citizenOid: string;
  serviceCentre: string;
}

/** Makes a citizen an operator of a service centre (or moves them to another centre). For the CLI. */
export async function grantOperatorRole(db: Db, input: { citizenOid: string; serviceCentre: string; actor?: AuditActor }): Promise<OperatorRole> {
  const serviceCentre = input.serviceCentre.trim().replace(/\s+/g, ' ');
  assertThat(serviceCentre.length > 0 && serviceCentre.length <= 200, () => new AppError('operator.service_centre_invalid', 400, 'the service centre name must be 1–200 characters'));
  return db.transaction().execute(async (trx) => {
    const citizen = await findCitizenByOid(trx, input.citizenOid);
    assertThat(citizen, () => new AppError('operator.citizen_not_found', 404, `no citizen with OID ${input.citizenOid}`));
    const row = { citizen_oid: citizen.oid, role: 'operator' as const, service_centre: serviceCentre };
    await trx.insertInto('staff_roles').values(row).onConflict((oc) => oc.columns(['citizen_oid', 'role']).doUpdateSet({ service_centre: serviceCentre })).execute();
    await recordAudit(trx, { type: 'staff_role.granted', citizenOid: citizen.oid, actor: input.actor ?? { type: 'cli' }, details: { role: 'operator', serviceCentre } });
    return { citizenOid: citizen.oid, serviceCentre };
  });
}

/** Takes the operator role away. Returns whether the citizen had it. */
export async function revokeOperatorRole(db: Db, input: { citizenOid: string; actor?: AuditActor }): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('staff_roles').where('citizen_oid', '=', input.citizenOid).where('role', '=', 'operator').executeTakeFirst();
    if (removed.numDeletedRows === 0n) return false;
    await recordAudit(trx, { type: 'staff_role.revoked', citizenOid: input.citizenOid, actor: input.actor ?? { type: 'cli' }, details: { role: 'operator' } });
    return true;
  });
}

export async function listOperators(db: DbOrTrx): Promise<Array<OperatorRole & { createdAt: Date }>> {
  const rows = await db.selectFrom('staff_roles').selectAll().where('role', '=', 'operator').orderBy('citizen_oid').execute();
  return rows.map((r) => ({ citizenOid: r.citizen_oid, serviceCentre: r.service_centre, createdAt: r.created_at }));
}

export async function findOperatorRole(db: DbOrTrx, citizenOid: string): Promise<OperatorRole | undefined> {
  const row = await db.selectFrom('staff_roles').select(['citizen_oid', 'service_centre']).where('citizen_oid', '=', citizenOid).where('role', '=', 'operator').executeTakeFirst();
  return row && { citizenOid: row.citizen_oid, serviceCentre: row.service_centre };
}

/**
 * The accounts holding a SNILS, for the desk's search. Accounts linked into another (src/merge) are
 * left out: the person is served in the primary. Several primaries can hold one SNILS — verified
 * duplicates of one person not linked yet, beside at most one simplified account that typed it in —
 * and the operator, with the person at the desk, picks the one to serve: confirmed first, then
 * standard, then simplified, the oldest first (the order a login by SNILS follows).
 */
export async function findCitizensBySnils(db: DbOrTrx, snils: string): Promise<Citizen[]> {
  return db
    .selectFrom('citizens')
    .selectAll()
    .where('snils', '=', snils)
    .where('merged_into_oid', 'is', null)
    .orderBy(sql`CASE trust_level WHEN 'confirmed' THEN 0 WHEN 'standard' THEN 1 ELSE 2 END`)
    .orderBy('oid')
    .execute();
}

/** What the desk shows about a citizen, and whether the operator may confirm them. */
export function confirmationBlocker(operatorOid: string, citizen: Citizen, passport: CitizenDocument | undefined): string | undefined {
  if (citizen.oid === operatorOid) return 'operator.cannot_confirm_self';
  if (citizen.trust_level === 'confirmed') return 'operator.already_confirmed';
  if (citizen.trust_level !== 'standard') return 'operator.not_standard';
  if (passport?.vrf_status !== 'verified') return 'operator.passport_not_verified';
  return undefined;
}

/**
 * Confirms a citizen's identity in person: the level, its audit event (with the operator and the
 * centre) and the citizen's notice land together. The operator's role is re-read here, so a
 * role revoked a moment ago no longer confirms anyone.
 */
export async function confirmInPerson(db: Db, input: { operatorOid: string; citizenOid: string; passportChecked: boolean; now: Date; requestId?: string | null }): Promise<void> {
  assertThat(input.passportChecked, () => new AppError('operator.passport_check_required', 400, 'the operator must tick that the passport was checked'));
  await db.transaction().execute(async (trx) => {
    const role = await findOperatorRole(trx, input.operatorOid);
    assertThat(role, () => new AppError('error.forbidden', 403));
    const citizen = await trx.selectFrom('citizens').selectAll().where('oid', '=', input.citizenOid).forUpdate().executeTakeFirst();
    assertThat(citizen, () => new AppError('operator.citizen_not_found', 404));
    const blocker = confirmationBlocker(input.operatorOid, citizen, await findPassport(trx, citizen.oid));
    assertThat(!blocker, () => new AppError(blocker!, blocker === 'operator.cannot_confirm_self' ? 403 : 409));

    const actor = { type: 'operator' as const, oid: input.operatorOid };
    const details = { serviceCentre: role.serviceCentre };
    await changeTrustLevel(trx, { citizenOid: citizen.oid, level: 'confirmed', actor, method: 'in_person', details, requestId: input.requestId, now: input.now });
    await notifyTrustLevelChanged(trx, citizen, { level: 'confirmed', previousLevel: citizen.trust_level }, input.now);
    await recordAudit(trx, { type: 'identity.confirmed_in_person', citizenOid: citizen.oid, actor, details, requestId: input.requestId });
  });
}
