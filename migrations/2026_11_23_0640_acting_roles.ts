import { sql, type Kysely } from 'kysely';

/**
 * The role a citizen chose at login for one relying party in one single sign-on session: as a
 * private person, as an employee of an organisation, or as a representative under a power of
 * attorney (src/acting). Tokens carry the session's uid and the client id, which is how token
 * issuance, refresh, userinfo and introspection find the choice again.
 *
 * The organisation and the power are named without foreign keys on purpose: when the membership
 * or the power goes, the choice must stay and fail its live check (tokens stop working), not
 * vanish and silently turn into a private-person choice.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('acting_choices')
    .addColumn('session_uid', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    // The person who signed in (the session's account), whatever they act as.
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('person', 'organisation', 'representative')`))
    .addColumn('organisation_oid', 'bigint')
    .addColumn('power_id', 'bigint')
    .addColumn('chosen_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('acting_choices_pkey', ['session_uid', 'client_id'])
    .addCheckConstraint(
      'acting_choices_one_target',
      sql`(kind = 'person' AND organisation_oid IS NULL AND power_id IS NULL)
       OR (kind = 'organisation' AND organisation_oid IS NOT NULL AND power_id IS NULL)
       OR (kind = 'representative' AND power_id IS NOT NULL AND organisation_oid IS NULL)`,
    )
    .execute();
  await db.schema.createIndex('acting_choices_citizen_idx').on('acting_choices').column('citizen_oid').execute();
  // Pruning looks for choices whose session and refresh tokens are all gone (src/acting/acting.repository.ts).
  await sql`CREATE INDEX oidc_payloads_refresh_session_idx ON oidc_payloads ((payload->>'sessionUid')) WHERE model = 'RefreshToken'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX oidc_payloads_refresh_session_idx`.execute(db);
  await db.schema.dropTable('acting_choices').execute();
}
