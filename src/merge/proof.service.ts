import type { Db } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { CONTACT_CODE_POLICY, checkCode, issueCode, secondsUntilResend, type CodeHasher } from '../codes/codes.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { claimLoginAttempt, clearLoginThrottle } from '../security/login-throttle.ts';
import { findLiveFlow, insertFlow, markFlowProved } from './merge.repository.ts';
import type { MergeFlow } from './merge.tables.ts';

/**
 * Proving control of the other account before it is linked: its password, or a code sent to its
 * phone or e-mail. The proof is written on the flow row (server-side); the browser only ever holds
 * the candidate's OID in the URL.
 *
 * Password guesses count on a counter per candidate account with the login's rules (five free, then
 * growing waits, the tenth locks for 15 minutes), so a session of one account cannot be used to
 * guess another's password. Codes follow codes.service's rules: 5 minutes, 3 tries, a pause between
 * sends and a cap per contact per hour.
 */
export interface ProofDeps {
  db: Db;
  hasher: PasswordHasher;
  codeHasher: CodeHasher;
}

export const MERGE_CODE_PURPOSE = 'merge_proof';
/** How long a started attempt waits for its proof. */
export const FLOW_TTL_SECONDS = 30 * 60;
/** How long a proof stays good for the confirmation. */
export const PROVED_TTL_SECONDS = 15 * 60;

export type ProofChannel = 'phone' | 'email';

export type ProofOutcome =
  | { result: 'proved' }
  | { result: 'wrong_password'; waitSeconds: number }
  | { result: 'throttled'; retryAfterSeconds: number }
  | { result: 'wrong_code'; attemptsLeft: number }
  /** The code's last try was spent: a new code after the resend pause. */
  | { result: 'code_exhausted'; retryAfterSeconds: number }
  | { result: 'code_expired' }
  | { result: 'no_code' };

interface ProofInput {
  citizen: Citizen;
  candidate: Citizen;
  now: Date;
  requestId?: string;
}

export async function proveWithPassword(deps: ProofDeps, input: ProofInput & { password: string }): Promise<ProofOutcome> {
  const { db } = deps;
  const key = proofThrottleKey(deps.codeHasher, input.candidate.oid);
  const claim = await claimLoginAttempt(db, key, input.now);
  if (!claim.allowed) return { result: 'throttled', retryAfterSeconds: claim.retryAfterSeconds };
  if (!input.password || !(await deps.hasher.verify(input.candidate.password_hash, input.password))) {
    if (claim.locksNow) {
      await recordAudit(db, { type: 'merge.proof_locked', citizenOid: input.candidate.oid, actor: { type: 'citizen', oid: input.citizen.oid }, details: { seconds: claim.retryAfterSeconds }, requestId: input.requestId });
    }
    return { result: 'wrong_password', waitSeconds: claim.retryAfterSeconds };
  }
  await db.transaction().execute(async (trx) => {
    await clearLoginThrottle(trx, key);
    const flow = (await findLiveFlow(trx, input.citizen.oid, input.candidate.oid, input.now, { lock: true })) ?? (await insertFlow(trx, { citizenOid: input.citizen.oid, candidateOid: input.candidate.oid, now: input.now, ttlSeconds: FLOW_TTL_SECONDS }));
    await recordProof(trx, flow, 'password', input);
  });
  return { result: 'proved' };
}

export type SendCodeOutcome = { result: 'sent'; channel: ProofChannel } | { result: 'no_contact' } | { result: 'already_proved' };

/**
 * Sends a code to the candidate's phone or e-mail. The send limits throw codes.service's 429
 * AppError (`code.resend_too_soon`, `code.too_many_sends`) with `retryAfterSeconds`.
 */
