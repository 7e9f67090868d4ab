import { sql, type Kysely } from 'kysely';

/**
 * Sessions and the account's life cycle: the device and address each single sign-on session was
 * opened from (oidc-provider's Session payload does not hold them), the citizen's notification
 * channels, and an index to find a citizen's sessions.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Keyed by the Session's uid: it stays the same for the life of a session, while the Session's
  // id (the cookie value) changes at every sign-in.
  await db.schema
    .createTable('session_devices')
    .addColumn('session_uid', 'text', (c) => c.primaryKey())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('user_agent', 'text')
    .addColumn('ip', 'text')
    .addColumn('signed_in_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('session_devices_citizen_idx').on('session_devices').column('citizen_oid').execute();

  await db.schema
    .createTable('notification_preferences')
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('logins', 'security', 'linked_services')`))
    .addColumn('email', 'boolean', (c) => c.notNull())
    .addColumn('sms', 'boolean', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('notification_preferences_pkey', ['citizen_oid', 'kind'])
    // Security notices can never be switched off entirely.
    .addCheckConstraint('notification_preferences_security_on', sql`kind <> 'security' OR email OR sms`)
    .execute();

  await sql`CREATE INDEX oidc_payloads_session_owner_idx ON oidc_payloads ((payload->>'accountId')) WHERE model = 'Session'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX oidc_payloads_session_owner_idx`.execute(db);
  await db.schema.dropTable('notification_preferences').execute();
  await db.schema.dropTable('session_devices').execute();
}
