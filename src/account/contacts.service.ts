import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import type { ContactKind } from '../registration/registration.table.ts';
import { checkCode, CONTACT_CODE_POLICY, issueCode, type CodeHasher } from '../codes/codes.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import type { OutboxChannel } from '../notifications/outbox.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { isUniqueViolation } from '../db/pg-errors.ts';
import { normalizeEmail, normalizePhone } from '../shared/contacts.ts';
import type { FieldErrors } from './identity-forms.ts';
import { lockCitizen } from './identity.repository.ts';

/**
 * Changing the phone or e-mail a citizen signs in with. A change is a flow row (contact_change_flows)
 * whose code goes to the NEW contact: only a code proves the citizen controls it, and only then is
 * the login contact replaced — and the OLD contact told. The current password is asked first, so
 * a borrowed signed-in browser cannot take the account over.
 */

export const CONTACT_CHANGE_PURPOSE = 'contact_change';
/** How long a started change waits for its code (codes themselves live 5 minutes; resending renews them). */
const FLOW_TTL_SECONDS = 30 * 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const CONTACT_KINDS: readonly ContactKind[] = ['phone', 'email'];
const channelOf = (kind: ContactKind): OutboxChannel => (kind === 'phone' ? 'sms' : 'email');

export function isContactKind(value: unknown): value is ContactKind {
  return value === 'phone' || value === 'email';
}

export interface PendingContactChange {
  id: string;
  kind: ContactKind;
  newValue: string;
}

/** The change awaiting a code for each kind of contact, if any. */
export async function findPendingContactChanges(db: DbOrTrx, oid: string, now: Date): Promise<Partial<Record<ContactKind, PendingContactChange>>> {
  const rows = await db
    .selectFrom('contact_change_flows')
    .select(['id', 'contact_kind', 'new_value'])
    .where('citizen_oid', '=', oid)
    .where('state', '=', 'awaiting_code')
    .where('expires_at', '>', now)
    .orderBy('created_at', 'asc')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.contact_kind, { id: row.id, kind: row.contact_kind, newValue: row.new_value }]));
}

export interface ContactDeps {
  db: Db;
  hasher: PasswordHasher;
  codeHasher: CodeHasher;
}

interface Request {
  now: Date;
  requestId?: string | null;
}

export type StartOutcome = { result: 'code_sent'; flowId: string } | { result: 'invalid'; errors: FieldErrors };

/**
 * Starts a change (or an addition) of the phone or e-mail: sends a code to the new value.
 * Whether another account uses that value is NOT checked here — telling it before the code proves
 * control would let anyone probe which contacts have accounts. Throws the code service's 429s.
 */
export async function startContactChange(deps: ContactDeps, input: Request & { citizen: Citizen; kind: ContactKind; value: string; password: string }): Promise<StartOutcome> {
  const { citizen, kind, now } = input;
  const errors: FieldErrors = {};
  const value = kind === 'phone' ? normalizePhone(input.value) : normalizeEmail(input.value);
  if (input.value.trim() === '') errors.value = `profile.error.${kind}.required`;
  else if (!value) errors.value = `profile.error.${kind}.format`;
  else if (value === citizen[kind]) errors.value = 'profile.error.contact.same';
  if (input.password === '') errors.password = 'profile.error.password.required';
  else if (!(await deps.hasher.verify(citizen.password_hash, input.password))) errors.password = 'profile.error.password.wrong';
  if (Object.keys(errors).length > 0 || !value) return { result: 'invalid', errors };

  const flowId = await deps.db.transaction().execute(async (trx) => {
    // One change per kind at a time: a new one replaces the one still waiting (the lock orders racing starts).
    await lockCitizen(trx, citizen.oid);
    await trx.updateTable('contact_change_flows').set({ state: 'failed' }).where('citizen_oid', '=', citizen.oid).where('contact_kind', '=', kind).where('state', '=', 'awaiting_code').execute();
    const flow = await trx
      .insertInto('contact_change_flows')
      .values({ citizen_oid: citizen.oid, contact_kind: kind, new_value: value, created_at: now, expires_at: new Date(now.getTime() + FLOW_TTL_SECONDS * 1000) })
      .returning('id')
      .executeTakeFirstOrThrow();
    await sendCode(trx, deps.codeHasher, flow.id, kind, value, now);
    await recordAudit(trx, { type: 'contact.change_requested', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { kind }, requestId: input.requestId });
    return flow.id;
  });
  return { result: 'code_sent', flowId };
}

