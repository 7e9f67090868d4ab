import { sql, type Kysely } from 'kysely';

/** The prune run also deletes abandoned contact changes and merge flows (src/oidc/prune.ts): an index for each. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX contact_change_flows_expires_at_idx ON contact_change_flows (expires_at)`.execute(db);
  await sql`CREATE INDEX merge_flows_expires_at_idx ON merge_flows (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS merge_flows_expires_at_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS contact_change_flows_expires_at_idx`.execute(db);
}
