import { sql, type Expression, type ExpressionBuilder, type ReferenceExpression, type SqlBool } from 'kysely';
import type Provider from 'oidc-provider';
import type { Database, Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-session.ts';
import { groupLogouts, sendPendingLogouts, type PendingLogout } from './backchannel-logout.ts';
import { logoutsFor } from './sessions.service.ts';
import { findCitizenSessions } from './sessions.repository.ts';
import { eraseInvitations, eraseMemberships } from '../organisations/account-erasure.ts';
import { erasePowersOfCitizen } from '../powers/powers.service.ts';
import { eraseFamilyOf } from '../family/family-erasure.ts';
import { eraseAccountMerges, eraseMergeFlows, eraseMovedRows } from '../merge/merge.repository.ts';

/**
 * Deleting an account erases it: rows are deleted, not flagged. Everything of the citizen's goes in ONE
 * transaction — a crash in the middle leaves the whole account or nothing of it — and only then are
 * the relying parties told (back-channel logout), from a list gathered inside the transaction.
 *
 * What stays: the audit trail (`audit_events`), which names the OID and holds no personal data by
 * design, plus one `citizen.deleted` event. The OID comes from a sequence that never hands a value
 * out twice, so nothing can ever be re-linked to it. Data of relying parties (Mos.ru's own schema)
 * is theirs: the logout token tells them, they decide.
 */

/**
 * Tables whose rows belong to one citizen, named by `citizen_oid`: erased whole. A new table with a
 * `citizen_oid` column (or a foreign key to citizens) must be listed here or in
 * RETAINED_AFTER_DELETION — test/integration/account-deletion.test.ts checks the schema for it.
 */
export const ERASED_BY_CITIZEN_OID = [
  'citizen_documents',
  'citizen_addresses',
  'contact_change_flows',
  'registration_flows',
  'recovery_flows',
  'registry_checks',
  'confirmation_letters',
  'staff_roles',
  'grant_activity',
  'session_devices',
  'notification_preferences',
  'second_factors',
  'recovery_codes',
  'pending_logins',
  'login_attempts',
  'acting_choices',
] as const;

/**
 * Tables an area erases its own way: the citizen may sit in several columns (a parent and a child,
 * a principal and a representative), or rows shared with other people must be kept or ended rather
 * than deleted. Each eraser runs inside the deletion's transaction, before the tables above.
 */
export const ERASED_BY_AREA: Record<string, (trx: DbOrTrx, oid: string) => Promise<void>> = {
  // Organisations the citizen heads are deleted with the account (organisations/account-erasure.ts).
  organisation_members: eraseMemberships,
  organisation_invitations: eraseInvitations,
  // Powers naming the citizen on either side are deleted; the other side is told (powers/powers.service.ts).
  powers_of_attorney: erasePowersOfCitizen,
  // A parent's records of their children are erased; a deleted child's account only loses its link (family/family-erasure.ts).
  children: eraseFamilyOf,
  // Duplicate accounts linked into this one (src/merge) are the same person's: erased with it, whole.
  citizens: eraseLinkedAliases,
  merge_flows: eraseMergeFlows,
  account_merges: eraseAccountMerges,
  merge_moved_rows: eraseMovedRows,
};

/** Tables that keep the OID on purpose, and why. */
export const RETAINED_AFTER_DELETION: Record<string, string> = {
  audit_events: 'the security trail outlives the account; it names the OID and holds no personal data',
};

export type DeletionOutcome = { result: 'deleted'; notified: string[] } | { result: 'not_found' };

/** Erases the account and then tells every service that had a session or a consent of the citizen. */
export async function deleteAccount(provider: Provider, db: Db, input: { oid: string; requestId?: string | null }): Promise<DeletionOutcome> {
  const logouts = await db.transaction().execute((trx) => eraseCitizen(trx, input));
  if (!logouts) return { result: 'not_found' };
  return { result: 'deleted', notified: await sendPendingLogouts(provider, input.oid, logouts) };
}

/**
 * The erasure itself, inside the caller's transaction. Returns the logouts to send after the commit,
 * or undefined when there is no such citizen.
 */
export async function eraseCitizen(trx: DbOrTrx, input: { oid: string; requestId?: string | null }): Promise<PendingLogout[] | undefined> {
  const { oid } = input;
  // The lock orders the erasure after any change already under way (and makes a second one a no-op).
  const citizen = await trx.selectFrom('citizens').selectAll().where('oid', '=', oid).forUpdate().executeTakeFirst();
  if (!citizen) return undefined;

  const contacts = await contactsEverUsed(trx, citizen);
  const addresses = await addressesOf(trx, oid);
  const flowIds = await flowIdsOf(trx, oid, contacts);
  const logouts = await servicesToTell(trx, oid);

  // Codes and messages addressed to the citizen: by flow, and by recipient.
  const recipients = [...contacts, ...addresses.own];
  await trx.deleteFrom('one_time_codes').where((eb) => eb.or([...anyOf(eb, 'flow_id', flowIds), ...anyOf(eb, 'recipient', recipients)])).execute();
  await trx.deleteFrom('outbox_messages').where('channel', 'in', ['sms', 'email']).where((eb) => eb.or(anyOf(eb, 'recipient', contacts))).execute();
  await erasePostalMessages(trx, citizen, addresses);

  // oidc-provider's artifacts: sessions, grants, every token and code from them, interactions in flight.
  const grantIds = (await trx.selectFrom('oidc_payloads').select('id').where('model', '=', 'Grant').where(sql<string>`payload->>'accountId'`, '=', oid).execute()).map((r) => r.id);
  // The OID (a JSON string) sits at different depths: Session, Grant and tokens carry accountId, an
  // Interaction its session's and its login result's; a contact may be an interaction's login_hint.
  const traces = [JSON.stringify(oid), ...contacts];
  await trx
    .deleteFrom('oidc_payloads')
    .where((eb) => eb.or([...anyOf(eb, 'grant_id', grantIds), ...traces.map((trace) => eb(sql<number>`strpos(payload::text, ${trace})`, '>', 0))]))
    .execute();

  await trx.deleteFrom('registration_flows').where((eb) => eb.or(anyOf(eb, 'contact_value', contacts))).execute();
  await trx.deleteFrom('recovery_flows').where((eb) => eb.or(anyOf(eb, 'contact_value', contacts))).execute();
  for (const erase of Object.values(ERASED_BY_AREA)) await erase(trx, oid);
  for (const table of ERASED_BY_CITIZEN_OID) await trx.deleteFrom(table).where('citizen_oid', '=', oid).execute();
  await trx.deleteFrom('citizens').where('oid', '=', oid).execute();
  await recordAudit(trx, { type: 'citizen.deleted', citizenOid: oid, actor: { type: 'citizen', oid }, requestId: input.requestId });
  return logouts;
}

/**
 * Aliases point at their primary (`citizens.merged_into_oid`), so they go first, each erased whole in
 * this transaction. An alias has no sessions or consents of its own (linking moved or ended them):
 * nobody is left to tell about it.
 */
async function eraseLinkedAliases(trx: DbOrTrx, oid: string): Promise<void> {
  const aliases = await trx.selectFrom('citizens').select('oid').where('merged_into_oid', '=', oid).orderBy('oid').execute();
  for (const alias of aliases) await eraseCitizen(trx, { oid: alias.oid });
}

/**
 * Every phone and e-mail the account signed in with or was sent codes for: the current ones, the one
 * it registered with, the ones it changed to or tried, the ones it recovered with. A value that is now
 * another citizen's login stays out: messages to it are that citizen's.
 */
async function contactsEverUsed(trx: DbOrTrx, citizen: Citizen): Promise<string[]> {
  const oid = citizen.oid;
  const rows = await trx
    .selectFrom('registration_flows').select('contact_value as value').where('citizen_oid', '=', oid)
    .union(trx.selectFrom('recovery_flows').select('contact_value as value').where('citizen_oid', '=', oid))
    .union(trx.selectFrom('contact_change_flows').select('new_value as value').where('citizen_oid', '=', oid))
    .execute();
  const values = new Set([citizen.phone, citizen.email, ...rows.map((r) => r.value)].filter((v): v is string => typeof v === 'string'));
  if (values.size === 0) return [];
  const others = await trx
    .selectFrom('citizens')
    .select(['phone', 'email'])
    .where('oid', '!=', oid)
    .where((eb) => eb.or([eb('phone', 'in', [...values]), eb('email', 'in', [...values])]))
    .execute();
  for (const other of others) {
    if (other.phone) values.delete(other.phone);
    if (other.email) values.delete(other.email);
  }
  return [...values];
}

/** The citizen's postal addresses; `own` are those no other citizen lives at. */
async function addressesOf(trx: DbOrTrx, oid: string): Promise<{ all: string[]; own: string[] }> {
  const rows = await trx
    .selectFrom('citizen_addresses').select('address_str as value').where('citizen_oid', '=', oid)
    .union(trx.selectFrom('confirmation_letters').select('address_str as value').where('citizen_oid', '=', oid))
    .execute();
  const all = [...new Set(rows.map((r) => r.value))];
  if (all.length === 0) return { all, own: [] };
  const shared = new Set((await trx.selectFrom('citizen_addresses').select('address_str').where('citizen_oid', '!=', oid).where('address_str', 'in', all).execute()).map((r) => r.address_str));
  return { all, own: all.filter((a) => !shared.has(a)) };
}

/** Letters go to an address with the addressee's name: at a shared address, only those naming the citizen are theirs. */
async function erasePostalMessages(trx: DbOrTrx, citizen: Citizen, addresses: { all: string[]; own: string[] }): Promise<void> {
  if (addresses.all.length === 0) return;
  const fullName = [citizen.last_name, citizen.first_name, citizen.middle_name].filter(Boolean).join(' ');
  await trx
    .deleteFrom('outbox_messages')
    .where('channel', '=', 'post')
    .where((eb) =>
      eb.or([
        ...anyOf(eb, 'recipient', addresses.own),
        eb.and([eb('recipient', 'in', addresses.all), eb(sql<string>`payload->>'fullName'`, '=', fullName)]),
      ]),
    )
    .execute();
}

/** The flows whose codes were the citizen's: theirs by OID, and registrations or recoveries started with their contacts. */
async function flowIdsOf(trx: DbOrTrx, oid: string, contacts: string[]): Promise<string[]> {
  const byContact = (table: 'registration_flows' | 'recovery_flows') =>
    trx.selectFrom(table).select('id').where((eb) => eb.or([eb('citizen_oid', '=', oid), ...anyOf(eb, 'contact_value', contacts)]));
  const rows = await byContact('registration_flows')
    .union(byContact('recovery_flows'))
    .union(trx.selectFrom('contact_change_flows').select('id').where('citizen_oid', '=', oid))
    .union(trx.selectFrom('confirmation_letters').select('id').where('citizen_oid', '=', oid))
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Who must hear of it: each service a session signed in to, with its session ids — expired sessions
 * too, since a service's own session may outlive ours — and each service holding a consent.
 */
async function servicesToTell(trx: DbOrTrx, oid: string): Promise<PendingLogout[]> {
  const fromSessions = logoutsFor(await findCitizenSessions(trx, oid));
  const consented = await trx
    .selectFrom('oidc_payloads')
    .select(sql<string>`payload->>'clientId'`.as('client_id'))
    .where('model', '=', 'Grant')
    .where(sql<string>`payload->>'accountId'`, '=', oid)
    .execute();
  return groupLogouts([
    ...fromSessions.flatMap((l) => (l.sids.length ? l.sids.map((sid) => ({ clientId: l.clientId, sid })) : [{ clientId: l.clientId }])),
    ...consented.filter((g) => g.client_id && g.client_id !== ACCOUNT_CLIENT_ID).map((g) => ({ clientId: g.client_id })),
  ]);
}

/** `column IN (values)` as a one-element list for `eb.or`, or nothing when there are no values (IN () is not SQL). */
function anyOf<TB extends keyof Database>(eb: ExpressionBuilder<Database, TB>, column: ReferenceExpression<Database, TB>, values: readonly string[]): Expression<SqlBool>[] {
  return values.length > 0 ? [eb(column, 'in', [...values] as never)] : [];
}
