import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { CitizenAddress, CitizenDocument } from '../citizens/citizen.table.ts';
import { addressesJson, documentsJson, reviveRows } from '../citizens/citizens.repository.ts';

/** Reads for the person API: one query per table, never the password hash. */

export async function findPersonRow(db: DbOrTrx, oid: string) {
  return findPersonQuery(db, oid).executeTakeFirst();
}

function findPersonQuery(db: DbOrTrx, oid: string) {
  return db
    .selectFrom('citizens')
    .select([
      'oid', 'last_name', 'first_name', 'middle_name', 'phone', 'email', 'trust_level',
      'snils', 'inn', 'birth_date', 'gender', 'birth_place', 'citizenship', 'updated_at',
    ])
    // ESIA's `verifying`: a registry check of the submitted data is still under way.
    .select((eb) =>
      eb.exists(eb.selectFrom('registry_checks').select('registry_checks.id').whereRef('registry_checks.citizen_oid', '=', 'citizens.oid').where('registry_checks.status', '=', 'pending')).as('verifying'),
    )
    // Duplicate accounts linked into this one (src/merge): their OIDs, as strings like the subject.
    .select(sql<string[]>`ARRAY(SELECT linked.oid::text FROM citizens linked WHERE linked.merged_into_oid = citizens.oid ORDER BY linked.oid)`.as('merged_oids'))
    .where('oid', '=', oid);
}

export type PersonRow = NonNullable<Awaited<ReturnType<typeof findPersonRow>>>;

/**
 * The person row with, as asked, all their documents and addresses (each by id, as listDocuments
 * and listAddresses give them) in one statement instead of three: GET /rs/prns/{oid} with embeds
 * is the person API's hot path.
 */
export async function findPersonWith(db: DbOrTrx, oid: string, needs: { documents: boolean; addresses: boolean }) {
  const row = await findPersonQuery(db, oid)
    .select(needs.documents ? documentsJson(sql.ref('citizens.oid'), { passportOnly: false }).as('documents') : sql<null>`NULL::jsonb`.as('documents'))
    .select(needs.addresses ? addressesJson(sql.ref('citizens.oid'), { orderBy: 'id' }).as('addresses') : sql<null>`NULL::jsonb`.as('addresses'))
    .executeTakeFirst();
  if (!row) return { person: undefined, documents: undefined, addresses: undefined };
  const { documents, addresses, ...person } = row;
  return {
    person,
    documents: documents ? reviveRows<CitizenDocument>(documents) : undefined,
    addresses: addresses ? reviveRows<CitizenAddress>(addresses) : undefined,
  };
}

export async function listDocuments(db: DbOrTrx, oid: string): Promise<CitizenDocument[]> {
  return db.selectFrom('citizen_documents').selectAll().where('citizen_oid', '=', oid).orderBy('id').execute();
}

export async function findDocument(db: DbOrTrx, oid: string, id: string): Promise<CitizenDocument | undefined> {
  return db.selectFrom('citizen_documents').selectAll().where('citizen_oid', '=', oid).where('id', '=', id).executeTakeFirst();
}

export async function listAddresses(db: DbOrTrx, oid: string): Promise<CitizenAddress[]> {
  return db.selectFrom('citizen_addresses').selectAll().where('citizen_oid', '=', oid).orderBy('id').execute();
}

export async function findAddress(db: DbOrTrx, oid: string, id: string): Promise<CitizenAddress | undefined> {
  return db.selectFrom('citizen_addresses').selectAll().where('citizen_oid', '=', oid).where('id', '=', id).executeTakeFirst();
}

export async function citizenExists(db: DbOrTrx, oid: string): Promise<boolean> {
  return (await db.selectFrom('citizens').select('oid').where('oid', '=', oid).executeTakeFirst()) !== undefined;
}