/** Sends a fresh code for a waiting change. Throws `code.resend_too_soon` / `code.too_many_sends` (429). */
export async function resendContactCode(deps: ContactDeps, input: Request & { oid: string; flowId: string }): Promise<'code_sent' | 'not_found'> {
  return deps.db.transaction().execute(async (trx) => {
    const flow = await lockWaitingFlow(trx, input.oid, input.flowId);
    if (!flow || flow.expires_at <= input.now) return 'not_found';
    await sendCode(trx, deps.codeHasher, flow.id, flow.contact_kind, flow.new_value, input.now);
    return 'code_sent';
  });
}

export type ConfirmOutcome =
  | { result: 'changed'; kind: ContactKind }
  | { result: 'wrong'; kind: ContactKind; attemptsLeft: number }
  | { result: 'exhausted' | 'expired' | 'taken'; kind: ContactKind }
  | { result: 'not_found' };

/**
 * Checks the code and, when it is right, makes the new value the login contact. One transaction:
 * the code is spent, the contact replaced, the flow completed, the audit event written and the old
 * contact notified — or none of it. A wrong code's spent try is committed too.
 */
export async function confirmContactChange(deps: ContactDeps, input: Request & { oid: string; flowId: string; code: string }): Promise<ConfirmOutcome> {
  try {
    return await deps.db.transaction().execute(async (trx): Promise<ConfirmOutcome> => {
      const flow = await lockWaitingFlow(trx, input.oid, input.flowId);
      if (!flow) return { result: 'not_found' };
      const kind = flow.contact_kind;
      if (flow.expires_at <= input.now) {
        await trx.updateTable('contact_change_flows').set({ state: 'failed' }).where('id', '=', flow.id).execute();
        return { result: 'expired', kind };
      }
      const check = await checkCode(trx, deps.codeHasher, { purpose: CONTACT_CHANGE_PURPOSE, flowId: flow.id, code: input.code, now: input.now });
      if (check.result === 'wrong') return { result: 'wrong', kind, attemptsLeft: check.attemptsLeft };
      if (check.result === 'exhausted') return { result: 'exhausted', kind };
      if (check.result !== 'ok') return { result: 'expired', kind };

      const citizen = await lockCitizen(trx, input.oid);
      const owner = await trx.selectFrom('citizens').select('oid').where(kind, '=', flow.new_value).where('oid', '!=', input.oid).executeTakeFirst();
      if (owner) {
        // The code proved control of the value, so saying it is taken reveals nothing new.
        await trx.updateTable('contact_change_flows').set({ state: 'failed' }).where('id', '=', flow.id).execute();
        return { result: 'taken', kind };
      }
      await trx.updateTable('citizens').set(kind === 'phone' ? { phone: flow.new_value, updated_at: input.now } : { email: flow.new_value, updated_at: input.now }).where('oid', '=', input.oid).execute();
      await trx.updateTable('contact_change_flows').set({ state: 'completed' }).where('id', '=', flow.id).execute();
      const previous = citizen[kind];
      await recordAudit(trx, { type: 'contact.changed', citizenOid: input.oid, actor: { type: 'citizen', oid: input.oid }, details: { kind, added: previous === null }, requestId: input.requestId });
      if (previous) {
        await enqueueMessage(trx, { channel: channelOf(kind), recipient: previous, template: 'security_notice', payload: { event: 'contact_changed', kind, at: input.now.toISOString() } }, input.now);
      }
      return { result: 'changed', kind };
    });
  } catch (error) {
    // Another account took the value between our look and our write: the unique index decides.
    if (isUniqueViolation(error)) {
      const flow = await deps.db.selectFrom('contact_change_flows').select('contact_kind').where('id', '=', input.flowId).executeTakeFirst();
      if (flow) return { result: 'taken', kind: flow.contact_kind };
    }
    throw error;
  }
}

