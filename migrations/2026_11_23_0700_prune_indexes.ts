import { sql, type Kysely } from 'kysely';

/**
 * An index for every statement of the prune run (src/oidc/prune.ts), so that deleting what has
 * outlived its use reads only those rows, not the whole of a table that grows with every login.
 * Each comment names the prune statement the index serves.
 */
const INDEXES: Array<{ name: string; create: string }> = [
  // pruneConsumedArtifacts: consumed refresh tokens and codes past the reuse-detection window. Partial:
  // most rows are never consumed (access tokens, sessions, live refresh tokens).
  { name: 'oidc_payloads_consumed_at_idx', create: 'ON oidc_payloads (consumed_at) WHERE consumed_at IS NOT NULL' },
  // pruneLoginHistory: attempts older than LOGIN_HISTORY_DAYS (the citizen index leads with citizen_oid).
  { name: 'login_attempts_created_at_idx', create: 'ON login_attempts (created_at)' },
  // pruneDeliveredMessages: sent or abandoned messages older than 30 days.
  { name: 'outbox_messages_status_created_at_idx', create: 'ON outbox_messages (status, created_at)' },
  // pruneLoginThrottles: counters untouched for a day.
  { name: 'login_throttles_updated_at_idx', create: 'ON login_throttles (updated_at)' },
  // prunePendingLogins: half-done logins past their expiry.
  { name: 'pending_logins_expires_at_idx', create: 'ON pending_logins (expires_at)' },
  // pruneStaleChoices: role choices older than their grace.
  { name: 'acting_choices_chosen_at_idx', create: 'ON acting_choices (chosen_at)' },
  // pruneSpentCodes: codes created before the rate-limit window (the other indexes lead with purpose or recipient).
  { name: 'one_time_codes_created_at_idx', create: 'ON one_time_codes (created_at)' },
  // pruneEndedRegistrationFlows / pruneEndedRecoveryFlows: flows past their expiry and a grace.
  { name: 'registration_flows_expires_at_idx', create: 'ON registration_flows (expires_at)' },
  { name: 'recovery_flows_expires_at_idx', create: 'ON recovery_flows (expires_at)' },
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const index of INDEXES) await sql.raw(`CREATE INDEX ${index.name} ${index.create}`).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of [...INDEXES].reverse()) await sql.raw(`DROP INDEX ${index.name}`).execute(db);
}
