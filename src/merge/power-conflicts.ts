import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { ConflictingPower } from './merge-rules.ts';

/**
 * Powers of attorney (src/powers) that must end before two accounts become one: a power from one
 * account to the other (a person cannot represent themselves), and powers both accounts gave the
 * same representative with a right in common (the representative would hold two overlapping powers
 * from one principal). Drafts count too — activating one after the link would recreate the clash;
 * expired and revoked powers, and active ones past their end, do not.
 *
 * And the other way round: one principal (a citizen or an organisation) gave both accounts powers
 * sharing a right — after the link the survivor would hold two overlapping powers from it. Only
 * active ones count here: the accounts' owner cannot see or discard the principal's drafts (the
 * powers area refuses to sign such a draft once the accounts are one), but can renounce a power.
 */
export async function findConflictingPowers(db: DbOrTrx, a: string, b: string, now: Date): Promise<ConflictingPower[]> {
  const active = (alias: 'p' | 'q') => sql<boolean>`(${sql.ref(`${alias}.state`)} = 'active' AND ${sql.ref(`${alias}.valid_to`)} > ${now})`;
  const inForce = (alias: 'p' | 'q') => sql<boolean>`(${sql.ref(`${alias}.state`)} = 'draft' OR (${sql.ref(`${alias}.state`)} = 'active' AND ${sql.ref(`${alias}.valid_to`)} > ${now}))`;

  const between = await db
    .selectFrom('powers_of_attorney as p')
    .select(['p.id', 'p.principal_citizen_oid', 'p.representative_oid'])
    .where('p.principal_kind', '=', 'citizen')
    .where((eb) => eb.or([
      eb.and([eb('p.principal_citizen_oid', '=', a), eb('p.representative_oid', '=', b)]),
      eb.and([eb('p.principal_citizen_oid', '=', b), eb('p.representative_oid', '=', a)]),
    ]))
    .where(inForce('p'))
    .orderBy('p.id')
    .execute();

  // Pairs (p from one account, q from the other) to one representative with a shared right.
  const shared = await db
    .selectFrom('powers_of_attorney as p')
    .innerJoin('powers_of_attorney as q', (join) => join.onRef('q.representative_oid', '=', 'p.representative_oid'))
    .select(['p.id', 'p.principal_citizen_oid', 'p.representative_oid'])
    .where('p.principal_kind', '=', 'citizen')
    .where('q.principal_kind', '=', 'citizen')
    .where('p.principal_citizen_oid', 'in', [a, b])
    .where('q.principal_citizen_oid', 'in', [a, b])
    .whereRef('q.principal_citizen_oid', '<>', 'p.principal_citizen_oid')
    .where(sql<boolean>`p.rights && q.rights`)
    .where(inForce('p'))
    .where(inForce('q'))
    .orderBy('p.id')
    .execute();

  // Pairs (p to one account, q to the other) from one principal with a shared right.
  const samePrincipal = await db
    .selectFrom('powers_of_attorney as p')
    .innerJoin('powers_of_attorney as q', (join) => join
      .onRef('q.principal_kind', '=', 'p.principal_kind')
      .on(sql<boolean>`(q.principal_citizen_oid IS NOT DISTINCT FROM p.principal_citizen_oid AND q.principal_organisation_oid IS NOT DISTINCT FROM p.principal_organisation_oid)`))
    .select(['p.id', 'p.principal_citizen_oid', 'p.principal_organisation_oid', 'p.representative_oid'])
    .where('p.representative_oid', 'in', [a, b])
    .where('q.representative_oid', 'in', [a, b])
    .whereRef('q.representative_oid', '<>', 'p.representative_oid')
    .where(sql<boolean>`p.rights && q.rights`)
    .where(active('p'))
    .where(active('q'))
    .orderBy('p.id')
    .execute();

  const powers = new Map<string, ConflictingPower>();
  for (const row of between) powers.set(row.id, { id: row.id, principalOid: row.principal_citizen_oid!, representativeOid: row.representative_oid, kind: 'between_accounts' });
  for (const row of shared) if (!powers.has(row.id)) powers.set(row.id, { id: row.id, principalOid: row.principal_citizen_oid!, representativeOid: row.representative_oid, kind: 'same_representative' });
  for (const row of samePrincipal) {
    if (!powers.has(row.id)) powers.set(row.id, { id: row.id, principalOid: (row.principal_citizen_oid ?? row.principal_organisation_oid)!, representativeOid: row.representative_oid, kind: 'same_principal' });
  }
  return [...powers.values()].sort((x, y) => Number(x.id) - Number(y.id));
}
