import type { Db } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import type { CodeHasher } from '../codes/codes.service.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { claimLoginAttempt, clearLoginThrottle } from './login-throttle.ts';
import { newRecoveryCodes, hashRecoveryCode } from './recovery-codes.ts';
import { notifySecurityEvent } from './security-notices.ts';
import {
  countUnusedRecoveryCodes, deleteRecoveryCodes, findSecondFactors, lockSecondFactors, replaceRecoveryCodes, updateSecondFactors,
} from './second-factor.repository.ts';
import { checkTotp, newTotpSecret } from './totp.ts';

/**
 * Setting up and turning off the second factor from the account pages. Every change is one
 * transaction with its audit event and the notice to the citizen; turning it off and new recovery
 * codes need the current password again (a borrowed, signed-in browser is not enough).
 */
export interface SecurityDeps {
  db: Db;
  hasher: PasswordHasher;
  codeHasher: CodeHasher;
  secretBox: SecretBox;
}

/** An enrolment page's secret stays the same for this long (a reload shows the same QR code). */
const PENDING_TOTP_SECONDS = 15 * 60;

export interface SecurityStatus {
  totpEnabledAt: Date | null;
  smsEnabledAt: Date | null;
  /** SMS needs a confirmed phone. */
  smsAvailable: boolean;
  recoveryCodesLeft: number;
  enabled: boolean;
}

export async function securityStatus(db: Db, citizen: Citizen): Promise<SecurityStatus> {
  const factors = await findSecondFactors(db, citizen.oid);
  const totpEnabledAt = factors?.totp_enabled_at ?? null;
  const smsEnabledAt = factors?.sms_enabled_at ?? null;
  return {
    totpEnabledAt,
    smsEnabledAt,
    smsAvailable: citizen.phone !== null,
    recoveryCodesLeft: await countUnusedRecoveryCodes(db, citizen.oid),
    enabled: totpEnabledAt !== null || smsEnabledAt !== null,
  };
}

/** The secret to show on the enrolment page: the one shown recently, else a new one (sealed at rest). */
export async function startTotpEnrolment(deps: SecurityDeps, citizen: Citizen, now: Date): Promise<{ secret: string } | { alreadyEnabled: true }> {
  return deps.db.transaction().execute(async (trx) => {
    const factors = await lockSecondFactors(trx, citizen.oid, now);
    if (factors.totp_enabled_at) return { alreadyEnabled: true as const };
    const fresh = factors.totp_pending_sealed && factors.totp_pending_created_at && now.getTime() - factors.totp_pending_created_at.getTime() < PENDING_TOTP_SECONDS * 1000;
    if (fresh) return { secret: deps.secretBox.open(factors.totp_pending_sealed!) };
    const secret = newTotpSecret();
    await updateSecondFactors(trx, citizen.oid, { totp_pending_sealed: deps.secretBox.seal(secret), totp_pending_created_at: now }, now);
    return { secret };
  });
}

export type EnrolmentResult =
  | { result: 'enabled'; recoveryCodes: string[] | null }
  | { result: 'wrong_code' }
  | { result: 'no_enrolment' }
  | { result: 'already_enabled' };

/** Turns TOTP on after a correct code from the app; the first factor also brings recovery codes. */
export async function confirmTotpEnrolment(deps: SecurityDeps, citizen: Citizen, input: { code: string; now: Date; requestId?: string }): Promise<EnrolmentResult> {
  const { now } = input;
  return deps.db.transaction().execute(async (trx): Promise<EnrolmentResult> => {
    const factors = await lockSecondFactors(trx, citizen.oid, now);
    if (factors.totp_enabled_at) return { result: 'already_enabled' };
    if (!factors.totp_pending_sealed) return { result: 'no_enrolment' };
    const secret = deps.secretBox.open(factors.totp_pending_sealed);
    const check = await checkTotp(secret, input.code, now, null);
    if (!check.ok) return { result: 'wrong_code' };
    await updateSecondFactors(trx, citizen.oid, {
      totp_secret_sealed: factors.totp_pending_sealed, totp_enabled_at: now, totp_last_step: check.step, totp_pending_sealed: null, totp_pending_created_at: null,
    }, now);
    const firstFactor = factors.sms_enabled_at === null;
    const recoveryCodes = firstFactor ? await issueRecoveryCodes(trx, deps.codeHasher, citizen.oid, now) : null;
    await recordAudit(trx, { type: 'security.second_factor_enabled', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { method: 'totp' }, requestId: input.requestId });
    await notifySecurityEvent(trx, citizen, 'second_factor_enabled', now);
    return { result: 'enabled', recoveryCodes };
  });
}

export type ReauthenticatedResult<T> = T | { result: 'wrong_password' } | { result: 'throttled'; retryAfterSeconds: number };

