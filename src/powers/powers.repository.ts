import { sql, type ExpressionBuilder } from 'kysely';
import type { Database, DbOrTrx } from '../db/database.ts';
import { findCitizenByLogin } from '../citizens/citizens.repository.ts';
import { POA_RIGHTS, type PoaRight, type PoaState, type PowerOfAttorneyRow, type PrincipalKind } from './powers.table.ts';

export { POA_RIGHTS, type PoaRight };

/** A power the representative may use right now, with what the login choice and tokens need. */
export interface UsablePower {
  id: string;
  principal: { kind: PrincipalKind; oid: string; displayName: string };
  representativeOid: string;
  rights: PoaRight[];
  clientIds: string[] | null;
  validTo: Date;
}

/** Powers the representative may use now at this RP (client_ids null or containing clientId). */
export async function listUsablePowers(db: DbOrTrx, representativeOid: string, clientId: string, now: Date): Promise<UsablePower[]> {
  const rows = await usablePowersQuery(db, representativeOid, clientId, now).orderBy('p.valid_to').orderBy('p.id').execute();
  return rows.map(toUsablePower);
}

/** One power, only if still usable now by this representative at this RP; else undefined. */
export async function findUsablePower(db: DbOrTrx, powerId: string, representativeOid: string, clientId: string, now: Date): Promise<UsablePower | undefined> {
  if (!isPowerId(powerId)) return undefined;
  const row = await usablePowersQuery(db, representativeOid, clientId, now).where('p.id', '=', powerId).executeTakeFirst();
  return row && toUsablePower(row);
}

/** Ids are bigints; anything else (from a URL or a token) can name no power. */
export function isPowerId(value: string): boolean {
  return /^[1-9]\d{0,17}$/.test(value);
}

/**
 * "Usable now": active and inside its period. A power past valid_to counts as expired here even
 * before the sweeper marks it, so revocation and expiry take effect at once everywhere.
 */
function usablePowersQuery(db: DbOrTrx, representativeOid: string, clientId: string, now: Date) {
  return withPrincipalNames(db)
    .where('p.representative_oid', '=', representativeOid)
    .where('p.state', '=', 'active')
    .where('p.valid_from', '<=', now)
    .where('p.valid_to', '>', now)
    .where((eb) => eb.or([eb('p.client_ids', 'is', null), eb(sql<boolean>`${clientId} = ANY(p.client_ids)`, '=', true)]))
    .select(['p.id', 'p.principal_kind', 'p.principal_citizen_oid', 'p.principal_organisation_oid', 'p.representative_oid', 'p.rights', 'p.client_ids', 'p.valid_to']);
}

/** The powers table as `p`, with the principal's name columns (citizen `pc`, organisation `po`). */
export function withPrincipalNames(db: DbOrTrx) {
  return db
    .selectFrom('powers_of_attorney as p')
    .leftJoin('citizens as pc', 'pc.oid', 'p.principal_citizen_oid')
    .leftJoin('organisations as po', 'po.oid', 'p.principal_organisation_oid')
    .select(principalNameColumns);
}

function principalNameColumns(eb: ExpressionBuilder<PowersWithNames, 'p' | 'pc' | 'po'>) {
  return [
    eb.ref('pc.last_name').as('principal_last_name'),
    eb.ref('pc.first_name').as('principal_first_name'),
    eb.ref('pc.middle_name').as('principal_middle_name'),
    eb.ref('po.full_name').as('principal_full_name'),
    eb.ref('po.short_name').as('principal_short_name'),
  ];
}

type PowersWithNames = Database & { p: Database['powers_of_attorney']; pc: Database['citizens']; po: Database['organisations'] };

export interface PrincipalNameColumns {
  principal_kind: PrincipalKind;
  principal_last_name: string | null;
  principal_first_name: string | null;
  principal_middle_name: string | null;
  principal_full_name: string | null;
  principal_short_name: string | null;
}

/** A citizen as "Фамилия Имя Отчество"; an organisation by its short name, else its full name. */
export function principalDisplayName(row: PrincipalNameColumns): string {
  if (row.principal_kind === 'organisation') return row.principal_short_name || row.principal_full_name || '';
  return [row.principal_last_name, row.principal_first_name, row.principal_middle_name].filter(Boolean).join(' ');
}

function toUsablePower(row: PrincipalNameColumns & {
  id: string; principal_citizen_oid: string | null; principal_organisation_oid: string | null; representative_oid: string;
  rights: PoaRight[]; client_ids: string[] | null; valid_to: Date;
}): UsablePower {
  return {
    id: row.id,
    principal: {
      kind: row.principal_kind,
      oid: (row.principal_kind === 'citizen' ? row.principal_citizen_oid : row.principal_organisation_oid) as string,
      displayName: principalDisplayName(row),
    },
    representativeOid: row.representative_oid,
    rights: row.rights,
    clientIds: row.client_ids,
    validTo: row.valid_to,
  };
}

