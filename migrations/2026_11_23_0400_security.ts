import { sql, type Kysely } from 'kysely';

/**
 * Authentication hardening: second factors (TOTP, SMS, recovery codes), logins waiting for their
 * second factor, brute-force counters shared by every instance, and the citizen's login history.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // One row per citizen who ever started setting up a second factor. Secrets are sealed
  // (AES-256-GCM, ENCRYPTION_KEY): TOTP needs the secret itself, so it cannot be hashed.
  await db.schema
    .createTable('second_factors')
    .addColumn('citizen_oid', 'bigint', (c) => c.primaryKey().references('citizens.oid').onDelete('cascade'))
    .addColumn('totp_secret_sealed', 'text')
    .addColumn('totp_enabled_at', 'timestamptz')
    // The last accepted time step: a code is accepted only for a later step, so it cannot be replayed.
    .addColumn('totp_last_step', 'bigint')
    // Shown on the enrolment page; becomes the secret only after a correct code.
    .addColumn('totp_pending_sealed', 'text')
    .addColumn('totp_pending_created_at', 'timestamptz')
    .addColumn('sms_enabled_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('second_factors_totp_has_secret', sql`totp_enabled_at IS NULL OR totp_secret_sealed IS NOT NULL`)
    .execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    // HMAC-SHA256 under the server's code key, over "<oid>:<code>".
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('recovery_codes_citizen_hash_key', ['citizen_oid', 'code_hash'])
    .execute();

  // The password was right; the second factor is still to come. Keyed by the OIDC interaction, which
  // oidc-provider binds to the browser's cookie: the "password checked" state never leaves the server.
  await db.schema
    .createTable('pending_logins')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('interaction_uid', 'text', (c) => c.notNull().unique())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    // The brute-force counter to clear once the whole login succeeds (null for a step-up).
    .addColumn('throttle_key', 'text')
    .addColumn('attempts_left', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // Failed logins per typed identifier, whether or not an account has it (no enumeration).
  await db.schema
    .createTable('login_throttles')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('locked_until', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // Fixed-window counters (per IP, per client): one upsert per request, shared by all instances.
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull())
    .addColumn('reset_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_limits_reset_at_idx').on('rate_limits').column('reset_at').execute();

  await db.schema
    .createTable('login_attempts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    // "<browser family>/<OS>|<IP network>": what "the same device" means for new-device notices.
    .addColumn('device_key', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull().check(sql`method IN ('pwd', 'otp', 'sms', 'recovery')`))
    .addColumn('client_id', 'text')
    .addColumn('client_name', 'text')
    .addColumn('succeeded', 'boolean', (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();
  await db.schema.createIndex('login_attempts_citizen_idx').on('login_attempts').columns(['citizen_oid', 'created_at']).execute();
  await db.schema.createIndex('login_attempts_device_idx').on('login_attempts').columns(['citizen_oid', 'device_key']).where(sql.ref('succeeded'), '=', true).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['login_attempts', 'rate_limits', 'login_throttles', 'pending_logins', 'recovery_codes', 'second_factors']) {
    await db.schema.dropTable(table).execute();
  }
}
