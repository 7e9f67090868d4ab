import type { DbOrTrx } from '../db/database.ts';
import type { AddressType, Citizen, CitizenAddress } from '../citizens/citizen.table.ts';
import type { AddressData, PassportData, PersonalData } from './identity-forms.ts';

/** The citizen's identity data: the personal columns of `citizens`, the RF passport, the two addresses. */

/** The citizen row, locked for the rest of the transaction (`SELECT … FOR UPDATE`). */
export async function lockCitizen(trx: DbOrTrx, oid: string): Promise<Citizen> {
  return trx.selectFrom('citizens').selectAll().where('oid', '=', oid).forUpdate().executeTakeFirstOrThrow();
}

export async function updatePersonalData(trx: DbOrTrx, oid: string, data: PersonalData, now: Date): Promise<void> {
  await trx.updateTable('citizens').set({ ...data, updated_at: now }).where('oid', '=', oid).execute();
}

/** Creates or replaces the passport; a new or changed passport is not verified. */
export async function savePassportRow(trx: DbOrTrx, oid: string, passport: PassportData, now: Date): Promise<void> {
  await trx
    .insertInto('citizen_documents')
    .values({ citizen_oid: oid, type: 'RF_PASSPORT', ...passport, vrf_status: 'not_verified', created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['citizen_oid', 'type']).doUpdateSet({ ...passport, vrf_status: 'not_verified', updated_at: now }))
    .execute();
}

export async function findAddresses(db: DbOrTrx, oid: string): Promise<Partial<Record<AddressType, CitizenAddress>>> {
  const rows = await db.selectFrom('citizen_addresses').selectAll().where('citizen_oid', '=', oid).execute();
  return Object.fromEntries(rows.map((row) => [row.type, row]));
}

/** Writes one address, or removes it when `address` is null. */
export async function saveAddressRow(trx: DbOrTrx, oid: string, type: AddressType, address: AddressData | null, now: Date): Promise<void> {
  if (!address) {
    await trx.deleteFrom('citizen_addresses').where('citizen_oid', '=', oid).where('type', '=', type).execute();
    return;
  }
  await trx
    .insertInto('citizen_addresses')
    .values({ citizen_oid: oid, type, ...address, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['citizen_oid', 'type']).doUpdateSet({ ...address, updated_at: now }))
    .execute();
}

/**
 * What a registry check or a confirmation proved no longer describes the citizen: the passport is
 * unverified again, pending registry checks (of the old data) are superseded, and a confirmation
 * letter not yet used can no longer confirm the new data.
 */
export async function invalidateVerification(trx: DbOrTrx, oid: string, now: Date): Promise<void> {
  await trx
    .updateTable('citizen_documents')
    .set({ vrf_status: 'not_verified', updated_at: now })
    .where('citizen_oid', '=', oid)
    .where('type', '=', 'RF_PASSPORT')
    .where('vrf_status', '!=', 'not_verified')
    .execute();
  await trx.updateTable('registry_checks').set({ status: 'superseded', finished_at: now }).where('citizen_oid', '=', oid).where('status', '=', 'pending').execute();
  await trx.updateTable('confirmation_letters').set({ state: 'expired' }).where('citizen_oid', '=', oid).where('state', '=', 'sent').execute();
}
