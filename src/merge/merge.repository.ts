import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { findPassport } from '../citizens/citizens.repository.ts';
import type { MergeSide } from './merge-rules.ts';
import type { AccountMerge, MergeFlow, ProofMethod } from './merge.tables.ts';

/** What a candidate shares with the signed-in account. */
export type CandidateBasis = 'snils' | 'passport' | 'contact';

export interface Candidate {
  oid: string;
  basis: CandidateBasis[];
  /** Where a proof code can go (7XXXXXXXXXX / e-mail). */
  phone: string | null;
  email: string | null;
  createdAt: Date;
}

/**
 * Other accounts that may be the same person's: primary accounts (not aliases, not this one) with
 * the same SNILS, the same passport series and number, or a contact both accounts confirmed at some
 * point. Contacts are unique among current accounts, so a shared one is a past one: the contact an
 * account registered with or changed to (completed flows) may since have moved to the other account.
 */
export async function findCandidates(db: DbOrTrx, citizen: Citizen): Promise<Candidate[]> {
  const basis = new Map<string, Set<CandidateBasis>>();
  const add = (oids: string[], why: CandidateBasis) => {
    for (const oid of oids) if (oid !== citizen.oid) (basis.get(oid) ?? basis.set(oid, new Set()).get(oid)!).add(why);
  };

  if (citizen.snils) {
    add((await db.selectFrom('citizens').select('oid').where('snils', '=', citizen.snils).execute()).map((r) => r.oid), 'snils');
  }
  const passport = await findPassport(db, citizen.oid);
  if (passport) {
    const rows = await db
      .selectFrom('citizen_documents').select('citizen_oid')
      .where('type', '=', 'RF_PASSPORT').where('series', '=', passport.series).where('number', '=', passport.number)
      .execute();
    add(rows.map((r) => r.citizen_oid), 'passport');
  }
  const contacts = await contactsEverConfirmed(db, citizen);
  if (contacts.length > 0) {
    const rows = await db
      .selectFrom('citizens').select('oid').where((eb) => eb.or([eb('phone', 'in', contacts), eb('email', 'in', contacts)]))
      .union(db.selectFrom('registration_flows').select(sql<string>`citizen_oid`.as('oid')).where('state', '=', 'completed').where('citizen_oid', 'is not', null).where('contact_value', 'in', contacts))
      .union(db.selectFrom('contact_change_flows').select('citizen_oid as oid').where('state', '=', 'completed').where('new_value', 'in', contacts))
      .execute();
    add(rows.map((r) => r.oid), 'contact');
  }
  if (basis.size === 0) return [];

  const others = await db
    .selectFrom('citizens')
    .select(['oid', 'phone', 'email', 'created_at'])
    .where('oid', 'in', [...basis.keys()])
    .where('merged_into_oid', 'is', null)
    .orderBy('oid')
    .execute();
  return others.map((row) => ({ oid: row.oid, basis: [...basis.get(row.oid)!], phone: row.phone, email: row.email, createdAt: row.created_at }));
}

/** The phones and e-mails the account holds now or confirmed with a code before (registration, contact change). */
async function contactsEverConfirmed(db: DbOrTrx, citizen: Citizen): Promise<string[]> {
  const rows = await db
    .selectFrom('registration_flows').select('contact_value as value').where('citizen_oid', '=', citizen.oid).where('state', '=', 'completed')
    .union(db.selectFrom('contact_change_flows').select('new_value as value').where('citizen_oid', '=', citizen.oid).where('state', '=', 'completed'))
    .execute();
  return [...new Set([citizen.phone, citizen.email, ...rows.map((r) => r.value)].filter((v): v is string => typeof v === 'string'))];
}

/** The identity data the merge rules compare. */
export async function loadMergeSide(db: DbOrTrx, citizen: Citizen): Promise<MergeSide> {
  const passport = await findPassport(db, citizen.oid);
  return {
    oid: citizen.oid,
    trustLevel: citizen.trust_level,
    lastName: citizen.last_name,
    firstName: citizen.first_name,
    middleName: citizen.middle_name,
    birthDate: citizen.birth_date,
    snils: citizen.snils,
    passport: passport ? { series: passport.series, number: passport.number } : null,
  };
}

/** Both accounts' rows, locked in OID order (two merges of the same pair in opposite directions cannot deadlock). */
export async function lockCitizens(trx: DbOrTrx, oids: readonly string[]): Promise<Map<string, Citizen>> {
  const rows = await trx.selectFrom('citizens').selectAll().where('oid', 'in', [...oids]).orderBy('oid').forUpdate().execute();
  return new Map(rows.map((r) => [r.oid, r]));
}

// ─── Flows ───