// ─── Rows for the use cases and pages ───────────────────────────────────────────────────────────

/** A power with both sides' names, as the pages and use cases read it. */
export interface PowerRecord {
  id: string;
  principal: { kind: PrincipalKind; oid: string; displayName: string };
  representative: { oid: string; displayName: string };
  rights: PoaRight[];
  clientIds: string[] | null;
  validFrom: Date;
  validTo: Date;
  state: PoaState;
  createdByOid: string;
  createdAt: Date;
  activatedAt: Date | null;
  endedAt: Date | null;
  revokeReason: string | null;
}

function recordsQuery(db: DbOrTrx) {
  return withPrincipalNames(db)
    .innerJoin('citizens as rc', 'rc.oid', 'p.representative_oid')
    .selectAll('p')
    .select(['rc.last_name as representative_last_name', 'rc.first_name as representative_first_name', 'rc.middle_name as representative_middle_name']);
}

type RecordRow = PowerOfAttorneyRow & PrincipalNameColumns & {
  representative_last_name: string; representative_first_name: string; representative_middle_name: string | null;
};

function toRecord(row: RecordRow): PowerRecord {
  return {
    id: row.id,
    principal: {
      kind: row.principal_kind,
      oid: (row.principal_kind === 'citizen' ? row.principal_citizen_oid : row.principal_organisation_oid) as string,
      displayName: principalDisplayName(row),
    },
    representative: {
      oid: row.representative_oid,
      displayName: [row.representative_last_name, row.representative_first_name, row.representative_middle_name].filter(Boolean).join(' '),
    },
    rights: row.rights,
    clientIds: row.client_ids,
    validFrom: row.valid_from,
    validTo: row.valid_to,
    state: row.state,
    createdByOid: row.created_by_oid,
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    endedAt: row.ended_at,
    revokeReason: row.revoke_reason,
  };
}

export async function findPowerRecord(db: DbOrTrx, id: string): Promise<PowerRecord | undefined> {
  if (!isPowerId(id)) return undefined;
  const row = await recordsQuery(db).where('p.id', '=', id).executeTakeFirst();
  return row && toRecord(row);
}

/** Powers a citizen granted in their own name, or that organisations granted, newest first. */
export async function listPowersByPrincipals(db: DbOrTrx, principals: { citizenOid: string; organisationOids: string[] }): Promise<PowerRecord[]> {
  const rows = await recordsQuery(db)
    .where((eb) => eb.or([
      eb('p.principal_citizen_oid', '=', principals.citizenOid),
      ...(principals.organisationOids.length > 0 ? [eb('p.principal_organisation_oid', 'in', principals.organisationOids)] : []),
    ]))
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id', 'desc')
    .execute();
  return rows.map(toRecord);
}

/** Powers the citizen holds as representative; drafts are the principal's business until signed. */
export async function listPowersHeldBy(db: DbOrTrx, representativeOid: string): Promise<PowerRecord[]> {
  const rows = await recordsQuery(db)
    .where('p.representative_oid', '=', representativeOid)
    .where('p.state', '<>', 'draft')
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id', 'desc')
    .execute();
  return rows.map(toRecord);
}

export interface NewDraft {
  principalKind: PrincipalKind;
  principalOid: string;
  representativeOid: string;
  rights: PoaRight[];
  clientIds: string[] | null;
  validFrom: Date;
  validTo: Date;
  createdByOid: string;
  createdAt: Date;
}

