import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { authenticateCitizen } from '../citizens/citizens.service.ts';
import { findCitizenByLogin, findCitizenByOid, findPrimaryAccount } from '../citizens/citizens.repository.ts';
import { CONTACT_CODE_POLICY, checkCode, issueCode, type CodeCheck, type CodeHasher } from '../codes/codes.service.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { parseLoginIdentifier } from '../shared/contacts.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { recordLoginAttempt, type AttemptReason } from './login-history.ts';
import { claimLoginAttempt, clearLoginThrottle } from './login-throttle.ts';
import type { SecondFactorKind } from './mfa-request.ts';
import { RATE_LIMITS, consumeRateLimit, ipKey, refundRateLimit } from './rate-limits.ts';
import { hashRecoveryCode, normalizeRecoveryCode } from './recovery-codes.ts';
import {
  advanceTotpStep, countUnusedRecoveryCodes, createPendingLogin, deletePendingLogin, findPendingLogin, findSecondFactors, lockPendingLogin,
  spendPendingAttempt, useRecoveryCode,
} from './second-factor.repository.ts';
import { notifySecurityEvent } from './security-notices.ts';
import type { LoginMethod } from './security.tables.ts';
import { checkTotp } from './totp.ts';

/**
 * Signing in with a password and, when the account has one (or the RP requires one), a second
 * factor. The login pages (interactions/) call these and only show what they return.
 *
 * Between the two steps the "password was right" state is a `pending_logins` row keyed by the OIDC
 * interaction, which oidc-provider binds to this browser's cookie: nothing the browser sends can
 * claim the password was checked.
 */
export interface LoginSecurityDeps {
  db: Db;
  hasher: PasswordHasher;
  codeHasher: CodeHasher;
  secretBox: SecretBox;
  /** Scales the per-IP login budget (IP_RATE_LIMIT_MULTIPLIER): many citizens may share one address. */
  ipRateLimitMultiplier?: number;
}

export interface AttemptContext {
  now: Date;
  ip: string;
  userAgent: string;
  client: { id: string; name: string };
  interactionUid: string;
  requestId?: string;
}

export const SECOND_FACTOR_CODE_PURPOSE = 'second_factor';
/** Wrong second-factor codes allowed per password entry; then the password is asked again. */
export const SECOND_FACTOR_ATTEMPTS = 5;
const PENDING_LOGIN_TTL_SECONDS = 10 * 60;

export type SecondFactorMethod = 'totp' | 'sms' | 'recovery';

/** What each method puts in the session's `amr` (RFC 8176). A recovery code is a one-time password: `otp`. */
export const METHOD_AMR: Record<SecondFactorMethod, SecondFactorKind> = { totp: 'otp', sms: 'sms', recovery: 'otp' };
const HISTORY_METHOD: Record<SecondFactorMethod, LoginMethod> = { totp: 'otp', sms: 'sms', recovery: 'recovery' };

export type PasswordOutcome =
  | { outcome: 'ip_limited'; retryAfterSeconds: number }
  | { outcome: 'throttled'; locked: boolean; retryAfterSeconds: number }
  /** `waitSeconds`: how long before the next try is accepted (0: at once). */
  | { outcome: 'invalid'; waitSeconds: number }
  | { outcome: 'signed_in'; citizen: Citizen; amr: string[] }
  | { outcome: 'second_factor'; citizen: Citizen };

/**
 * The password step. Limits first (per IP, then per typed identifier — the same for unknown ones),
 * then argon2. A right password either signs in or, with a second factor to come, opens a pending login.
 */