/** The pair's newest flow that has not expired or finished. */
export async function findLiveFlow(db: DbOrTrx, citizenOid: string, candidateOid: string, now: Date, options: { lock?: boolean } = {}): Promise<MergeFlow | undefined> {
  let query = db
    .selectFrom('merge_flows')
    .selectAll()
    .where('citizen_oid', '=', citizenOid)
    .where('candidate_oid', '=', candidateOid)
    .where('state', 'in', ['awaiting_proof', 'proved'])
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .limit(1);
  if (options.lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function insertFlow(db: DbOrTrx, input: { citizenOid: string; candidateOid: string; now: Date; ttlSeconds: number }): Promise<MergeFlow> {
  return db
    .insertInto('merge_flows')
    .values({ citizen_oid: input.citizenOid, candidate_oid: input.candidateOid, created_at: input.now, expires_at: new Date(input.now.getTime() + input.ttlSeconds * 1000) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Records the proof; the flow then lives `ttlSeconds` more for the citizen to look and confirm. Guarded: only an unproved flow. */
export async function markFlowProved(db: DbOrTrx, flowId: string, method: ProofMethod, now: Date, ttlSeconds: number): Promise<boolean> {
  const result = await db
    .updateTable('merge_flows')
    .set({ state: 'proved', proof_method: method, proved_at: now, expires_at: new Date(now.getTime() + ttlSeconds * 1000) })
    .where('id', '=', flowId)
    .where('state', '=', 'awaiting_proof')
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Spends a proved flow on the merge: exactly one of two racing confirmations gets it. */
export async function completeFlow(db: DbOrTrx, flowId: string): Promise<boolean> {
  const result = await db.updateTable('merge_flows').set({ state: 'completed' }).where('id', '=', flowId).where('state', '=', 'proved').executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

// ─── Links ───

export interface LinkedAccount {
  link: AccountMerge;
  alias: Pick<Citizen, 'oid' | 'phone' | 'email' | 'created_at'>;
}

/** The primary's active links, oldest first. */
export async function listLinks(db: DbOrTrx, primaryOid: string): Promise<LinkedAccount[]> {
  const rows = await db
    .selectFrom('account_merges as m')
    .innerJoin('citizens as c', 'c.oid', 'm.alias_oid')
    .selectAll('m')
    .select(['c.phone', 'c.email', 'c.created_at'])
    .where('m.survivor_oid', '=', primaryOid)
    .where('m.unlinked_at', 'is', null)
    .orderBy('m.merged_at')
    .orderBy('m.id')
    .execute();
  return rows.map(({ phone, email, created_at, ...link }) => ({ link, alias: { oid: link.alias_oid, phone, email, created_at } }));
}

export async function findActiveLink(db: DbOrTrx, primaryOid: string, aliasOid: string): Promise<AccountMerge | undefined> {
  return db.selectFrom('account_merges').selectAll().where('survivor_oid', '=', primaryOid).where('alias_oid', '=', aliasOid).where('unlinked_at', 'is', null).executeTakeFirst();
}

/**
 * findMergedOids as a column of a read of `citizens` (same order, OIDs as strings): lets a hot path
 * (oidc/account.ts) get them with the citizen row in one statement.
 */
export const mergedOidsColumn = sql<string[]>`ARRAY(SELECT linked.oid::text FROM citizens linked WHERE linked.merged_into_oid = citizens.oid ORDER BY linked.oid)`;

/** The OIDs linked into a primary account: what `merged_oids` and `mergedOids` tell relying parties. */
export async function findMergedOids(db: DbOrTrx, primaryOid: string): Promise<string[]> {
  const rows = await db.selectFrom('citizens').select('oid').where('merged_into_oid', '=', primaryOid).orderBy('oid').execute();
  return rows.map((r) => r.oid);
}

// ─── Account deletion (sessions/account-deletion.service.ts runs these in its transaction) ───

export async function eraseMergeFlows(trx: DbOrTrx, oid: string): Promise<void> {
  await trx.deleteFrom('merge_flows').where((eb) => eb.or([eb('citizen_oid', '=', oid), eb('candidate_oid', '=', oid)])).execute();
}

export async function eraseAccountMerges(trx: DbOrTrx, oid: string): Promise<void> {
  await trx.deleteFrom('account_merges').where((eb) => eb.or([eb('survivor_oid', '=', oid), eb('alias_oid', '=', oid)])).execute();
}

export async function eraseMovedRows(trx: DbOrTrx, oid: string): Promise<void> {
  await trx.deleteFrom('merge_moved_rows').where('origin_oid', '=', oid).execute();
  // A kept copy of a child's record (moved-children.ts) may name the deleted account as the child:
  // it loses the link, as the records in `children` do (family/family-erasure.ts).
  await sql`
    UPDATE merge_moved_rows SET snapshot = snapshot || jsonb_build_object('child_oid', NULL, 'link_state', NULL, 'link_changed_at', NULL)
     WHERE kind = 'child_copy' AND snapshot->>'child_oid' = ${oid}`.execute(trx);
}

/** Merge flows past their expiry by more than `graceSeconds`, whatever their state (a merge's outcome lives in account_merges): for the prune job. */
export async function pruneEndedMergeFlows(db: DbOrTrx, now: Date, graceSeconds: number): Promise<number> {
  const result = await db.deleteFrom('merge_flows').where('expires_at', '<', new Date(now.getTime() - graceSeconds * 1000)).executeTakeFirst();
  return Number(result.numDeletedRows);
}