export async function sendProofCode(deps: ProofDeps, input: ProofInput & { channel: ProofChannel }): Promise<SendCodeOutcome> {
  const recipient = input.channel === 'phone' ? input.candidate.phone : input.candidate.email;
  if (!recipient) return { result: 'no_contact' };
  return deps.db.transaction().execute(async (trx): Promise<SendCodeOutcome> => {
    const flow = (await findLiveFlow(trx, input.citizen.oid, input.candidate.oid, input.now, { lock: true })) ?? (await insertFlow(trx, { citizenOid: input.citizen.oid, candidateOid: input.candidate.oid, now: input.now, ttlSeconds: FLOW_TTL_SECONDS }));
    if (flow.state === 'proved') return { result: 'already_proved' };
    const channel = input.channel === 'phone' ? 'sms' : 'email';
    const code = await issueCode(trx, deps.codeHasher, { purpose: MERGE_CODE_PURPOSE, flowId: flow.id, channel, recipient, policy: CONTACT_CODE_POLICY, now: input.now });
    await enqueueMessage(trx, { channel, recipient, template: 'merge_code', payload: { code, ttlMinutes: CONTACT_CODE_POLICY.ttlSeconds / 60 } }, input.now);
    return { result: 'sent', channel: input.channel };
  });
}

export async function proveWithCode(deps: ProofDeps, input: ProofInput & { code: string }): Promise<ProofOutcome> {
  // A refused code still commits: the spent try must count.
  return deps.db.transaction().execute(async (trx): Promise<ProofOutcome> => {
    const flow = await findLiveFlow(trx, input.citizen.oid, input.candidate.oid, input.now, { lock: true });
    if (!flow) return { result: 'no_code' };
    if (flow.state === 'proved') return { result: 'proved' };
    const sent = await trx.selectFrom('one_time_codes').select('channel').where('purpose', '=', MERGE_CODE_PURPOSE).where('flow_id', '=', flow.id).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    const check = await checkCode(trx, deps.codeHasher, { purpose: MERGE_CODE_PURPOSE, flowId: flow.id, code: input.code, now: input.now });
    switch (check.result) {
      case 'ok':
        await recordProof(trx, flow, sent?.channel === 'sms' ? 'phone' : 'email', input);
        return { result: 'proved' };
      case 'wrong':
        return { result: 'wrong_code', attemptsLeft: check.attemptsLeft };
      case 'exhausted': {
        const wait = await secondsUntilResend(trx, { purpose: MERGE_CODE_PURPOSE, flowId: flow.id, policy: CONTACT_CODE_POLICY, now: input.now });
        return { result: 'code_exhausted', retryAfterSeconds: Math.max(1, wait) };
      }
      case 'expired':
        return { result: 'code_expired' };
      default:
        return { result: 'no_code' };
    }
  });
}

/** Whether a code for this attempt is waiting to be typed (the page then shows the code field). */
export async function hasPendingCode(db: Db, flow: MergeFlow | undefined, now: Date): Promise<boolean> {
  if (!flow || flow.state !== 'awaiting_proof') return false;
  const code = await db
    .selectFrom('one_time_codes').select('id')
    .where('purpose', '=', MERGE_CODE_PURPOSE).where('flow_id', '=', flow.id).where('consumed_at', 'is', null).where('expires_at', '>', now)
    .executeTakeFirst();
  return code !== undefined;
}

async function recordProof(trx: Parameters<typeof markFlowProved>[0], flow: MergeFlow, method: 'password' | ProofChannel, input: ProofInput): Promise<void> {
  if (flow.state === 'proved') return;
  await markFlowProved(trx, flow.id, method, input.now, PROVED_TTL_SECONDS);
  await recordAudit(trx, { type: 'merge.control_proved', citizenOid: input.citizen.oid, actor: { type: 'citizen', oid: input.citizen.oid }, details: { candidateOid: input.candidate.oid, method }, requestId: input.requestId });
}

/** Keyed by an HMAC of the candidate's OID: the counters table holds no identifiers in clear. */
function proofThrottleKey(hash: CodeHasher, candidateOid: string): string {
  return `merge_proof:${hash(`merge_proof:${candidateOid}`)}`;
}