export async function insertDraft(db: DbOrTrx, draft: NewDraft): Promise<string> {
  const row = await db
    .insertInto('powers_of_attorney')
    .values({
      principal_kind: draft.principalKind,
      principal_citizen_oid: draft.principalKind === 'citizen' ? draft.principalOid : null,
      principal_organisation_oid: draft.principalKind === 'organisation' ? draft.principalOid : null,
      representative_oid: draft.representativeOid,
      rights: draft.rights,
      client_ids: draft.clientIds,
      valid_from: draft.validFrom,
      valid_to: draft.validTo,
      state: 'draft',
      created_by_oid: draft.createdByOid,
      created_at: draft.createdAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * An active power of the same principal to the same representative that the given one would
 * duplicate: a shared right, overlapping periods and overlapping relying parties (null = all).
 * Two such powers would make "what may this representative do here" ambiguous.
 */
export async function findConflictingActivePower(
  db: DbOrTrx,
  power: { id?: string; principalKind: PrincipalKind; principalOid: string; representativeOid: string; rights: PoaRight[]; clientIds: string[] | null; validFrom: Date; validTo: Date },
  now: Date,
): Promise<{ id: string; rights: PoaRight[] } | undefined> {
  const principalColumn = power.principalKind === 'citizen' ? 'p.principal_citizen_oid' : 'p.principal_organisation_oid';
  let query = db
    .selectFrom('powers_of_attorney as p')
    .select(['p.id', 'p.rights'])
    .where(principalColumn, '=', power.principalOid)
    .where('p.representative_oid', '=', power.representativeOid)
    .where('p.state', '=', 'active')
    .where('p.valid_to', '>', now)
    .where(sql<boolean>`p.rights && ${power.rights}::text[]`)
    .where('p.valid_from', '<', power.validTo)
    .where('p.valid_to', '>', power.validFrom)
    .where(sql<boolean>`(p.client_ids IS NULL OR ${power.clientIds}::text[] IS NULL OR p.client_ids && ${power.clientIds}::text[])`)
    .orderBy('p.id')
    .limit(1);
  if (power.id) query = query.where('p.id', '<>', power.id);
  return query.executeTakeFirst();
}

/**
 * Serialises every change to the powers a representative holds (create and activate check for
 * duplicates, then write): two concurrent activations for the same pair cannot both pass the check.
 * The representative's row is the one lock every such change shares, on PostgreSQL and PGlite alike.
 */
export async function lockRepresentative(trx: DbOrTrx, representativeOid: string): Promise<boolean> {
  const row = await trx.selectFrom('citizens').select('oid').where('oid', '=', representativeOid).forNoKeyUpdate().executeTakeFirst();
  return row !== undefined;
}

/**
 * The citizen a principal names by SNILS: only an account whose SNILS the registries verified
 * (standard or confirmed level) — a SNILS typed into a simplified account proves nothing — and never
 * an account linked into another (src/merge: its powers live on the primary).
 *
 * Verified accounts may share a SNILS until their owner links them (the registry tied each to the
 * same person), so this is one person with duplicate accounts, not an ambiguity between people: the
 * power goes to the account a login by that SNILS opens — the confirmed one, then the oldest
 * (`findCitizenByLogin`) — and follows it should the accounts be linked later. Refusing instead
 * would tell the principal about someone else's accounts and ask them to fix what only that person can.
 */
export async function findRepresentativeBySnils(db: DbOrTrx, snils: string): Promise<{ oid: string } | undefined> {
  const holder = await findCitizenByLogin(db, { kind: 'snils', value: snils });
  // Primaries rank before aliases and verified before simplified: anything else here means no verified primary holds it.
  return holder && holder.merged_into_oid === null && holder.trust_level !== 'simplified' ? { oid: holder.oid } : undefined;
}

/**
 * Whether the account a draft names may still be given the power when it is signed: the same test
 * as naming it by SNILS (findRepresentativeBySnils) — a SNILS the registries verified (standard or
 * confirmed) on an account not linked into another — since the draft may have waited while the
 * account dropped to simplified, lost its SNILS or was linked into a duplicate (src/merge).
 */
export async function isEligibleRepresentative(db: DbOrTrx, representativeOid: string): Promise<boolean> {
  const row = await db
    .selectFrom('citizens')
    .select('oid')
    .where('oid', '=', representativeOid)
    .where('merged_into_oid', 'is', null)
    .where('snils', 'is not', null)
    .where('trust_level', 'in', ['standard', 'confirmed'])
    .executeTakeFirst();
  return row !== undefined;
}

/** Whether this account holds this SNILS as verified: naming it is naming oneself, whichever duplicate account holds the power. */
export async function holdsVerifiedSnils(db: DbOrTrx, citizenOid: string, snils: string): Promise<boolean> {
  const row = await db.selectFrom('citizens').select('oid').where('oid', '=', citizenOid).where('snils', '=', snils).where('trust_level', 'in', ['standard', 'confirmed']).executeTakeFirst();
  return row !== undefined;
}

/** The relying parties a power may be limited to (by name). */
export async function listRelyingParties(db: DbOrTrx): Promise<Array<{ clientId: string; name: string }>> {
  const rows = await db.selectFrom('oidc_clients').select(['client_id', 'name']).orderBy('name').orderBy('client_id').execute();
  return rows.map((r) => ({ clientId: r.client_id, name: r.name }));
}

/**
 * The citizens who act for an organisation in its powers of attorney: its head and admins. They
 * sign its powers and hear about them.
 */
export async function listOrganisationManagers(db: DbOrTrx, organisationOid: string): Promise<string[]> {
  const rows = await db
    .selectFrom('organisation_members')
    .select('citizen_oid')
    .where('organisation_oid', '=', organisationOid)
    .where(sql<boolean>`roles && ARRAY['chief', 'admin']::text[]`)
    .orderBy('citizen_oid')
    .execute();
  return rows.map((r) => r.citizen_oid);
}
