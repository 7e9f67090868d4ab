import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import { CHILD_ACCOUNT, CHILD_PARENT, moveColumn, returnColumn } from './tracked-columns.ts';

/**
 * Children (src/family) between the accounts of one group: a parent's records of their children,
 * and the 14+ link that names an account as the child.
 *
 * A parent has one record per birth certificate. When both accounts registered the same child, the
 * record the receiving account holds stays (its check and link go on as they were) and the other one
 * leaves the tables whole, into `merge_moved_rows` (kind `child_copy`, under its own id): once its
 * account leaves the group it comes back under that id, and so does any copy of a record that has
 * since left the group's primary (the group keeps one record of the child).
 */
export interface ChildrenMoved {
  records: number;
  links: number;
}

export async function transferChildren(trx: DbOrTrx, from: string, to: string): Promise<ChildrenMoved> {
  const duplicates = await sql<{ id: string }>`
    SELECT f.id::text AS id FROM children f
      JOIN children t ON t.parent_oid = ${to} AND t.cert_series = f.cert_series AND t.cert_number = f.cert_number
     WHERE f.parent_oid = ${from}
     ORDER BY f.id`.execute(trx);
  for (const { id } of duplicates.rows) {
    // Whose it was: its tracked origin if it had moved before, else `from`'s own.
    const tracked = await trx.deleteFrom('merge_moved_rows').where('kind', '=', 'child').where('row_id', '=', id).returning('origin_oid').executeTakeFirst();
    await sql`
      INSERT INTO merge_moved_rows (kind, row_id, origin_oid, snapshot)
      SELECT 'child_copy', c.id::text, ${tracked?.origin_oid ?? from}::bigint, to_jsonb(c) FROM children c WHERE c.id = ${id}::bigint`.execute(trx);
    await trx.deleteFrom('children').where('id', '=', id).execute();
  }
  const records = await moveColumn(trx, CHILD_PARENT, from, to);
  const links = await moveColumn(trx, CHILD_ACCOUNT, from, to);
  return { records: records.length + duplicates.rows.length, links: links.length };
}

/** Gives `origin` back its records and its links held by `holder` (the group's primary). */
export async function returnChildren(trx: DbOrTrx, origin: string, holder: string): Promise<ChildrenMoved> {
  let records = (await returnColumn(trx, CHILD_PARENT, origin, holder)).length;
  const links = (await returnColumn(trx, CHILD_ACCOUNT, origin, holder)).length;
  for (const copy of await copiesOf(trx, [origin])) if (await restoreCopy(trx, copy.rowId, origin)) records++;

  // A record that went back may leave the primary without the child: a copy another account of
  // the group (or the primary itself) kept becomes the group's record again.
  const others = await trx.selectFrom('citizens').select('oid').where((eb) => eb.or([eb('oid', '=', holder), eb('merged_into_oid', '=', holder)])).where('oid', '<>', origin).execute();
  for (const copy of await copiesOf(trx, others.map((o) => o.oid))) {
    if (!(await restoreCopy(trx, copy.rowId, holder))) continue;
    await trx.deleteFrom('merge_moved_rows').where('kind', '=', 'child_copy').where('row_id', '=', copy.rowId).execute();
    if (copy.origin !== holder) await trx.insertInto('merge_moved_rows').values({ kind: 'child', row_id: copy.rowId, origin_oid: copy.origin }).execute();
  }
  return { records, links };
}

async function copiesOf(trx: DbOrTrx, origins: string[]): Promise<Array<{ rowId: string; origin: string }>> {
  if (origins.length === 0) return [];
  const rows = await trx
    .selectFrom('merge_moved_rows')
    .select(['row_id', 'origin_oid'])
    .where('kind', '=', 'child_copy')
    .where('origin_oid', 'in', origins)
    .orderBy(sql`row_id::bigint`)
    .execute();
  return rows.map((r) => ({ rowId: r.row_id, origin: r.origin_oid }));
}

/**
 * Puts a kept record back under its own id as `parentOid`'s, unless that account already has a
 * record with this certificate. A link to a child's account that is gone or linked away meanwhile
 * is dropped (the parent may offer it again). Returns whether it was put back.
 */
async function restoreCopy(trx: DbOrTrx, rowId: string, parentOid: string): Promise<boolean> {
  const restored = await sql`
    INSERT INTO children OVERRIDING SYSTEM VALUE
    SELECT (jsonb_populate_record(NULL::children,
             m.snapshot || jsonb_build_object('parent_oid', ${parentOid}::bigint)
             || CASE WHEN EXISTS (SELECT 1 FROM citizens c WHERE c.oid = (m.snapshot->>'child_oid')::bigint AND c.merged_into_oid IS NULL AND c.oid <> ${parentOid}::bigint)
                     THEN '{}'::jsonb
                     ELSE jsonb_build_object('child_oid', NULL, 'link_state', NULL, 'link_changed_at', NULL) END)).*
      FROM merge_moved_rows m
     WHERE m.kind = 'child_copy' AND m.row_id = ${rowId}
       AND NOT EXISTS (SELECT 1 FROM children k WHERE k.parent_oid = ${parentOid}::bigint AND k.cert_series = m.snapshot->>'cert_series' AND k.cert_number = m.snapshot->>'cert_number')`.execute(trx);
  return Number(restored.numAffectedRows ?? 0n) > 0;
}
