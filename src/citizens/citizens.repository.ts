import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { LoginIdentifier } from '../shared/contacts.ts';
import type { Citizen, CitizenDocument, TrustLevel } from './citizen.table.ts';

export interface NewCitizen {
  lastName: string;
  firstName: string;
  middleName?: string | null;
  phone?: string | null;
  email?: string | null;
  passwordHash: string;
  trustLevel?: TrustLevel;
}

export async function insertCitizen(db: DbOrTrx, input: NewCitizen): Promise<Citizen> {
  return db
    .insertInto('citizens')
    .values({
      last_name: input.lastName,
      first_name: input.firstName,
      middle_name: input.middleName ?? null,
      phone: input.phone ?? null,
      email: input.email ?? null,
      password_hash: input.passwordHash,
      trust_level: input.trustLevel,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findCitizenByOid(db: DbOrTrx, oid: string): Promise<Citizen | undefined> {
  if (!/^\d{1,18}$/.test(oid)) return undefined;
  return db.selectFrom('citizens').selectAll().where('oid', '=', oid).executeTakeFirst();
}

export async function findCitizenByLogin(db: DbOrTrx, login: LoginIdentifier): Promise<Citizen | undefined> {
  return db
    .selectFrom('citizens')
    .selectAll()
    .where(login.kind, '=', login.value)
    // Phones and e-mails are unique; a SNILS may sit on several verified accounts of one person until
    // they are linked (src/merge): the primary account first, then the most trusted, then the oldest.
    .orderBy(sql`merged_into_oid IS NULL`, 'desc')
    .orderBy(sql`CASE trust_level WHEN 'confirmed' THEN 0 WHEN 'standard' THEN 1 ELSE 2 END`)
    .orderBy('oid')
    .limit(1)
    .executeTakeFirst();
}

/**
 * The account a citizen row signs in to: itself, or — for an alias linked into another account
 * (src/merge) — that primary account. Undefined only if the primary vanished meanwhile.
 */
export async function findPrimaryAccount(db: DbOrTrx, citizen: Citizen): Promise<Citizen | undefined> {
  return citizen.merged_into_oid ? findCitizenByOid(db, citizen.merged_into_oid) : citizen;
}

export async function listCitizens(db: DbOrTrx, limit = 100): Promise<Citizen[]> {
  return db.selectFrom('citizens').selectAll().orderBy('oid').limit(limit).execute();
}

/** The citizen's Russian passport, if entered. */
export async function findPassport(db: DbOrTrx, citizenOid: string): Promise<CitizenDocument | undefined> {
  return db.selectFrom('citizen_documents').selectAll().where('citizen_oid', '=', citizenOid).where('type', '=', 'RF_PASSPORT').executeTakeFirst();
}
