import { sql, type Kysely } from 'kysely';

/**
 * Citizens' identity data, the flows that change it (registration, recovery, contact change),
 * one-time codes, the notification outbox, registry checks, trust confirmation and the audit log.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('citizens')
    .addColumn('snils', 'text', (c) => c.check(sql`snils ~ '^[0-9]{11}$'`))
    .addColumn('inn', 'text', (c) => c.check(sql`inn ~ '^[0-9]{12}$'`))
    .addColumn('birth_date', 'date')
    .addColumn('gender', 'text', (c) => c.check(sql`gender IN ('M', 'F')`))
    .addColumn('birth_place', 'text')
    .addColumn('citizenship', 'text')
    .execute();
  await db.schema.createIndex('citizens_snils_key').unique().on('citizens').column('snils').execute();

  await db.schema
    .createTable('citizen_documents')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type IN ('RF_PASSPORT')`))
    .addColumn('series', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('issue_date', 'date', (c) => c.notNull())
    .addColumn('issue_id', 'text', (c) => c.notNull())
    .addColumn('issued_by', 'text', (c) => c.notNull())
    .addColumn('vrf_status', 'text', (c) => c.notNull().defaultTo('not_verified').check(sql`vrf_status IN ('not_verified', 'verifying', 'verified', 'rejected')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('citizen_documents_one_per_type', ['citizen_oid', 'type'])
    .execute();

  await db.schema
    .createTable('citizen_addresses')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    // ESIA types: PRG = registration (прописка), PLV = actual residence.
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type IN ('PRG', 'PLV')`))
    .addColumn('address_str', 'text', (c) => c.notNull())
    .addColumn('zip_code', 'text')
    .addColumn('region', 'text')
    .addColumn('city', 'text')
    .addColumn('street', 'text')
    .addColumn('house', 'text')
    .addColumn('flat', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('citizen_addresses_one_per_type', ['citizen_oid', 'type'])
    .execute();

  // Self-service journeys are rows with a state and an expiry: they survive restarts and work
  // across instances. The code each one sends lives in one_time_codes.
  await db.schema
    .createTable('registration_flows')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('awaiting_code').check(sql`state IN ('awaiting_code', 'completed', 'failed')`))
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('middle_name', 'text')
    .addColumn('contact_kind', 'text', (c) => c.notNull().check(sql`contact_kind IN ('phone', 'email')`))
    .addColumn('contact_value', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('interaction_uid', 'text')
    .addColumn('citizen_oid', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('recovery_flows')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('awaiting_code').check(sql`state IN ('awaiting_code', 'code_verified', 'completed', 'failed')`))
    .addColumn('contact_kind', 'text', (c) => c.notNull().check(sql`contact_kind IN ('phone', 'email')`))
    .addColumn('contact_value', 'text', (c) => c.notNull())
    // Null when nobody has that contact: the flow looks the same, so it reveals nothing.
    .addColumn('citizen_oid', 'bigint', (c) => c.references('citizens.oid').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('contact_change_flows')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('awaiting_code').check(sql`state IN ('awaiting_code', 'completed', 'failed')`))
    .addColumn('contact_kind', 'text', (c) => c.notNull().check(sql`contact_kind IN ('phone', 'email')`))
    .addColumn('new_value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('one_time_codes')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('flow_id', 'uuid', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel IN ('sms', 'email', 'post')`))
    .addColumn('recipient', 'text', (c) => c.notNull())
    // HMAC-SHA256 under a server key: a leaked table does not give away six-digit codes.
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('attempts_left', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('consumed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('one_time_codes_flow_idx').on('one_time_codes').columns(['purpose', 'flow_id', 'created_at']).execute();
  await db.schema.createIndex('one_time_codes_recipient_idx').on('one_time_codes').columns(['recipient', 'created_at']).execute();

  await db.schema
    .createTable('outbox_messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel IN ('sms', 'email', 'post')`))
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued').check(sql`status IN ('queued', 'sent', 'abandoned')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // A worker that claims a message leases it; a crashed worker's lease simply runs out.
    .addColumn('leased_until', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('outbox_messages_due_idx').on('outbox_messages').column('next_attempt_at').where(sql.ref('status'), '=', 'queued').execute();
  await db.schema.createIndex('outbox_messages_recipient_idx').on('outbox_messages').columns(['recipient', 'created_at']).execute();

  await db.schema
    .createTable('registry_checks')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status IN ('pending', 'verified', 'rejected', 'superseded')`))
    // The data as submitted: the check verifies exactly this, even if the citizen edits meanwhile.
    .addColumn('snapshot', 'jsonb', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('leased_until', 'timestamptz')
    .addColumn('reason_code', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('registry_checks_due_idx').on('registry_checks').column('next_attempt_at').where(sql.ref('status'), '=', 'pending').execute();
  await db.schema.createIndex('registry_checks_citizen_idx').on('registry_checks').columns(['citizen_oid', 'created_at']).execute();

  // The mock state registries (МВД passports, СФР/ПФР SNILS): which people "exist".
  await db.schema
    .createTable('mock_registry_persons')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('middle_name', 'text')
    .addColumn('birth_date', 'date', (c) => c.notNull())
    .addColumn('snils', 'text', (c) => c.unique())
    .addColumn('passport_series', 'text')
    .addColumn('passport_number', 'text')
    .addColumn('passport_valid', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();
  await db.schema.createIndex('mock_registry_passport_idx').unique().on('mock_registry_persons').columns(['passport_series', 'passport_number']).execute();

  await db.schema
    .createTable('staff_roles')
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('operator')`))
    .addColumn('service_centre', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('staff_roles_pkey', ['citizen_oid', 'role'])
    .execute();

  await db.schema
    .createTable('confirmation_letters')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('sent').check(sql`state IN ('sent', 'confirmed', 'locked', 'expired')`))
    .addColumn('address_str', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();

  // No foreign key to citizens: the trail outlives a deleted account (without personal data).
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('citizen_oid', 'bigint')
    .addColumn('actor', 'jsonb', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('request_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('audit_events_citizen_idx').on('audit_events').columns(['citizen_oid', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'audit_events', 'confirmation_letters', 'staff_roles', 'mock_registry_persons', 'registry_checks', 'outbox_messages',
    'one_time_codes', 'contact_change_flows', 'recovery_flows', 'registration_flows', 'citizen_addresses', 'citizen_documents',
  ]) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.dropIndex('citizens_snils_key').execute();
  for (const column of ['snils', 'inn', 'birth_date', 'gender', 'birth_place', 'citizenship']) {
    await db.schema.alterTable('citizens').dropColumn(column).execute();
  }
}