export async function loginWithPassword(
  deps: LoginSecurityDeps,
  input: AttemptContext & { login: string; password: string; secondFactorRequired: boolean },
): Promise<PasswordOutcome> {
  const { db } = deps;
  const { now } = input;
  const ipLimit = ipKey('login', input.ip);
  const ipPolicy = { ...RATE_LIMITS.login, points: RATE_LIMITS.login.points * (deps.ipRateLimitMultiplier ?? 1) };
  const byIp = await consumeRateLimit(db, ipLimit, ipPolicy, now);
  if (!byIp.allowed) {
    await recordForExisting(deps, input, 'ip_limited');
    return { outcome: 'ip_limited', retryAfterSeconds: byIp.retryAfterSeconds };
  }
  const throttleKey = loginThrottleKey(deps.codeHasher, input.login);
  const claim = await claimLoginAttempt(db, throttleKey, now);
  if (!claim.allowed) {
    await recordForExisting(deps, input, claim.locked ? 'locked' : 'throttled');
    return { outcome: 'throttled', locked: claim.locked, retryAfterSeconds: claim.retryAfterSeconds };
  }

  const citizen = await authenticateCitizen(db, deps.hasher, input.login, input.password);
  if (!citizen) {
    const owner = await findByTypedLogin(db, input.login);
    if (owner) {
      await db.transaction().execute(async (trx) => {
        await recordLoginAttempt(trx, { ...attempt(input, owner, 'pwd'), succeeded: false, reason: 'wrong_password' });
        if (claim.locksNow) {
          await recordAudit(trx, { type: 'security.account_locked', citizenOid: owner.oid, actor: { type: 'system' }, details: { seconds: claim.retryAfterSeconds }, requestId: input.requestId });
          await notifySecurityEvent(trx, owner, 'account_locked', now);
        }
      });
    }
    return { outcome: 'invalid', waitSeconds: claim.retryAfterSeconds };
  }

  // A right password is not a failed attempt from this IP.
  await refundRateLimit(db, ipLimit, now);
  const factors = await loginFactors(db, citizen);
  if (factors.enrolled || input.secondFactorRequired) {
    await db.transaction().execute(async (trx) => {
      await createPendingLogin(trx, { interactionUid: input.interactionUid, citizenOid: citizen.oid, throttleKey, attempts: SECOND_FACTOR_ATTEMPTS, now, ttlSeconds: PENDING_LOGIN_TTL_SECONDS });
      await recordLoginAttempt(trx, { ...attempt(input, citizen, 'pwd'), succeeded: false, reason: factors.enrolled ? 'second_factor_requested' : 'second_factor_missing' });
    });
    return { outcome: 'second_factor', citizen };
  }
  await db.transaction().execute(async (trx) => {
    await clearLoginThrottle(trx, throttleKey);
    await recordLoginAttempt(trx, { ...attempt(input, citizen, 'pwd'), succeeded: true });
  });
  return { outcome: 'signed_in', citizen, amr: ['pwd'] };
}

export interface LoginFactors {
  /** The citizen turned a second factor on. */
  enrolled: boolean;
  /** The methods usable now (SMS needs the phone; recovery codes need one left). */
  methods: SecondFactorMethod[];
  /** Where SMS codes go, 7XXXXXXXXXX. */
  phone: string | null;
}

export async function loginFactors(db: DbOrTrx, citizen: Citizen): Promise<LoginFactors> {
  const factors = await findSecondFactors(db, citizen.oid);
  const totp = Boolean(factors?.totp_enabled_at);
  const sms = Boolean(factors?.sms_enabled_at) && citizen.phone !== null;
  const enrolled = Boolean(factors?.totp_enabled_at || factors?.sms_enabled_at);
  const recovery = enrolled && (await countUnusedRecoveryCodes(db, citizen.oid)) > 0;
  const methods: SecondFactorMethod[] = [...(totp ? ['totp' as const] : []), ...(sms ? ['sms' as const] : []), ...(recovery ? ['recovery' as const] : [])];
  return { enrolled, methods, phone: citizen.phone };
}

/**
 * The citizen waiting for their second factor in this interaction. For a step-up (a password-only
 * session, an RP that requires a second factor) the session's account is the one: a pending login
 * is opened for it without asking the password again. Each step-up opening counts on the citizen's
 * own brute-force counter, as each password entry does on the login's: five code tries per opening,
 * and openings throttled, so holding a password-only session does not buy unlimited guesses.
 */
