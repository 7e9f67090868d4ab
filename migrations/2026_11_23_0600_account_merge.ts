import { sql, type Kysely } from 'kysely';

/**
 * Linking one person's duplicate accounts («Связать аккаунты», src/merge): an alias points at the
 * account that survived (`citizens.merged_into_oid`); the link, the proof of control on the way to it
 * and the rows that moved between the accounts (so «Отвязать» can move them back).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('citizens')
    .addColumn('merged_into_oid', 'bigint', (c) => c.references('citizens.oid'))
    .execute();
  await db.schema.alterTable('citizens').addCheckConstraint('citizens_not_merged_into_self', sql`merged_into_oid <> oid`).execute();
  await db.schema.createIndex('citizens_merged_into_idx').on('citizens').column('merged_into_oid').where(sql.ref('merged_into_oid'), 'is not', null).execute();

  // A SNILS was unique per account, which made duplicates of one person impossible to link: two
  // confirmed accounts of the same person necessarily carry the same SNILS. It stays unique among
  // accounts nobody has verified (a typo or someone else's number is refused as before); verified
  // accounts (standard, confirmed) may share it — a registry check tied it to the same person — until
  // they are linked. Logins by SNILS pick the primary, most trusted, oldest account.
  await db.schema.dropIndex('citizens_snils_key').execute();
  await db.schema.createIndex('citizens_snils_key').unique().on('citizens').column('snils').where(sql.ref('trust_level'), '=', 'simplified').execute();
  await db.schema.createIndex('citizens_snils_idx').on('citizens').column('snils').where(sql.ref('snils'), 'is not', null).execute();
  await db.schema.createIndex('citizen_documents_number_idx').on('citizen_documents').columns(['type', 'series', 'number']).execute();

  // One per (citizen, candidate) attempt: the proof of control is remembered here, server-side,
  // until the merge is confirmed or the flow expires.
  await db.schema
    .createTable('merge_flows')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('citizen_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('candidate_oid', 'bigint', (c) => c.notNull().references('citizens.oid').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('awaiting_proof').check(sql`state IN ('awaiting_proof', 'proved', 'completed')`))
    .addColumn('proof_method', 'text', (c) => c.check(sql`proof_method IN ('password', 'phone', 'email')`))
    .addColumn('proved_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('merge_flows_proved_has_method', sql`state = 'awaiting_proof' OR (proof_method IS NOT NULL AND proved_at IS NOT NULL)`)
    .execute();
  await db.schema.createIndex('merge_flows_pair_idx').on('merge_flows').columns(['citizen_oid', 'candidate_oid', 'created_at']).execute();
  await db.schema.createIndex('merge_flows_candidate_idx').on('merge_flows').column('candidate_oid').execute();

  // A link while `unlinked_at` is null; kept afterwards as the account's history. After «Сделать
  // основным» the pair is turned round (the primary is always `survivor_oid`).
  await db.schema
    .createTable('account_merges')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('survivor_oid', 'bigint', (c) => c.notNull().references('citizens.oid'))
    .addColumn('alias_oid', 'bigint', (c) => c.notNull().references('citizens.oid'))
    .addColumn('proof_method', 'text', (c) => c.notNull().check(sql`proof_method IN ('password', 'phone', 'email')`))
    .addColumn('merged_at', 'timestamptz', (c) => c.notNull())
    .addColumn('undo_until', 'timestamptz', (c) => c.notNull())
    .addColumn('unlinked_at', 'timestamptz')
    .addCheckConstraint('account_merges_two_accounts', sql`survivor_oid <> alias_oid`)
    .execute();
  await db.schema.createIndex('account_merges_active_alias_key').unique().on('account_merges').column('alias_oid').where(sql.ref('unlinked_at'), 'is', null).execute();
  await db.schema.createIndex('account_merges_survivor_idx').on('account_merges').column('survivor_oid').execute();

  // Rows that sit on another account of the group than the one they were made for: grants (by their
  // current id) and login history. «Отвязать» sends each back to its origin.
  await db.schema
    .createTable('merge_moved_rows')
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('grant', 'login_attempt')`))
    .addColumn('row_id', 'text', (c) => c.notNull())
    .addColumn('origin_oid', 'bigint', (c) => c.notNull().references('citizens.oid'))
    .addPrimaryKeyConstraint('merge_moved_rows_pkey', ['kind', 'row_id'])
    .execute();
  await db.schema.createIndex('merge_moved_rows_origin_idx').on('merge_moved_rows').columns(['origin_oid', 'kind']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['merge_moved_rows', 'account_merges', 'merge_flows']) await db.schema.dropTable(table).execute();
  await db.schema.dropIndex('citizen_documents_number_idx').execute();
  await db.schema.dropIndex('citizens_snils_idx').execute();
  await db.schema.dropIndex('citizens_snils_key').execute();
  await db.schema.createIndex('citizens_snils_key').unique().on('citizens').column('snils').execute();
  await db.schema.dropIndex('citizens_merged_into_idx').execute();
  await db.schema.alterTable('citizens').dropColumn('merged_into_oid').execute();
}
