import { sql, type Kysely } from 'kysely';

/**
 * Organisations (legal entities and sole proprietors) checked against the state register, their
 * members with roles, and invitations to join them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Like citizens' OIDs: a sequence that never reuses a value, in a range of its own.
  await sql`CREATE SEQUENCE organisation_oid_seq START WITH 2000000001 MINVALUE 2000000001 NO CYCLE`.execute(db);
  await db.schema
    .createTable('organisations')
    .addColumn('oid', 'bigint', (c) => c.primaryKey().defaultTo(sql`nextval('organisation_oid_seq')`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('legal', 'sole_proprietor')`))
    .addColumn('full_name', 'text', (c) => c.notNull())
    .addColumn('short_name', 'text')
    .addColumn('inn', 'text', (c) => c.notNull().unique())
    .addColumn('ogrn', 'text', (c) => c.notNull().unique())
    .addColumn('kpp', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`ALTER SEQUENCE organisation_oid_seq OWNED BY organisations.oid`.execute(db);

  // A row is an active member; removing an employee deletes it, which ends their access at once.
  await db.schema
    .createTable('organisation_members')
    .addColumn('organisation_oid', 'bigint', (c) => c.notNull().references('organisations.oid').onDelete('cascade'))
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid'))
    .addColumn('roles', sql`text[]`, (c) => c.notNull())
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('organisation_members_pkey', ['organisation_oid', 'citizen_oid'])
    .addCheckConstraint(
      'organisation_members_roles_known',
      sql`cardinality(roles) > 0 AND roles <@ ARRAY['chief', 'admin', 'employee']::text[]`,
    )
    .execute();
  // One head per organisation.
  await sql`CREATE UNIQUE INDEX organisation_members_one_chief ON organisation_members (organisation_oid) WHERE 'chief' = ANY (roles)`.execute(db);
  await db.schema.createIndex('organisation_members_citizen_idx').on('organisation_members').column('citizen_oid').execute();

  // An invitation names the invitee by SNILS or e-mail, never by account: it is created whether or
  // not such an account exists, and shows to the citizen whose verified SNILS / confirmed e-mail matches.
  await db.schema
    .createTable('organisation_invitations')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('organisation_oid', 'bigint', (c) => c.notNull().references('organisations.oid').onDelete('cascade'))
    .addColumn('invitee_snils', 'text')
    .addColumn('invitee_email', 'text')
    .addColumn('roles', sql`text[]`, (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('pending', 'accepted', 'declined', 'cancelled', 'expired')`))
    .addColumn('invited_by_oid', 'bigint', (c) => c.references('citizens.oid').onDelete('set null'))
    .addColumn('decided_by_oid', 'bigint', (c) => c.references('citizens.oid').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_at', 'timestamptz')
    .addCheckConstraint('organisation_invitations_one_invitee', sql`(invitee_snils IS NULL) <> (invitee_email IS NULL)`)
    .addCheckConstraint('organisation_invitations_email_lowercase', sql`invitee_email = lower(invitee_email)`)
    // The head comes from the register, never from an invitation.
    .addCheckConstraint(
      'organisation_invitations_roles_known',
      sql`cardinality(roles) > 0 AND roles <@ ARRAY['admin', 'employee']::text[]`,
    )
    .execute();
  await db.schema.createIndex('organisation_invitations_org_idx').on('organisation_invitations').columns(['organisation_oid', 'state']).execute();
  await db.schema.createIndex('organisation_invitations_snils_idx').on('organisation_invitations').column('invitee_snils').where(sql.ref('invitee_snils'), 'is not', null).execute();
  await db.schema.createIndex('organisation_invitations_email_idx').on('organisation_invitations').column('invitee_email').where(sql.ref('invitee_email'), 'is not', null).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('organisation_invitations').execute();
  await db.schema.dropTable('organisation_members').execute();
  await db.schema.dropTable('organisations').execute();
}
