import { sql } from 'kysely';
import type { Db, DbOrTrx } from '../src/db/database.ts';

/**
 * The tables that grow with traffic, what "expired" means for each (the rows a pruner should have
 * removed), and snapshots of their size. The bench plants already-expired rows in each before the
 * scenarios, and looks again after a sustained login + refresh phase with the pruner running: a
 * table whose expired rows are still there is not pruned.
 */
export interface TrackedTable {
  table: string;
  /**
   * SQL condition true for rows that had outlived their use by `ref` (an SQL timestamp: now, or a
   * prune interval ago, so rows that expired since the pruner's last pass do not count).
   */
  expired: (ref: string, loginHistoryDays: number) => string;
  /** In words, for the report. */
  rule: string;
}

export const TRACKED_TABLES: TrackedTable[] = [
  // oidc-provider's artifacts: prune.ts leaves a minute's grace after expiry.
  { table: 'oidc_payloads', expired: (ref) => `expires_at < ${ref} - interval '60 seconds'`, rule: 'expired more than 60 s ago' },
  // A used or expired code stays while it still counts for its channel's hourly send limit (src/codes/prune.ts).
  { table: 'one_time_codes', expired: (ref) => `expires_at < ${ref} AND created_at < ${ref} - interval '1 hour' AND channel <> 'post'`, rule: 'expired, sent over an hour ago (SMS / e-mail)' },
  { table: 'outbox_messages', expired: (ref) => `status IN ('sent', 'abandoned') AND created_at < ${ref} - interval '30 days'`, rule: 'sent or abandoned over 30 days ago' },
  // A completed registration that opened an account stays: the account's record of the contact it proved.
  { table: 'registration_flows', expired: (ref) => `expires_at < ${ref} - interval '15 minutes' AND NOT (state = 'completed' AND citizen_oid IS NOT NULL)`, rule: 'expired over 15 min ago (not the one that opened an account)' },
  { table: 'recovery_flows', expired: (ref) => `expires_at < ${ref} - interval '15 minutes'`, rule: 'expired over 15 min ago' },
  { table: 'rate_limits', expired: (ref) => `reset_at <= ${ref}`, rule: 'window ended' },
  { table: 'login_attempts', expired: (ref, days) => `created_at < ${ref} - interval '${days} days'`, rule: 'older than LOGIN_HISTORY_DAYS' },
  { table: 'pending_logins', expired: (ref) => `expires_at <= ${ref}`, rule: 'expired' },
  {
    table: 'session_devices',
    expired: () => `NOT EXISTS (SELECT 1 FROM oidc_payloads s WHERE s.model = 'Session' AND s.uid = session_devices.session_uid)`,
    rule: 'its session is gone',
  },
];

export interface TableSnapshot {
  table: string;
  rows: number;
  expiredRows: number;
  bytes: number;
}

/**
 * Rows, expired rows and bytes (with indexes and TOAST) of every tracked table. `slackSeconds`:
 * rows count as expired only if they were already expired that long ago — one prune interval, so
 * what expired since the pruner's last pass is not held against it.
 */
export async function snapshotTables(db: DbOrTrx, loginHistoryDays: number, slackSeconds = 0): Promise<TableSnapshot[]> {
  const snapshots: TableSnapshot[] = [];
  const ref = `(now() - interval '${Math.round(slackSeconds)} seconds')`;
  for (const tracked of TRACKED_TABLES) {
    const { rows: [row] } = await sql<{ rows: string; expired: string; bytes: string }>`
      SELECT count(*) AS rows, count(*) FILTER (WHERE ${sql.raw(tracked.expired(ref, loginHistoryDays))}) AS expired,
             pg_total_relation_size(${tracked.table}::regclass) AS bytes
      FROM ${sql.table(tracked.table)}
    `.execute(db);
    snapshots.push({ table: tracked.table, rows: Number(row.rows), expiredRows: Number(row.expired), bytes: Number(row.bytes) });
  }
  return snapshots;
}

/**
 * `perTable` rows in every tracked table that have already outlived their use (as if left by
 * traffic long ago), tied to `citizenOid` where a citizen is needed. Marked `bench-expired-…`.
 * Returns the snapshot taken in the same transaction: the IdP's pruner may run any moment after.
 */
export async function plantExpiredRows(db: Db, perTable: number, citizenOid: string, loginHistoryDays: number): Promise<TableSnapshot[]> {
  const n = perTable;
  return db.transaction().execute(async (trx) => {
    await sql`
      INSERT INTO oidc_payloads (model, id, payload, expires_at)
      SELECT (ARRAY['AccessToken', 'AuthorizationCode', 'Interaction', 'Session', 'RefreshToken'])[1 + i % 5], 'bench-expired-' || i,
             jsonb_build_object('jti', 'bench-expired-' || i), now() - interval '1 hour'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO one_time_codes (purpose, flow_id, channel, recipient, code_hash, attempts_left, expires_at, created_at)
      SELECT 'registration', gen_random_uuid(), 'sms', '7999' || lpad(i::text, 7, '0'), 'bench-expired', 3, now() - interval '1 hour', now() - interval '2 hours'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO outbox_messages (channel, recipient, template, status, attempts, created_at, sent_at)
      SELECT 'sms', '7999' || lpad(i::text, 7, '0'), 'bench-expired', 'sent', 1, now() - interval '31 days', now() - interval '31 days'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO registration_flows (last_name, first_name, contact_kind, contact_value, password_hash, created_at, expires_at)
      SELECT 'Просроченный', 'Тест', 'phone', '7999' || lpad(i::text, 7, '0'), 'bench-expired', now() - interval '2 hours', now() - interval '1 hour'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO recovery_flows (contact_kind, contact_value, created_at, expires_at)
      SELECT 'phone', '7999' || lpad(i::text, 7, '0'), now() - interval '2 hours', now() - interval '1 hour'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO rate_limits (key, points, reset_at)
      SELECT 'bench-expired:' || i, 1, now() - interval '1 hour' FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO login_attempts (citizen_oid, created_at, ip, user_agent, device_key, method, succeeded, reason)
      SELECT ${citizenOid}, now() - make_interval(days => ${loginHistoryDays + 1}) - i * interval '1 minute', '192.0.2.1', 'bench-expired', 'bench-expired', 'pwd', false, 'wrong_password'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO pending_logins (interaction_uid, citizen_oid, attempts_left, created_at, expires_at)
      SELECT 'bench-expired-' || i, ${citizenOid}, 3, now() - interval '2 hours', now() - interval '1 hour'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    await sql`
      INSERT INTO session_devices (session_uid, citizen_oid, user_agent, ip, signed_in_at, last_seen_at)
      SELECT 'bench-expired-' || i, ${citizenOid}, 'bench-expired', '192.0.2.1', now() - interval '2 days', now() - interval '2 days'
      FROM generate_series(1, ${n}::int) AS i`.execute(trx);
    return snapshotTables(trx, loginHistoryDays);
  });
}
