import { sql, type Kysely } from 'kysely';

/**
 * The foundation: citizens with ESIA-like numeric OIDs, oidc-provider's stored artifacts, clients,
 * signing keys and (development only) generated instance secrets.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // OIDs are never reused: a sequence, not max()+1, and no cycling.
  await sql`CREATE SEQUENCE citizen_oid_seq START WITH 1000000001 MINVALUE 1000000001 NO CYCLE`.execute(db);

  await db.schema
    .createTable('citizens')
    .addColumn('oid', 'bigint', (c) => c.primaryKey().defaultTo(sql`nextval('citizen_oid_seq')`))
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('middle_name', 'text')
    .addColumn('phone', 'text')
    .addColumn('email', 'text')
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('trust_level', 'text', (c) => c.notNull().defaultTo('simplified').check(sql`trust_level IN ('simplified', 'standard', 'confirmed')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('citizens_has_contact', sql`phone IS NOT NULL OR email IS NOT NULL`)
    .addCheckConstraint('citizens_phone_format', sql`phone ~ '^7[0-9]{10}$'`)
    .addCheckConstraint('citizens_email_lowercase', sql`email = lower(email)`)
    .execute();
  await sql`ALTER SEQUENCE citizen_oid_seq OWNED BY citizens.oid`.execute(db);
  await db.schema.createIndex('citizens_phone_key').unique().on('citizens').column('phone').execute();
  await db.schema.createIndex('citizens_email_key').unique().on('citizens').column('email').execute();

  // One table for every oidc-provider model; the fields it looks rows up by are lifted into columns.
  await db.schema
    .createTable('oidc_payloads')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('user_code', 'text')
    .addColumn('uid', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('consumed_at', 'timestamptz')
    .addPrimaryKeyConstraint('oidc_payloads_pkey', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_payloads_grant_id_idx').on('oidc_payloads').columns(['grant_id']).where(sql.ref('grant_id'), 'is not', null).execute();
  await db.schema.createIndex('oidc_payloads_uid_idx').on('oidc_payloads').columns(['model', 'uid']).where(sql.ref('uid'), 'is not', null).execute();
  await db.schema.createIndex('oidc_payloads_user_code_idx').on('oidc_payloads').columns(['model', 'user_code']).where(sql.ref('user_code'), 'is not', null).execute();
  await db.schema.createIndex('oidc_payloads_expires_at_idx').on('oidc_payloads').column('expires_at').execute();

  await db.schema
    .createTable('oidc_clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    // oidc-provider client metadata without the secret.
    .addColumn('metadata', 'jsonb', (c) => c.notNull())
    // AES-256-GCM sealed; oidc-provider compares secrets in plain text, so they cannot be hashed.
    .addColumn('secret_sealed', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('private_jwk_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Development only: secrets generated on first start so sessions survive restarts without setup.
  await db.schema
    .createTable('instance_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['instance_secrets', 'signing_keys', 'oidc_clients', 'oidc_payloads', 'citizens']) {
    await db.schema.dropTable(table).execute();
  }
}
