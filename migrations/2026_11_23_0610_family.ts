import { sql, type Kysely } from 'kysely';

/**
 * Children (src/family): a parent's record of a child from the birth certificate, checked against
 * the civil registry (ЗАГС) by a leased worker, and — for a child of 14 or older with an own
 * account — the link between the two accounts, which the child must agree to. Plus the mock
 * ЗАГС's birth records (development and tests).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('children')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    // No cascade: deleting an account goes through account-deletion.service.ts, which erases these
    // rows in its transaction (family-erasure.ts); a plain DELETE of a parent fails loudly instead.
    .addColumn('parent_oid', 'bigint', (c) => c.notNull().references('citizens.oid'))
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('middle_name', 'text')
    .addColumn('birth_date', 'date', (c) => c.notNull())
    .addColumn('gender', 'text', (c) => c.notNull().check(sql`gender IN ('M', 'F')`))
    .addColumn('snils', 'text')
    .addColumn('cert_series', 'text', (c) => c.notNull())
    .addColumn('cert_number', 'text', (c) => c.notNull())
    .addColumn('cert_issue_date', 'date', (c) => c.notNull())
    .addColumn('cert_issued_by', 'text', (c) => c.notNull())
    // The registry check: pending → verified | not_found | failed (the registry never answered).
    .addColumn('check_status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`check_status IN ('pending', 'verified', 'not_found', 'failed')`))
    // Bumped at every (re)submission: a worker holding an older claim cannot finish the new one.
    .addColumn('check_revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('leased_until', 'timestamptz')
    .addColumn('reason_code', 'text', (c) => c.check(sql`reason_code IN ('certificate_not_found', 'data_mismatch', 'registry_unavailable')`))
    .addColumn('mismatched_fields', sql`text[]`)
    .addColumn('last_error', 'text')
    .addColumn('checked_at', 'timestamptz')
    // The child's own account (14+), once found: pending_child_consent → linked | declined; linked → unlinked.
    .addColumn('child_oid', 'bigint', (c) => c.references('citizens.oid'))
    .addColumn('link_state', 'text', (c) => c.check(sql`link_state IN ('pending_child_consent', 'linked', 'declined', 'unlinked')`))
    .addColumn('link_changed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // One record per certificate per parent (the other parent keeps their own).
    .addUniqueConstraint('children_parent_certificate_key', ['parent_oid', 'cert_series', 'cert_number'])
    .addCheckConstraint('children_link_has_account', sql`(link_state IS NULL) = (child_oid IS NULL)`)
    .addCheckConstraint('children_not_own_parent', sql`child_oid IS NULL OR child_oid <> parent_oid`)
    .execute();
  await db.schema.createIndex('children_check_due_idx').on('children').column('next_attempt_at').where(sql.ref('check_status'), '=', 'pending').execute();
  await db.schema.createIndex('children_child_oid_idx').on('children').column('child_oid').where(sql.ref('child_oid'), 'is not', null).execute();

  // The mock ЗАГС: birth records as the civil registry holds them, with the parents named in each.
  await db.schema
    .createTable('mock_civil_registry_records')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('cert_series', 'text', (c) => c.notNull())
    .addColumn('cert_number', 'text', (c) => c.notNull())
    .addColumn('cert_issue_date', 'date', (c) => c.notNull())
    .addColumn('cert_issued_by', 'text', (c) => c.notNull())
    .addColumn('last_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text', (c) => c.notNull())
    .addColumn('middle_name', 'text')
    .addColumn('birth_date', 'date', (c) => c.notNull())
    .addColumn('gender', 'text', (c) => c.notNull())
    .addColumn('snils', 'text')
    .addColumn('parents', 'jsonb', (c) => c.notNull())
    .addUniqueConstraint('mock_civil_registry_certificate_key', ['cert_series', 'cert_number'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('mock_civil_registry_records').execute();
  await db.schema.dropTable('children').execute();
}
