import type { Db, DbOrTrx } from '../db/database.ts';
import { CONTACT_CODE_POLICY, checkCode, issueCode, type CodeCheck, type CodeHasher } from '../codes/codes.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { findCitizenByLogin, insertCitizen } from '../citizens/citizens.repository.ts';
import { checkPassword, type PasswordProblem } from '../citizens/password-policy.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { isUniqueViolation } from '../db/pg-errors.ts';
import { AppError } from '../shared/app-error.ts';
import { normalizePersonName } from '../shared/names.ts';
import { channelFor, parseContactInput } from './contact-input.ts';
import {
  completeRegistrationFlow, failRegistrationFlow, insertRegistrationFlow, lockRegistrationFlow, type RegistrationFlow,
} from './registration.repository.ts';
import type { ContactKind } from './registration.table.ts';

/**
 * Self-registration: a form creates a flow (the password already hashed) and sends a code to the
 * contact; the account exists only once the code comes back. Used by both entry points — the
 * standalone /registration and the one inside an OIDC authorization.
 */
export const REGISTRATION_CODE_PURPOSE = 'registration';
export const REGISTRATION_FLOW_TTL_SECONDS = 60 * 60;

export type RegistrationField = 'lastName' | 'firstName' | 'middleName' | 'contact' | 'password' | 'passwordRepeat';

export interface RegistrationFormInput {
  lastName: string;
  firstName: string;
  middleName: string;
  contact: string;
  password: string;
  passwordRepeat: string;
}

export interface ValidRegistration {
  lastName: string;
  firstName: string;
  middleName: string | null;
  contactKind: ContactKind;
  contactValue: string;
  password: string;
}

/** Every problem of every field at once (message keys, or PasswordProblem codes for the password). */
export type RegistrationProblems = Partial<Record<RegistrationField, string[]>>;

export function validateRegistration(input: RegistrationFormInput): { ok: true; value: ValidRegistration } | { ok: false; problems: RegistrationProblems } {
  const problems: RegistrationProblems = {};
  const lastName = normalizePersonName(input.lastName);
  const firstName = normalizePersonName(input.firstName);
  const middleName = input.middleName.trim() ? normalizePersonName(input.middleName) : null;
  if (!lastName) problems.lastName = [input.lastName.trim() ? 'registration.last_name.invalid' : 'registration.last_name.required'];
  if (!firstName) problems.firstName = [input.firstName.trim() ? 'registration.first_name.invalid' : 'registration.first_name.required'];
  if (input.middleName.trim() && !middleName) problems.middleName = ['registration.middle_name.invalid'];

  const contact = parseContactInput(input.contact);
  if (!contact.ok) problems.contact = [contact.reason];

  const passwordProblems = newPasswordProblems(input.password, input.passwordRepeat, {
    phone: contact.ok && contact.kind === 'phone' ? contact.value : null,
    email: contact.ok && contact.kind === 'email' ? contact.value : null,
    lastName: lastName ?? input.lastName.trim(),
  });
  Object.assign(problems, passwordProblems);

  if (Object.keys(problems).length || !lastName || !firstName || !contact.ok) return { ok: false, problems };
  return { ok: true, value: { lastName, firstName, middleName, contactKind: contact.kind, contactValue: contact.value, password: input.password } };
}

/** The ESIA password rule plus the repeat field; shared with recovery's new-password form. */
export function newPasswordProblems(
  password: string,
  repeat: string,
  context: Parameters<typeof checkPassword>[1],
): { password?: Array<PasswordProblem | 'new_password.required'>; passwordRepeat?: string[] } {
  const problems: { password?: Array<PasswordProblem | 'new_password.required'>; passwordRepeat?: string[] } = {};
  if (!password) problems.password = ['new_password.required'];
  else {
    const broken = checkPassword(password, context);
    if (broken.length) problems.password = broken;
  }
  if (!repeat) problems.passwordRepeat = ['new_password.repeat_required'];
  else if (password && repeat !== password) problems.passwordRepeat = ['new_password.mismatch'];
  return problems;
}

export interface RegistrationDeps {
  hasher: PasswordHasher;
  codeHasher: CodeHasher;
}

/**
 * Creates the flow and sends its first code, in one transaction. Throws the 429 AppErrors of
 * issueCode when the contact has had too many codes this hour (then nothing is stored).
 */
