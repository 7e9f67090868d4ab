import { randomUUID } from 'node:crypto';
import type { Db, DbOrTrx } from '../db/database.ts';
import { CONTACT_CODE_POLICY, checkCode, issueCode, type CodeCheck, type CodeHasher } from '../codes/codes.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { findCitizenByLogin } from '../citizens/citizens.repository.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { AppError } from '../shared/app-error.ts';
import { channelFor } from '../registration/contact-input.ts';
import type { ContactKind } from '../registration/registration.table.ts';
import { maskedLogins } from './login-hint.ts';
import {
  endCitizenSessions, insertRecoveryFlow, lockRecoveryFlow, setCitizenPasswordHash, setRecoveryFlowState, type RecoveryFlow,
} from './recovery.repository.ts';

/**
 * Password recovery and "forgot login" by a code sent to a phone or e-mail. Nothing here may tell a
 * stranger whether an account has that contact: a flow is created either way (citizen_oid null when
 * nobody has it), a code is issued either way — so the 60-second pause and the hourly cap per
 * contact count the same — and only the message is skipped. A flow without an account checks every
 * typed code as wrong, so it can never reach code_verified.
 */
export const RECOVERY_CODE_PURPOSE = 'recovery';
/** The send ledger of "forgot login" messages (the issued code itself is never sent or checked). */
export const LOGIN_HINT_PURPOSE = 'login_hint';
export const RECOVERY_FLOW_TTL_SECONDS = 30 * 60;

export interface Contact {
  kind: ContactKind;
  value: string;
}

/** Throws issueCode's 429 AppErrors when the contact has had too many codes (then nothing is stored). */
export async function startRecovery(db: Db, codeHasher: CodeHasher, input: { contact: Contact; now: Date }): Promise<RecoveryFlow> {
  return db.transaction().execute(async (trx) => {
    const citizen = await findCitizenByLogin(trx, input.contact);
    const flow = await insertRecoveryFlow(trx, {
      contactKind: input.contact.kind,
      contactValue: input.contact.value,
      citizenOid: citizen?.oid ?? null,
      createdAt: input.now,
      expiresAt: new Date(input.now.getTime() + RECOVERY_FLOW_TTL_SECONDS * 1000),
    });
    await sendRecoveryCode(trx, codeHasher, flow, input.now);
    return flow;
  });
}

export async function resendRecoveryCode(db: Db, codeHasher: CodeHasher, flowId: string, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const flow = await lockRecoveryFlow(trx, flowId);
    if (!flow || flow.state !== 'awaiting_code') throw new AppError('recovery.flow_not_found', 404);
    if (flow.expires_at <= now) throw new AppError('recovery.flow_expired', 410);
    await sendRecoveryCode(trx, codeHasher, flow, now);
  });
}

async function sendRecoveryCode(trx: DbOrTrx, codeHasher: CodeHasher, flow: RecoveryFlow, now: Date): Promise<void> {
  const channel = channelFor(flow.contact_kind);
  // Issued even when nobody has the contact: the limits must count alike (see the module comment).
  const code = await issueCode(trx, codeHasher, {
    purpose: RECOVERY_CODE_PURPOSE, flowId: flow.id, channel, recipient: flow.contact_value, policy: CONTACT_CODE_POLICY, now,
  });
  if (flow.citizen_oid) {
    await enqueueMessage(trx, { channel, recipient: flow.contact_value, template: 'recovery_code', payload: { code, ttlMinutes: CONTACT_CODE_POLICY.ttlSeconds / 60 } }, now);
  }
}

export type ConfirmRecoveryResult =
  | { outcome: 'verified' }
  | { outcome: 'code_refused'; check: Exclude<CodeCheck, { result: 'ok' }> }
  | { outcome: 'flow_expired' }
  | { outcome: 'closed' };

export async function confirmRecoveryCode(db: Db, codeHasher: CodeHasher, input: { flowId: string; code: string; now: Date }): Promise<ConfirmRecoveryResult> {
  return db.transaction().execute(async (trx): Promise<ConfirmRecoveryResult> => {
    const flow = await lockRecoveryFlow(trx, input.flowId);
    if (!flow || flow.state !== 'awaiting_code') return { outcome: 'closed' };
    if (flow.expires_at <= input.now) return { outcome: 'flow_expired' };
    // Without an account, check a code no one can type: a try is spent exactly as for a wrong code.
    const typed = flow.citizen_oid ? input.code : '';
    const check = await checkCode(trx, codeHasher, { purpose: RECOVERY_CODE_PURPOSE, flowId: flow.id, code: typed, now: input.now });
    if (check.result !== 'ok') return { outcome: 'code_refused', check };
    await setRecoveryFlowState(trx, flow.id, 'code_verified');
    return { outcome: 'verified' };
  });
}

export type ResetPasswordResult = { outcome: 'reset'; sessionsEnded: number } | { outcome: 'flow_expired' } | { outcome: 'closed' };

/**
 * Sets the new password (already checked against the rule by the caller) — password, flow, audit
 * event, the security notice to the contact and the end of the citizen's sessions in one transaction.
 */
export async function resetPassword(
  db: Db,
  hasher: PasswordHasher,
  input: { flowId: string; password: string; now: Date; requestId?: string | null },
): Promise<ResetPasswordResult> {
  const passwordHash = await hasher.hash(input.password);
  return db.transaction().execute(async (trx): Promise<ResetPasswordResult> => {
    const flow = await lockRecoveryFlow(trx, input.flowId);
    if (!flow || flow.state !== 'code_verified' || !flow.citizen_oid) return { outcome: 'closed' };
    if (flow.expires_at <= input.now) return { outcome: 'flow_expired' };
    await setCitizenPasswordHash(trx, flow.citizen_oid, passwordHash, input.now);
    await setRecoveryFlowState(trx, flow.id, 'completed');
    const sessionsEnded = await endCitizenSessions(trx, flow.citizen_oid);
    await recordAudit(trx, {
      type: 'citizen.password_reset',
      citizenOid: flow.citizen_oid,
      actor: { type: 'citizen', oid: flow.citizen_oid },
      details: { flowId: flow.id, contactKind: flow.contact_kind, sessionsEnded },
      requestId: input.requestId,
    });
    await enqueueMessage(trx, { channel: channelFor(flow.contact_kind), recipient: flow.contact_value, template: 'security_notice', payload: { event: 'password_reset', at: input.now.toISOString() } }, input.now);
    return { outcome: 'reset', sessionsEnded };
  });
}

/**
 * "Forgot login": the owner of the contact gets the masked identifiers the account signs in with.
 * Each request counts as a send to the contact whether or not a message goes out (a code is issued
 * as the ledger entry and never used), so the hourly cap reads the same for every contact.
 */
export async function sendLoginHint(db: Db, codeHasher: CodeHasher, input: { contact: Contact; now: Date }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const citizen = await findCitizenByLogin(trx, input.contact);
    const channel = channelFor(input.contact.kind);
    await issueCode(trx, codeHasher, {
      purpose: LOGIN_HINT_PURPOSE, flowId: randomUUID(), channel, recipient: input.contact.value, policy: CONTACT_CODE_POLICY, now: input.now,
    });
    if (citizen) {
      await enqueueMessage(trx, { channel, recipient: input.contact.value, template: 'login_hint', payload: { logins: maskedLogins(citizen) } }, input.now);
    }
  });
}