/** Turns SMS codes on as a second factor (the phone is already confirmed). */
export async function enableSmsFactor(deps: SecurityDeps, citizen: Citizen, input: { password: string; now: Date; requestId?: string }): Promise<ReauthenticatedResult<{ result: 'enabled'; recoveryCodes: string[] | null } | { result: 'no_phone' }>> {
  if (!citizen.phone) return { result: 'no_phone' };
  const reauth = await reauthenticate(deps, citizen, input.password, input.now, input.requestId);
  if (reauth) return reauth;
  const { now } = input;
  return deps.db.transaction().execute(async (trx) => {
    const factors = await lockSecondFactors(trx, citizen.oid, now);
    if (factors.sms_enabled_at) return { result: 'enabled' as const, recoveryCodes: null };
    await updateSecondFactors(trx, citizen.oid, { sms_enabled_at: now }, now);
    const recoveryCodes = factors.totp_enabled_at === null ? await issueRecoveryCodes(trx, deps.codeHasher, citizen.oid, now) : null;
    await recordAudit(trx, { type: 'security.second_factor_enabled', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { method: 'sms' }, requestId: input.requestId });
    await notifySecurityEvent(trx, citizen, 'second_factor_enabled', now);
    return { result: 'enabled' as const, recoveryCodes };
  });
}

/** Turns every second factor off and voids the recovery codes. */
export async function disableSecondFactor(deps: SecurityDeps, citizen: Citizen, input: { password: string; now: Date; requestId?: string }): Promise<ReauthenticatedResult<{ result: 'disabled' | 'not_enabled' }>> {
  const reauth = await reauthenticate(deps, citizen, input.password, input.now, input.requestId);
  if (reauth) return reauth;
  const { now } = input;
  return deps.db.transaction().execute(async (trx) => {
    const factors = await lockSecondFactors(trx, citizen.oid, now);
    const methods = [...(factors.totp_enabled_at ? ['totp'] : []), ...(factors.sms_enabled_at ? ['sms'] : [])];
    if (!methods.length) return { result: 'not_enabled' as const };
    await updateSecondFactors(trx, citizen.oid, {
      totp_secret_sealed: null, totp_enabled_at: null, totp_last_step: null, totp_pending_sealed: null, totp_pending_created_at: null, sms_enabled_at: null,
    }, now);
    await deleteRecoveryCodes(trx, citizen.oid);
    await recordAudit(trx, { type: 'security.second_factor_disabled', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { methods }, requestId: input.requestId });
    await notifySecurityEvent(trx, citizen, 'second_factor_disabled', now);
    return { result: 'disabled' as const };
  });
}

/** Ten new recovery codes (the old ones stop working), shown once. */
export async function regenerateRecoveryCodes(deps: SecurityDeps, citizen: Citizen, input: { password: string; now: Date; requestId?: string }): Promise<ReauthenticatedResult<{ result: 'regenerated'; recoveryCodes: string[] } | { result: 'not_enabled' }>> {
  const reauth = await reauthenticate(deps, citizen, input.password, input.now, input.requestId);
  if (reauth) return reauth;
  const { now } = input;
  return deps.db.transaction().execute(async (trx) => {
    const factors = await lockSecondFactors(trx, citizen.oid, now);
    if (!factors.totp_enabled_at && !factors.sms_enabled_at) return { result: 'not_enabled' as const };
    const recoveryCodes = await issueRecoveryCodes(trx, deps.codeHasher, citizen.oid, now);
    await recordAudit(trx, { type: 'security.recovery_codes_regenerated', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, requestId: input.requestId });
    await notifySecurityEvent(trx, citizen, 'recovery_codes_regenerated', now);
    return { result: 'regenerated' as const, recoveryCodes };
  });
}

async function issueRecoveryCodes(trx: Parameters<typeof replaceRecoveryCodes>[0], hash: CodeHasher, citizenOid: string, now: Date): Promise<string[]> {
  const codes = newRecoveryCodes();
  await replaceRecoveryCodes(trx, citizenOid, codes.map((code) => hashRecoveryCode(hash, citizenOid, code)), now);
  return codes;
}

/**
 * The current password, under the same brute-force counter rules as the login (its own counter per
 * citizen): a stolen session cannot be used to guess the password here either.
 * Returns undefined when the password is right.
 */
async function reauthenticate(deps: SecurityDeps, citizen: Citizen, password: string, now: Date, requestId?: string): Promise<{ result: 'wrong_password' } | { result: 'throttled'; retryAfterSeconds: number } | undefined> {
  // Keyed by an HMAC of the OID: the counters table holds no personal data in clear.
  const key = `reauth:${deps.codeHasher(`reauth:${citizen.oid}`)}`;
  const claim = await claimLoginAttempt(deps.db, key, now);
  if (!claim.allowed) return { result: 'throttled', retryAfterSeconds: claim.retryAfterSeconds };
  if (password && (await deps.hasher.verify(citizen.password_hash, password))) {
    await clearLoginThrottle(deps.db, key);
    return undefined;
  }
  if (claim.locksNow) {
    await deps.db.transaction().execute(async (trx) => {
      await recordAudit(trx, { type: 'security.account_locked', citizenOid: citizen.oid, actor: { type: 'system' }, details: { by: 'reauthentication', seconds: claim.retryAfterSeconds }, requestId });
      await notifySecurityEvent(trx, citizen, 'account_locked', now);
    });
  }
  return { result: 'wrong_password' };
}