export async function startRegistration(db: Db, deps: RegistrationDeps, input: ValidRegistration & { interactionUid: string | null; now: Date }): Promise<RegistrationFlow> {
  // argon2 before the transaction: the hash takes tens of milliseconds and needs no lock.
  const passwordHash = await deps.hasher.hash(input.password);
  return db.transaction().execute(async (trx) => {
    const flow = await insertRegistrationFlow(trx, {
      lastName: input.lastName,
      firstName: input.firstName,
      middleName: input.middleName,
      contactKind: input.contactKind,
      contactValue: input.contactValue,
      passwordHash,
      interactionUid: input.interactionUid,
      createdAt: input.now,
      expiresAt: new Date(input.now.getTime() + REGISTRATION_FLOW_TTL_SECONDS * 1000),
    });
    await sendRegistrationCode(trx, deps.codeHasher, flow, input.now);
    return flow;
  });
}

/** A new code for a flow still waiting for one; the code rules (60 s pause, hourly cap) are issueCode's. */
export async function resendRegistrationCode(db: Db, codeHasher: CodeHasher, flowId: string, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const flow = await lockRegistrationFlow(trx, flowId);
    if (!flow || flow.state !== 'awaiting_code') throw new AppError('registration.flow_not_found', 404);
    if (flow.expires_at <= now) throw new AppError('registration.flow_expired', 410);
    await sendRegistrationCode(trx, codeHasher, flow, now);
  });
}

async function sendRegistrationCode(trx: DbOrTrx, codeHasher: CodeHasher, flow: RegistrationFlow, now: Date): Promise<void> {
  const channel = channelFor(flow.contact_kind);
  const code = await issueCode(trx, codeHasher, {
    purpose: REGISTRATION_CODE_PURPOSE, flowId: flow.id, channel, recipient: flow.contact_value, policy: CONTACT_CODE_POLICY, now,
  });
  await enqueueMessage(trx, { channel, recipient: flow.contact_value, template: 'registration_code', payload: { code, ttlMinutes: CONTACT_CODE_POLICY.ttlSeconds / 60 } }, now);
}

export type ConfirmRegistrationResult =
  | { outcome: 'registered'; citizenOid: string }
  /** The code was right, but the contact belongs to an account already (or just became one). */
  | { outcome: 'contact_taken' }
  | { outcome: 'code_refused'; check: Exclude<CodeCheck, { result: 'ok' }> }
  | { outcome: 'flow_expired' }
  /** Already completed or failed (a double submit): the flow's page says how it ended. */
  | { outcome: 'closed' };

/**
 * Checks the code and, when it is right, creates the citizen (simplified level, with the contact
 * the code just proved) — code, citizen, flow and audit event in one transaction.
 */
export async function confirmRegistration(
  db: Db,
  codeHasher: CodeHasher,
  input: { flowId: string; code: string; now: Date; requestId?: string | null },
): Promise<ConfirmRegistrationResult> {
  try {
    return await db.transaction().execute(async (trx): Promise<ConfirmRegistrationResult> => {
      const flow = await lockRegistrationFlow(trx, input.flowId);
      if (!flow || flow.state !== 'awaiting_code') return { outcome: 'closed' };
      if (flow.expires_at <= input.now) return { outcome: 'flow_expired' };
      // A refused code still commits: the spent try must count.
      const check = await checkCode(trx, codeHasher, { purpose: REGISTRATION_CODE_PURPOSE, flowId: flow.id, code: input.code, now: input.now });
      if (check.result !== 'ok') return { outcome: 'code_refused', check };

      if (await findCitizenByLogin(trx, { kind: flow.contact_kind, value: flow.contact_value })) {
        await failRegistrationFlow(trx, flow.id);
        return { outcome: 'contact_taken' };
      }
      const citizen = await insertCitizen(trx, {
        lastName: flow.last_name,
        firstName: flow.first_name,
        middleName: flow.middle_name,
        phone: flow.contact_kind === 'phone' ? flow.contact_value : null,
        email: flow.contact_kind === 'email' ? flow.contact_value : null,
        passwordHash: flow.password_hash,
        trustLevel: 'simplified',
      });
      await completeRegistrationFlow(trx, flow.id, citizen.oid);
      await recordAudit(trx, {
        type: 'citizen.registered',
        citizenOid: citizen.oid,
        actor: { type: 'citizen', oid: citizen.oid },
        details: { flowId: flow.id, contactKind: flow.contact_kind, entry: flow.interaction_uid ? 'interaction' : 'standalone' },
        requestId: input.requestId,
      });
      return { outcome: 'registered', citizenOid: citizen.oid };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // Lost a race: another registration with this contact committed between our look-up and our
    // insert. Our code was right (the insert comes after the check), so telling this browser that
    // the contact is taken reveals nothing it has not proved it controls.
    await failRegistrationFlow(db, input.flowId);
    return { outcome: 'contact_taken' };
  }
}