export async function pendingCitizen(
  deps: LoginSecurityDeps,
  input: { interactionUid: string; now: Date; stepUpAccountId?: string },
): Promise<{ citizen: Citizen } | { throttled: true; retryAfterSeconds: number } | undefined> {
  let pending = await findPendingLogin(deps.db, input.interactionUid, input.now);
  if (!pending && input.stepUpAccountId) {
    const accountId = input.stepUpAccountId;
    const throttleKey = `step_up:${deps.codeHasher(`step_up:${accountId}`)}`;
    const claim = await claimLoginAttempt(deps.db, throttleKey, input.now);
    if (!claim.allowed) return { throttled: true, retryAfterSeconds: claim.retryAfterSeconds };
    pending = await deps.db.transaction().execute((trx) =>
      createPendingLogin(trx, { interactionUid: input.interactionUid, citizenOid: accountId, throttleKey, attempts: SECOND_FACTOR_ATTEMPTS, now: input.now, ttlSeconds: PENDING_LOGIN_TTL_SECONDS }),
    );
  }
  const citizen = pending && (await findCitizenByOid(deps.db, pending.citizen_oid));
  return citizen ? { citizen } : undefined;
}

export type SecondFactorOutcome =
  | { outcome: 'signed_in'; citizen: Citizen; amr: string[] }
  | { outcome: 'refused'; reason: AttemptReason; codeCheck?: CodeCheck }
  /** No pending login any more (expired, or too many wrong codes): the password again. */
  | { outcome: 'restart'; reason: 'expired' | 'too_many_attempts' };

/**
 * Checks a second-factor code. The pending login is locked for the check, so submissions for one
 * interaction are judged one at a time; a TOTP step and a recovery code are each accepted once,
 * even against racing requests from other browsers.
 */
export async function loginWithSecondFactor(
  deps: LoginSecurityDeps,
  input: AttemptContext & { method: SecondFactorMethod; code: string; allowed: SecondFactorMethod[] },
): Promise<SecondFactorOutcome> {
  const { now } = input;
  return deps.db.transaction().execute(async (trx): Promise<SecondFactorOutcome> => {
    const pending = await lockPendingLogin(trx, input.interactionUid, now);
    const citizen = pending && (await findCitizenByOid(trx, pending.citizen_oid));
    if (!pending || !citizen) return { outcome: 'restart', reason: 'expired' };
    const method = input.method;
    const verdict = input.allowed.includes(method) ? await verifyFactor(trx, deps, citizen, pending.id, method, input.code, now) : { ok: false as const, reason: 'wrong_code' as const };

    if (verdict.ok) {
      await deletePendingLogin(trx, pending.id);
      if (pending.throttle_key) await clearLoginThrottle(trx, pending.throttle_key);
      await recordLoginAttempt(trx, { ...attempt(input, citizen, HISTORY_METHOD[method]), succeeded: true });
      if (method === 'recovery') {
        await recordAudit(trx, { type: 'security.recovery_code_used', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { left: await countUnusedRecoveryCodes(trx, citizen.oid) }, requestId: input.requestId });
        await notifySecurityEvent(trx, citizen, 'recovery_code_used', now);
      }
      return { outcome: 'signed_in', citizen, amr: ['pwd', METHOD_AMR[method]] };
    }
    await recordLoginAttempt(trx, { ...attempt(input, citizen, HISTORY_METHOD[method]), succeeded: false, reason: verdict.reason });
    if ((await spendPendingAttempt(trx, pending.id)) <= 0) {
      await deletePendingLogin(trx, pending.id);
      return { outcome: 'restart', reason: 'too_many_attempts' };
    }
    return { outcome: 'refused', reason: verdict.reason, codeCheck: verdict.codeCheck };
  });
}

type Verdict = { ok: true } | { ok: false; reason: AttemptReason; codeCheck?: CodeCheck };

