import { sql, type Kysely } from 'kysely';

/**
 * Mos.ru's schema: local accounts, server-side sessions and login transactions, registrations
 * started through Госуслуги, bindings to an IdP account and the data synced through them.
 * Everything lives in the `mosru` schema; nothing references the IdP's tables.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS mosru`.execute(db);
  const schema = db.schema.withSchema('mosru');

  await schema
    .createTable('accounts')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('middle_name', 'text')
    .addColumn('birth_date', 'date', (c) => c.notNull())
    .addColumn('snils', 'text', (c) => c.check(sql`snils ~ '^[0-9]{11}$'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('accounts_email_lowercase', sql`email = lower(email)`)
    .execute();

  await schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'bigint', (c) => c.notNull().references('mosru.accounts.id').onDelete('cascade'))
    .addColumn('oidc_sub', 'text')
    .addColumn('oidc_sid', 'text')
    .addColumn('id_token', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await schema.createIndex('sessions_oidc_sid_idx').on('sessions').column('oidc_sid').where(sql.ref('oidc_sid'), 'is not', null).execute();
  await schema.createIndex('sessions_oidc_sub_idx').on('sessions').column('oidc_sub').where(sql.ref('oidc_sub'), 'is not', null).execute();
  await schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();

  await schema
    .createTable('login_transactions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose IN ('bind', 'login')`))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('account_id', 'bigint', (c) => c.references('mosru.accounts.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('login_transactions_bind_has_account', sql`purpose <> 'bind' OR account_id IS NOT NULL`)
    .execute();
  await schema.createIndex('login_transactions_expires_at_idx').on('login_transactions').column('expires_at').execute();

  await schema
    .createTable('pending_registrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('oid', 'text', (c) => c.notNull())
    .addColumn('oidc_sid', 'text')
    .addColumn('id_token', 'text', (c) => c.notNull())
    .addColumn('profile', 'jsonb', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await schema.createIndex('pending_registrations_expires_at_idx').on('pending_registrations').column('expires_at').execute();

  // One binding per account and one account per OID: the unique keys settle races between two binds.
  await schema
    .createTable('bindings')
    .addColumn('account_id', 'bigint', (c) => c.primaryKey().references('mosru.accounts.id').onDelete('cascade'))
    .addColumn('oid', 'text', (c) => c.notNull().unique())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('bound_at', 'timestamptz', (c) => c.notNull())
    .addColumn('refresh_token_sealed', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('connected', 'disconnected')`))
    .addColumn('disconnected_reason', 'text')
    .addColumn('disconnected_at', 'timestamptz')
    .addColumn('last_synced_at', 'timestamptz')
    .addColumn('refresh_lease_until', 'timestamptz')
    .addCheckConstraint('bindings_disconnected_has_reason', sql`status = 'connected' OR disconnected_reason IS NOT NULL`)
    .execute();

  await schema
    .createTable('synced_profiles')
    .addColumn('account_id', 'bigint', (c) => c.primaryKey().references('mosru.accounts.id').onDelete('cascade'))
    .addColumn('last_name', 'text')
    .addColumn('first_name', 'text')
    .addColumn('middle_name', 'text')
    .addColumn('birth_date', 'date')
    .addColumn('snils', 'text')
    .addColumn('phone', 'text')
    .addColumn('email', 'text')
    .addColumn('passport', 'jsonb')
    .addColumn('addresses', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('medical_policy', 'jsonb')
    .addColumn('synced_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP SCHEMA IF EXISTS mosru CASCADE`.execute(db);
}
