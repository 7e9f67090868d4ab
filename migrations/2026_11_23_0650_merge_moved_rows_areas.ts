import { sql, type Kysely } from 'kysely';

/**
 * Linking accounts (src/merge) also moves what the other account holds in the areas of issue 7:
 * organisation memberships, children's records (as a parent) and the 14+ link (as the child), powers
 * of attorney (principal, representative, drafter). `merge_moved_rows` tracks them like grants, plus
 * a `snapshot` where a row cannot simply move: a membership merged into the survivor's row (each
 * account's own roles), a child's record the survivor holds too (the alias's record, whole).
 */
const KINDS = ['grant', 'login_attempt', 'org_membership', 'child', 'child_copy', 'child_link', 'power_principal', 'power_representative', 'power_creator'];
const OLD_KINDS = ['grant', 'login_attempt'];

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('merge_moved_rows').addColumn('snapshot', 'jsonb').execute();
  await sql`ALTER TABLE merge_moved_rows DROP CONSTRAINT merge_moved_rows_kind_check`.execute(db);
  await db.schema.alterTable('merge_moved_rows').addCheckConstraint('merge_moved_rows_kind_check', sql`kind IN (${sql.join(KINDS.map((k) => sql.lit(k)))})`).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('merge_moved_rows').where('kind', 'not in', OLD_KINDS).execute();
  await sql`ALTER TABLE merge_moved_rows DROP CONSTRAINT merge_moved_rows_kind_check`.execute(db);
  await db.schema.alterTable('merge_moved_rows').addCheckConstraint('merge_moved_rows_kind_check', sql`kind IN (${sql.join(OLD_KINDS.map((k) => sql.lit(k)))})`).execute();
  await db.schema.alterTable('merge_moved_rows').dropColumn('snapshot').execute();
}