async function verifyFactor(trx: DbOrTrx, deps: LoginSecurityDeps, citizen: Citizen, pendingId: string, method: SecondFactorMethod, code: string, now: Date): Promise<Verdict> {
  if (method === 'totp') {
    const factors = await findSecondFactors(trx, citizen.oid);
    if (!factors?.totp_enabled_at || !factors.totp_secret_sealed) return { ok: false, reason: 'wrong_code' };
    const lastStep = factors.totp_last_step === null ? null : Number(factors.totp_last_step);
    const check = await checkTotp(deps.secretBox.open(factors.totp_secret_sealed), code, now, lastStep);
    if (!check.ok) return { ok: false, reason: check.reused ? 'code_reused' : 'wrong_code' };
    return (await advanceTotpStep(trx, citizen.oid, check.step, now)) ? { ok: true } : { ok: false, reason: 'code_reused' };
  }
  if (method === 'sms') {
    const check = await checkCode(trx, deps.codeHasher, { purpose: SECOND_FACTOR_CODE_PURPOSE, flowId: pendingId, code, now });
    if (check.result === 'ok') return { ok: true };
    const reason = check.result === 'wrong' ? 'wrong_code' : check.result === 'exhausted' ? 'too_many_codes' : 'code_expired';
    return { ok: false, reason, codeCheck: check };
  }
  const normalized = normalizeRecoveryCode(code);
  if (!normalized) return { ok: false, reason: 'wrong_code' };
  return (await useRecoveryCode(trx, citizen.oid, hashRecoveryCode(deps.codeHasher, citizen.oid, normalized), now)) ? { ok: true } : { ok: false, reason: 'wrong_code' };
}

export type SendCodeOutcome = { outcome: 'sent'; phone: string } | { outcome: 'unavailable' } | { outcome: 'restart' };

/**
 * Sends an SMS code for the pending login (codes.service's rules: a pause between sends, a cap
 * per phone per hour; those throw a 429 AppError with retryAfterSeconds).
 */
export async function sendLoginCode(deps: LoginSecurityDeps, input: { interactionUid: string; now: Date }): Promise<SendCodeOutcome> {
  const { now } = input;
  return deps.db.transaction().execute(async (trx): Promise<SendCodeOutcome> => {
    const pending = await lockPendingLogin(trx, input.interactionUid, now);
    const citizen = pending && (await findCitizenByOid(trx, pending.citizen_oid));
    if (!pending || !citizen) return { outcome: 'restart' };
    const factors = await loginFactors(trx, citizen);
    if (!factors.methods.includes('sms') || !citizen.phone) return { outcome: 'unavailable' };
    const code = await issueCode(trx, deps.codeHasher, { purpose: SECOND_FACTOR_CODE_PURPOSE, flowId: pending.id, channel: 'sms', recipient: citizen.phone, policy: CONTACT_CODE_POLICY, now });
    await enqueueMessage(trx, { channel: 'sms', recipient: citizen.phone, template: 'login_code', payload: { code, ttlMinutes: CONTACT_CODE_POLICY.ttlSeconds / 60 } }, now);
    return { outcome: 'sent', phone: citizen.phone };
  });
}

/** The brute-force counter of what was typed in the login field: normalised, then an HMAC (no logins in clear). */
export function loginThrottleKey(hash: CodeHasher, login: string): string {
  const identifier = parseLoginIdentifier(login);
  return `login:${hash(identifier ? `${identifier.kind}:${identifier.value}` : `raw:${login.trim().toLowerCase()}`)}`;
}

/** The account the typed login signs in to: for an alias's phone or e-mail (src/merge), its primary, whose history it is. */
async function findByTypedLogin(db: DbOrTrx, login: string): Promise<Citizen | undefined> {
  const identifier = parseLoginIdentifier(login);
  const citizen = identifier ? await findCitizenByLogin(db, identifier) : undefined;
  return citizen && findPrimaryAccount(db, citizen);
}

/** Refused before the password was checked: still in the owner's history, if the login is someone's. */
async function recordForExisting(deps: LoginSecurityDeps, input: AttemptContext & { login: string }, reason: AttemptReason): Promise<void> {
  const owner = await findByTypedLogin(deps.db, input.login);
  if (owner) await recordLoginAttempt(deps.db, { ...attempt(input, owner, 'pwd'), succeeded: false, reason });
}

function attempt(input: AttemptContext, citizen: Citizen, method: LoginMethod) {
  return { citizen, now: input.now, ip: input.ip, userAgent: input.userAgent, method, client: input.client };
}
