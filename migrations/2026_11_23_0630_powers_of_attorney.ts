import { sql, type Kysely } from 'kysely';

/**
 * Powers of attorney: a principal (a citizen, or an organisation through its head or an admin)
 * lets a representative act for them with rights from a fixed catalogue, at every or some
 * relying parties, for a period. States: draft → active → expired | revoked.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('powers_of_attorney')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('principal_kind', 'text', (c) => c.notNull().check(sql`principal_kind IN ('citizen', 'organisation')`))
    .addColumn('principal_citizen_oid', 'bigint', (c) => c.references('citizens.oid'))
    .addColumn('principal_organisation_oid', 'bigint', (c) => c.references('organisations.oid').onDelete('cascade'))
    .addColumn('representative_oid', 'bigint', (c) => c.notNull().references('citizens.oid'))
    .addColumn('rights', sql`text[]`, (c) => c.notNull())
    // null = every relying party.
    .addColumn('client_ids', sql`text[]`)
    .addColumn('valid_from', 'timestamptz', (c) => c.notNull())
    .addColumn('valid_to', 'timestamptz', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('draft', 'active', 'expired', 'revoked')`))
    .addColumn('created_by_oid', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('activated_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('revoke_reason', 'text')
    .addCheckConstraint(
      'powers_of_attorney_one_principal',
      sql`(principal_kind = 'citizen' AND principal_citizen_oid IS NOT NULL AND principal_organisation_oid IS NULL)
       OR (principal_kind = 'organisation' AND principal_organisation_oid IS NOT NULL AND principal_citizen_oid IS NULL)`,
    )
    .addCheckConstraint(
      'powers_of_attorney_rights_catalogue',
      sql`cardinality(rights) > 0 AND rights <@ ARRAY['view', 'apply', 'manage_poa']::text[]`,
    )
    .addCheckConstraint('powers_of_attorney_period', sql`valid_to > valid_from`)
    .addCheckConstraint('powers_of_attorney_reason_length', sql`revoke_reason IS NULL OR char_length(revoke_reason) <= 500`)
    .execute();

  // The representative's list and the login choice; the principal's lists.
  await db.schema.createIndex('powers_of_attorney_representative_idx').on('powers_of_attorney').columns(['representative_oid', 'state']).execute();
  await db.schema.createIndex('powers_of_attorney_principal_citizen_idx').on('powers_of_attorney').column('principal_citizen_oid').where(sql.ref('principal_citizen_oid'), 'is not', null).execute();
  await db.schema.createIndex('powers_of_attorney_principal_organisation_idx').on('powers_of_attorney').column('principal_organisation_oid').where(sql.ref('principal_organisation_oid'), 'is not', null).execute();
  // The sweeper's "active and past valid_to".
  await db.schema.createIndex('powers_of_attorney_active_until_idx').on('powers_of_attorney').column('valid_to').where(sql.ref('state'), '=', 'active').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('powers_of_attorney').execute();
}
