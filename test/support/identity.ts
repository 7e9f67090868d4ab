import type { Db } from '../../src/db/database.ts';
import type { TrustLevel } from '../../src/citizens/citizen.table.ts';
import { recordAudit } from '../../src/audit/audit.service.ts';
import { snilsControl } from '../../src/shared/validators.ts';

let nextSnils = 200_000_001;

/** A fresh SNILS with a valid checksum (SNILS is unique per account). */
export function uniqueSnils(): string {
  const body = String(nextSnils++).padStart(9, '0');
  return `${body}${String(snilsControl(body)).padStart(2, '0')}`;
}

/**
 * Gives a test citizen identity data directly in the database (the pages that collect it are
 * tested on their own), optionally as already verified at a level.
 */
export async function giveIdentity(
  db: Db,
  oid: string,
  options: { verifiedAs?: Exclude<TrustLevel, 'simplified'>; method?: string; serviceCentre?: string; snils?: string } = {},
): Promise<void> {
  await db
    .updateTable('citizens')
    .set({ birth_date: '1985-04-12', gender: 'F', birth_place: 'г. Москва', citizenship: 'RUS', snils: options.snils ?? uniqueSnils(), inn: '500100732259', ...(options.verifiedAs ? { trust_level: options.verifiedAs } : {}) })
    .where('oid', '=', oid)
    .execute();
  await db
    .insertInto('citizen_documents')
    .values({ citizen_oid: oid, type: 'RF_PASSPORT', series: '4506', number: '123456', issue_date: '2005-05-20', issue_id: '770-001', issued_by: 'ОВД района Арбат г. Москвы', vrf_status: options.verifiedAs ? 'verified' : 'not_verified' })
    .execute();
  await db
    .insertInto('citizen_addresses')
    .values([
      { citizen_oid: oid, type: 'PRG', address_str: '119002, г. Москва, ул. Арбат, д. 1, кв. 2', zip_code: '119002', region: 'Москва', city: 'Москва', street: 'ул. Арбат', house: '1', flat: '2' },
      { citizen_oid: oid, type: 'PLV', address_str: '121099, г. Москва, Смоленская пл., д. 3', zip_code: '121099' },
    ])
    .execute();
  if (options.verifiedAs) {
    await recordAudit(db, {
      type: 'trust_level.changed',
      citizenOid: oid,
      actor: { type: 'system', name: 'test' },
      details: { from: 'simplified', to: options.verifiedAs, method: options.method ?? 'registry_check', ...(options.serviceCentre ? { serviceCentre: options.serviceCentre } : {}) },
    });
  }
}
