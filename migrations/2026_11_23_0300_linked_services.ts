import { sql, type Kysely } from 'kysely';

/**
 * Consents (oidc-provider grants) are remembered across sessions and listed as the citizen's
 * linked services: an index to find a citizen's grants, and when each was last used.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX oidc_payloads_grant_owner_idx ON oidc_payloads ((payload->>'accountId'), (payload->>'clientId')) WHERE model = 'Grant'`.execute(db);
  await db.schema
    .createTable('grant_activity')
    .addColumn('grant_id', 'text', (c) => c.primaryKey())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('grant_activity_citizen_idx').on('grant_activity').column('citizen_oid').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('grant_activity').execute();
  await sql`DROP INDEX oidc_payloads_grant_owner_idx`.execute(db);
}
