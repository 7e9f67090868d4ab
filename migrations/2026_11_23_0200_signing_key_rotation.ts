import { sql, type Kysely } from 'kysely';

/**
 * Signing keys get a life cycle for rotation: `next` (published in the JWKS, not yet signing),
 * `current` (signs), `retired` (still published so tokens it signed verify, until they expire).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('signing_keys')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('current').check(sql`status IN ('next', 'current', 'retired')`))
    .addColumn('activated_at', 'timestamptz')
    .addColumn('retired_at', 'timestamptz')
    .execute();
  await sql`UPDATE signing_keys SET activated_at = created_at`.execute(db);
  // One signing key per algorithm at a time.
  await db.schema.createIndex('signing_keys_one_current_per_alg').unique().on('signing_keys').column('alg').where(sql.ref('status'), '=', 'current').execute();
  await db.schema.createIndex('signing_keys_one_next_per_alg').unique().on('signing_keys').column('alg').where(sql.ref('status'), '=', 'next').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_next_per_alg').execute();
  await db.schema.dropIndex('signing_keys_one_current_per_alg').execute();
  for (const column of ['retired_at', 'activated_at', 'status']) await db.schema.alterTable('signing_keys').dropColumn(column).execute();
}
