import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import type { MovedRowKind } from './merge.tables.ts';

/**
 * Rows that name an account in one column and simply change hands with it: a child's record (its
 * parent), the 14+ link (the child), a power of attorney (principal, representative, drafter). Each
 * moved row is tracked in `merge_moved_rows` under its id with the account it was made for, the way
 * login history is (moved-rows.ts), so «Отвязать» returns exactly those rows.
 */
export interface TrackedColumn {
  kind: MovedRowKind;
  table: 'children' | 'powers_of_attorney';
  column: 'parent_oid' | 'child_oid' | 'principal_citizen_oid' | 'representative_oid' | 'created_by_oid';
}

export const CHILD_PARENT: TrackedColumn = { kind: 'child', table: 'children', column: 'parent_oid' };
export const CHILD_ACCOUNT: TrackedColumn = { kind: 'child_link', table: 'children', column: 'child_oid' };
export const POWER_COLUMNS: readonly TrackedColumn[] = [
  { kind: 'power_principal', table: 'powers_of_attorney', column: 'principal_citizen_oid' },
  { kind: 'power_representative', table: 'powers_of_attorney', column: 'representative_oid' },
  { kind: 'power_creator', table: 'powers_of_attorney', column: 'created_by_oid' },
];

/** Moves every row naming `from` in this column to `to`; returns their ids. */
export async function moveColumn(trx: DbOrTrx, spec: TrackedColumn, from: string, to: string): Promise<string[]> {
  const table = sql.table(spec.table);
  const column = sql.ref(spec.column);
  // Rows not tracked yet were made for `from`; rows made for `to` are home again.
  await sql`
    INSERT INTO merge_moved_rows (kind, row_id, origin_oid)
    SELECT ${spec.kind}::text, id::text, ${from}::bigint FROM ${table} WHERE ${column} = ${from}
    ON CONFLICT (kind, row_id) DO NOTHING`.execute(trx);
  await sql`
    DELETE FROM merge_moved_rows m USING ${table} t
     WHERE m.kind = ${spec.kind} AND m.row_id = t.id::text AND ${sql.ref(`t.${spec.column}`)} = ${from} AND m.origin_oid = ${to}`.execute(trx);
  const moved = await sql<{ id: string }>`UPDATE ${table} SET ${column} = ${to} WHERE ${column} = ${from} RETURNING id::text AS id`.execute(trx);
  return moved.rows.map((r) => r.id);
}

/** Sends the rows made for `origin` back to it from `holder`; returns their ids. */
export async function returnColumn(trx: DbOrTrx, spec: TrackedColumn, origin: string, holder: string): Promise<string[]> {
  const returned = await sql<{ id: string }>`
    UPDATE ${sql.table(spec.table)} t SET ${sql.ref(spec.column)} = ${origin}
      FROM merge_moved_rows m
     WHERE m.kind = ${spec.kind} AND m.row_id = t.id::text AND m.origin_oid = ${origin} AND ${sql.ref(`t.${spec.column}`)} = ${holder}
    RETURNING t.id::text AS id`.execute(trx);
  return returned.rows.map((r) => r.id);
}