export async function cancelContactChange(db: Db, input: { oid: string; flowId: string }): Promise<void> {
  if (!UUID.test(input.flowId)) return;
  await db.updateTable('contact_change_flows').set({ state: 'failed' }).where('id', '=', input.flowId).where('citizen_oid', '=', input.oid).where('state', '=', 'awaiting_code').execute();
}

export type RemoveOutcome = { result: 'removed' } | { result: 'invalid'; errors: FieldErrors };

/** Removes the phone or the e-mail, never the only one: it is how the citizen signs in and recovers access. */
export async function removeContact(deps: ContactDeps, input: Request & { citizen: Citizen; kind: ContactKind; password: string }): Promise<RemoveOutcome> {
  const { citizen, kind } = input;
  if (input.password === '') return { result: 'invalid', errors: { password: 'profile.error.password.required' } };
  if (!(await deps.hasher.verify(citizen.password_hash, input.password))) return { result: 'invalid', errors: { password: 'profile.error.password.wrong' } };
  return deps.db.transaction().execute(async (trx): Promise<RemoveOutcome> => {
    const current = await lockCitizen(trx, citizen.oid);
    const removed = current[kind];
    if (!removed) return { result: 'removed' };
    if (!current[kind === 'phone' ? 'email' : 'phone']) return { result: 'invalid', errors: { remove: 'profile.error.contact.last' } };
    await trx.updateTable('citizens').set(kind === 'phone' ? { phone: null, updated_at: input.now } : { email: null, updated_at: input.now }).where('oid', '=', citizen.oid).execute();
    await recordAudit(trx, { type: 'contact.removed', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { kind }, requestId: input.requestId });
    await enqueueMessage(trx, { channel: channelOf(kind), recipient: removed, template: 'security_notice', payload: { event: 'contact_removed', kind, at: input.now.toISOString() } }, input.now);
    return { result: 'removed' };
  });
}

async function lockWaitingFlow(trx: DbOrTrx, oid: string, flowId: string) {
  if (!UUID.test(flowId)) return undefined;
  return trx
    .selectFrom('contact_change_flows')
    .selectAll()
    .where('id', '=', flowId)
    .where('citizen_oid', '=', oid)
    .where('state', '=', 'awaiting_code')
    .forUpdate()
    .executeTakeFirst();
}

async function sendCode(trx: DbOrTrx, codeHasher: CodeHasher, flowId: string, kind: ContactKind, recipient: string, now: Date): Promise<void> {
  const code = await issueCode(trx, codeHasher, { purpose: CONTACT_CHANGE_PURPOSE, flowId, channel: channelOf(kind), recipient, policy: CONTACT_CODE_POLICY, now });
  await enqueueMessage(trx, { channel: channelOf(kind), recipient, template: 'contact_change_code', payload: { code, contact: kind, ttlMinutes: CONTACT_CODE_POLICY.ttlSeconds / 60 } }, now);
}

/**
 * Contact changes past their expiry by more than `graceSeconds` that never completed: for the prune
 * job. A completed change stays — the account's record of a contact it proved, which linking
 * duplicate accounts (src/merge) and account deletion read; it grows with changes, not with logins.
 */
export async function pruneEndedContactChanges(db: DbOrTrx, now: Date, graceSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('contact_change_flows')
    .where('expires_at', '<', new Date(now.getTime() - graceSeconds * 1000))
    .where('state', '!=', 'completed')
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
