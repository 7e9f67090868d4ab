import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import type { CodeChannel } from './codes.table.ts';

/**
 * One-time codes sent to a phone, an e-mail or by post. One place for the rules every journey
 * shares: expiry, a limited number of tries, a pause before re-sending, a cap per contact per hour,
 * and single use even when two requests race.
 */
export interface CodePolicy {
  digits: number;
  ttlSeconds: number;
  maxAttempts: number;
  resendAfterSeconds: number;
  maxSendsPerHour: number;
}

/** SMS and e-mail codes (registration, recovery, contact change, second factor). */
export const CONTACT_CODE_POLICY: CodePolicy = { digits: 6, ttlSeconds: 5 * 60, maxAttempts: 3, resendAfterSeconds: 60, maxSendsPerHour: 5 };

export type CodeHasher = (code: string) => string;

export function createCodeHasher(key: Buffer): CodeHasher {
  return (code) => createHmac('sha256', key).update(code).digest('base64url');
}

export interface IssueCodeInput {
  purpose: string;
  flowId: string;
  channel: CodeChannel;
  recipient: string;
  policy: CodePolicy;
  now: Date;
}

/**
 * Creates a fresh code for a flow (the flow's earlier codes stop working) and returns it, for the
 * caller to put in a message in the same transaction. Throws `code.resend_too_soon` or
 * `code.too_many_sends` (429, with `retryAfterSeconds`) when the limits say wait.
 */
export async function issueCode(trx: DbOrTrx, hash: CodeHasher, input: IssueCodeInput): Promise<string> {
  const { policy, now } = input;
  // Serialise sends to one contact, so two racing requests cannot both slip under the hourly cap.
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`code:${input.recipient}`}))`.execute(trx);

  const wait = await secondsUntilResend(trx, input);
  if (wait > 0) throw new AppError('code.resend_too_soon', 429, 'wait before asking for another code', { retryAfterSeconds: wait });

  const hourAgo = new Date(now.getTime() - 3600_000);
  const recent = await trx
    .selectFrom('one_time_codes')
    .select('created_at')
    .where('recipient', '=', input.recipient)
    .where('created_at', '>', hourAgo)
    .orderBy('created_at', 'asc')
    .execute();
  if (recent.length >= policy.maxSendsPerHour) {
    const wait = Math.ceil((recent[0].created_at.getTime() + 3600_000 - now.getTime()) / 1000);
    throw new AppError('code.too_many_sends', 429, 'too many codes sent to this contact', { retryAfterSeconds: Math.max(wait, 1) });
  }

  await trx
    .updateTable('one_time_codes')
    .set({ consumed_at: now })
    .where('purpose', '=', input.purpose)
    .where('flow_id', '=', input.flowId)
    .where('consumed_at', 'is', null)
    .execute();

  const code = String(randomInt(0, 10 ** policy.digits)).padStart(policy.digits, '0');
  await trx
    .insertInto('one_time_codes')
    .values({
      purpose: input.purpose,
      flow_id: input.flowId,
      channel: input.channel,
      recipient: input.recipient,
      code_hash: hash(code),
      attempts_left: policy.maxAttempts,
      expires_at: new Date(now.getTime() + policy.ttlSeconds * 1000),
      created_at: now,
    })
    .execute();
  return code;
}

export type CodeCheck =
  | { result: 'ok' }
  | { result: 'wrong'; attemptsLeft: number }
  | { result: 'exhausted' }
  | { result: 'expired' }
  | { result: 'no_code' };

/**
 * Checks a typed code against the flow's current code. A wrong code costs a try; the last wrong
 * try burns the code. The caller must commit the transaction even when the answer is not `ok`,
 * so that the spent try counts. Exactly one of several racing correct submissions gets `ok`.
 */
export async function checkCode(trx: DbOrTrx, hash: CodeHasher, input: { purpose: string; flowId: string; code: string; now: Date }): Promise<CodeCheck> {
  const current = await trx
    .selectFrom('one_time_codes')
    .select(['id', 'code_hash', 'attempts_left', 'expires_at'])
    .where('purpose', '=', input.purpose)
    .where('flow_id', '=', input.flowId)
    .where('consumed_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst();
  if (!current) return { result: 'no_code' };
  if (current.expires_at <= input.now) return { result: 'expired' };
  if (current.attempts_left <= 0) return { result: 'exhausted' };

  const typed = input.code.replace(/\s/g, '');
  if (/^\d+$/.test(typed) && safeEqual(hash(typed), current.code_hash)) {
    const used = await trx.updateTable('one_time_codes').set({ consumed_at: input.now }).where('id', '=', current.id).where('consumed_at', 'is', null).executeTakeFirst();
    return used.numUpdatedRows === 1n ? { result: 'ok' } : { result: 'no_code' };
  }
  const attemptsLeft = current.attempts_left - 1;
  await trx
    .updateTable('one_time_codes')
    .set({ attempts_left: attemptsLeft, ...(attemptsLeft === 0 ? { consumed_at: input.now } : {}) })
    .where('id', '=', current.id)
    .execute();
  return attemptsLeft === 0 ? { result: 'exhausted' } : { result: 'wrong', attemptsLeft };
}

/** Seconds until the flow may ask for another code (0 when it may now). */
export async function secondsUntilResend(db: DbOrTrx, input: { purpose: string; flowId: string; policy: CodePolicy; now: Date }): Promise<number> {
  const latest = await db
    .selectFrom('one_time_codes')
    .select('created_at')
    .where('purpose', '=', input.purpose)
    .where('flow_id', '=', input.flowId)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!latest) return 0;
  return Math.max(0, Math.ceil((latest.created_at.getTime() + input.policy.resendAfterSeconds * 1000 - input.now.getTime()) / 1000));
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
