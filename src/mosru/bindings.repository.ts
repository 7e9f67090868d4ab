import type { Kysely, Transaction } from 'kysely';
import type { Binding, MosruDatabase, SyncedProfile } from './mosru.tables.ts';
import type { IdpPerson } from './person-api.ts';

type Db = Kysely<MosruDatabase> | Transaction<MosruDatabase>;

export function findBinding(db: Db, accountId: string): Promise<Binding | undefined> {
  return db.selectFrom('mosru.bindings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}

export function findBindingByOid(db: Db, oid: string): Promise<Binding | undefined> {
  return db.selectFrom('mosru.bindings').selectAll().where('oid', '=', oid).executeTakeFirst();
}

export function findSyncedProfile(db: Db, accountId: string): Promise<SyncedProfile | undefined> {
  return db.selectFrom('mosru.synced_profiles').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}

/** A fresh binding replaces whatever the account had (a disconnected one, or the same OID again). */
export async function upsertBinding(db: Db, row: { accountId: string; oid: string; scopes: string; refreshTokenSealed: string | null; now: Date }): Promise<void> {
  const values = {
    oid: row.oid,
    scopes: row.scopes,
    bound_at: row.now,
    refresh_token_sealed: row.refreshTokenSealed,
    status: 'connected' as const,
    disconnected_reason: null,
    disconnected_at: null,
    last_synced_at: row.now,
    refresh_lease_until: null,
  };
  await db
    .insertInto('mosru.bindings')
    .values({ account_id: row.accountId, ...values })
    .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
    .execute();
}

export async function upsertSyncedProfile(db: Db, accountId: string, person: IdpPerson, now: Date): Promise<void> {
  const values = {
    last_name: person.lastName ?? null,
    first_name: person.firstName ?? null,
    middle_name: person.middleName ?? null,
    birth_date: person.birthDate ?? null,
    snils: person.snils ?? null,
    phone: person.phone ?? null,
    email: person.email ?? null,
    passport: JSON.stringify(person.passport ?? null),
    addresses: JSON.stringify(person.addresses),
    medical_policy: JSON.stringify(person.medicalPolicy ?? null),
    synced_at: now,
  };
  await db
    .insertInto('mosru.synced_profiles')
    .values({ account_id: accountId, ...values })
    .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
    .execute();
}

export async function deleteBindingAndProfile(db: Db, accountId: string): Promise<void> {
  await db.deleteFrom('mosru.synced_profiles').where('account_id', '=', accountId).execute();
  await db.deleteFrom('mosru.bindings').where('account_id', '=', accountId).execute();
}

/** The IdP no longer honours the grant: the tokens are useless and the copied data must go. */
export async function markDisconnected(db: Db, accountId: string, reason: string, now: Date): Promise<void> {
  await db.deleteFrom('mosru.synced_profiles').where('account_id', '=', accountId).execute();
  await db
    .updateTable('mosru.bindings')
    .set({ status: 'disconnected', disconnected_reason: reason, disconnected_at: now, refresh_token_sealed: null, refresh_lease_until: null })
    .where('account_id', '=', accountId)
    .execute();
}

/**
 * Takes the right to refresh: refresh tokens rotate, and a used one presented again is taken for
 * theft (the IdP revokes the grant), so two requests must never refresh at once. The lease is a
 * row update, not a lock held across the call to the IdP (which may share this database).
 */
export async function claimRefresh(db: Db, accountId: string, now: Date, leaseMs: number): Promise<string | undefined> {
  const row = await db
    .updateTable('mosru.bindings')
    .set({ refresh_lease_until: new Date(now.getTime() + leaseMs) })
    .where('account_id', '=', accountId)
    .where('status', '=', 'connected')
    .where('refresh_token_sealed', 'is not', null)
    .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<=', now)]))
    .returning('refresh_token_sealed')
    .executeTakeFirst();
  return row?.refresh_token_sealed ?? undefined;
}

export async function releaseRefresh(db: Db, accountId: string): Promise<void> {
  await db.updateTable('mosru.bindings').set({ refresh_lease_until: null }).where('account_id', '=', accountId).execute();
}

/** The rotated refresh token, saved before anything else: the previous one no longer works. */
export async function storeRotatedToken(db: Db, accountId: string, refreshTokenSealed: string | null, now: Date): Promise<void> {
  await db
    .updateTable('mosru.bindings')
    .set({ refresh_token_sealed: refreshTokenSealed, refresh_lease_until: null, last_synced_at: now })
    .where('account_id', '=', accountId)
    .where('status', '=', 'connected')
    .execute();
}
