import { sql, type RawBuilder } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { LoginIdentifier } from '../shared/contacts.ts';
import type { Citizen, CitizenAddress, CitizenDocument, TrustLevel } from './citizen.table.ts';

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

const readInRequest = new WeakMap<object, Map<string, Promise<Citizen | undefined>>>();

/**
 * findCitizenByOid, read once per request: in one authorization request oidc-provider's account
 * lookup and the trust-level prompt both need the signed-in citizen (oidc/account.ts,
 * oidc/interaction-policy.ts). `request` is the request's context; without one, a plain read.
 */
export function findCitizenInRequest(db: DbOrTrx, request: object | undefined, oid: string): Promise<Citizen | undefined> {
  if (!request) return findCitizenByOid(db, oid);
  const cache = readInRequest.get(request) ?? new Map<string, Promise<Citizen | undefined>>();
  readInRequest.set(request, cache);
  let citizen = cache.get(oid);
  if (!citizen) {
    citizen = findCitizenByOid(db, oid);
    cache.set(oid, citizen);
  }
  return citizen;
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

/**
 * A citizen's documents and addresses as JSON columns of another statement (one round trip instead
 * of one per table: the read paths that need them are hot — userinfo, the person API). `citizenOid`
 * is a value or a column reference. reviveRows turns them back into exactly what `selectAll()`
 * gives: bigint ids as strings, `date` as 'yyyy-MM-dd' (to_jsonb's form too), timestamps as Dates.
 */
export function documentsJson(citizenOid: RawBuilder<unknown> | string, options: { passportOnly: boolean }): RawBuilder<Record<string, unknown>[]> {
  const filter = options.passportOnly ? sql`AND d.type = 'RF_PASSPORT'` : sql``;
  return sql`coalesce((SELECT jsonb_agg(to_jsonb(d) || jsonb_build_object('id', d.id::text, 'citizen_oid', d.citizen_oid::text) ORDER BY d.id)
    from "citizen_documents" as d WHERE d.citizen_oid = ${citizenOid} ${filter}), '[]'::jsonb)`;
}

export function addressesJson(citizenOid: RawBuilder<unknown> | string, options: { orderBy: 'id' | 'type' }): RawBuilder<Record<string, unknown>[]> {
  const order = options.orderBy === 'type' ? sql`a.type` : sql`a.id`;
  return sql`coalesce((SELECT jsonb_agg(to_jsonb(a) || jsonb_build_object('id', a.id::text, 'citizen_oid', a.citizen_oid::text) ORDER BY ${order})
    from "citizen_addresses" as a WHERE a.citizen_oid = ${citizenOid}), '[]'::jsonb)`;
}

export function reviveRows<T extends CitizenDocument | CitizenAddress>(rows: Record<string, unknown>[]): T[] {
  return rows.map((row) => ({ ...row, created_at: new Date(row.created_at as string), updated_at: new Date(row.updated_at as string) }) as T);
}

/** The passport and addresses (by type) in one statement: see documentsJson. */
export async function findPassportAndAddresses(db: DbOrTrx, citizenOid: string): Promise<{ passport?: CitizenDocument; addresses: CitizenAddress[] }> {
  const { rows } = await sql<{ documents: Record<string, unknown>[]; addresses: Record<string, unknown>[] }>`
    SELECT ${documentsJson(citizenOid, { passportOnly: true })} AS documents, ${addressesJson(citizenOid, { orderBy: 'type' })} AS addresses
  `.execute(db);
  return { passport: reviveRows<CitizenDocument>(rows[0].documents)[0], addresses: reviveRows<CitizenAddress>(rows[0].addresses) };
}
