import type { Db, DbOrTrx } from '../db/database.ts';
import type { CodeHasher, CodePolicy } from '../codes/codes.service.ts';
import { checkCode, issueCode } from '../codes/codes.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { changeTrustLevel } from '../trust/trust.service.ts';
import { AppError, assertThat } from '../shared/app-error.ts';
import { calendarDate } from '../shared/validators.ts';
import { notifyTrustLevelChanged } from './trust-notification.ts';
import type { ConfirmationLetter } from './verification.tables.ts';

/**
 * Confirmation by post (standard → confirmed): a letter with a code goes to the registration
 * address; typing the code proves the citizen lives there. The letter is a row with a state
 * (sent → confirmed | locked | expired); its code is an ordinary one-time code whose flow is the letter.
 */

const DAY = 24 * 3600;
export const LETTER_TTL_SECONDS = 30 * DAY;

/**
 * Eight digits: the code lives for a month, so it gets a larger space than a five-minute SMS code.
 * Each letter is its own flow, so the pause between letters is LETTER_REORDER_PAUSE_SECONDS (per
 * citizen); the hourly cap is per address (a family shares one).
 */
export const LETTER_CODE_POLICY: CodePolicy = { digits: 8, ttlSeconds: LETTER_TTL_SECONDS, maxAttempts: 5, resendAfterSeconds: DAY, maxSendsPerHour: 3 };
/** Letters cost postage and take days: one a day per citizen is plenty. */
export const LETTER_REORDER_PAUSE_SECONDS = DAY;
export const LETTER_CODE_PURPOSE = 'letter';

export async function findRegistrationAddress(db: DbOrTrx, citizenOid: string): Promise<string | undefined> {
  const address = await db.selectFrom('citizen_addresses').select('address_str').where('citizen_oid', '=', citizenOid).where('type', '=', 'PRG').executeTakeFirst();
  return address?.address_str;
}

export async function findLatestLetter(db: DbOrTrx, citizenOid: string): Promise<ConfirmationLetter | undefined> {
  return db.selectFrom('confirmation_letters').selectAll().where('citizen_oid', '=', citizenOid).orderBy('created_at', 'desc').orderBy('id').limit(1).executeTakeFirst();
}

/** Marks the citizen's overdue letters expired: one statement, safe to run on every page view. */
export async function expireOverdueLetters(db: DbOrTrx, citizenOid: string, now: Date): Promise<void> {
  await db.updateTable('confirmation_letters').set({ state: 'expired' }).where('citizen_oid', '=', citizenOid).where('state', '=', 'sent').where('expires_at', '<=', now).execute();
}

/** When the citizen may order the next letter (undefined: now). */
export function nextLetterAllowedAt(latest: ConfirmationLetter | undefined, now: Date): Date | undefined {
  if (!latest) return undefined;
  const allowed = new Date(latest.created_at.getTime() + LETTER_REORDER_PAUSE_SECONDS * 1000);
  return allowed > now ? allowed : undefined;
}

/**
 * Orders a letter. Refuses `letter.not_standard`, `letter.no_address`, `letter.already_sent` (a
 * letter is still on its way or waiting for its code) and `letter.too_soon` (429).
 */
export async function orderConfirmationLetter(
  db: Db,
  hash: CodeHasher,
  input: { citizenOid: string; now: Date; requestId?: string | null },
): Promise<ConfirmationLetter> {
  const { now } = input;
  return db.transaction().execute(async (trx) => {
    // Locking the citizen serialises two orders, so there is never more than one active letter.
    const citizen = await trx.selectFrom('citizens').select(['oid', 'trust_level', 'last_name', 'first_name', 'middle_name']).where('oid', '=', input.citizenOid).forUpdate().executeTakeFirst();
    assertThat(citizen, () => new AppError('error.not_found', 404));
    assertThat(citizen.trust_level === 'standard', () => new AppError('letter.not_standard', 409, 'letters confirm standard accounts only'));
    const address = await findRegistrationAddress(trx, citizen.oid);
    assertThat(address, () => new AppError('letter.no_address', 400, 'a registration address is required'));
    await expireOverdueLetters(trx, citizen.oid, now);
    const latest = await findLatestLetter(trx, citizen.oid);
    assertThat(latest?.state !== 'sent', () => new AppError('letter.already_sent', 409, 'a letter is already on its way'));
    const allowedAt = nextLetterAllowedAt(latest, now);
    assertThat(!allowedAt, () => new AppError('letter.too_soon', 429, 'wait before ordering another letter', { retryAfterSeconds: Math.ceil((allowedAt!.getTime() - now.getTime()) / 1000) }));

    const letter = await trx
      .insertInto('confirmation_letters')
      .values({ citizen_oid: citizen.oid, address_str: address, created_at: now, expires_at: new Date(now.getTime() + LETTER_TTL_SECONDS * 1000) })
      .returningAll()
      .executeTakeFirstOrThrow();
    const code = await issueCode(trx, hash, { purpose: LETTER_CODE_PURPOSE, flowId: letter.id, channel: 'post', recipient: address, policy: LETTER_CODE_POLICY, now });
    // A paper letter needs its addressee; the expiry date is printed on it.
    const fullName = [citizen.last_name, citizen.first_name, citizen.middle_name].filter(Boolean).join(' ');
    await enqueueMessage(trx, { channel: 'post', recipient: address, template: 'letter_code', payload: { code, fullName, expiresOn: calendarDate(letter.expires_at) } }, now);
    await recordAudit(trx, { type: 'letter.ordered', citizenOid: citizen.oid, actor: { type: 'citizen', oid: citizen.oid }, details: { letterId: letter.id }, requestId: input.requestId });
    return letter;
  });
}

export type LetterCodeResult =
  | { result: 'confirmed' }
  | { result: 'wrong'; attemptsLeft: number }
  | { result: 'locked' }
  | { result: 'expired' }
  | { result: 'no_letter' };

/**
 * Checks the code from the letter. Wrong tries are committed (they count); the fifth locks the
 * letter. Of two racing correct submissions exactly one confirms (the letter row is locked).
 */
export async function confirmLetterCode(db: Db, hash: CodeHasher, input: { citizenOid: string; code: string; now: Date; requestId?: string | null }): Promise<LetterCodeResult> {
  const { now } = input;
  return db.transaction().execute(async (trx): Promise<LetterCodeResult> => {
    const citizen = await trx.selectFrom('citizens').selectAll().where('oid', '=', input.citizenOid).forUpdate().executeTakeFirstOrThrow();
    const letter = await trx
      .selectFrom('confirmation_letters')
      .selectAll()
      .where('citizen_oid', '=', citizen.oid)
      .where('state', '=', 'sent')
      .orderBy('created_at', 'desc')
      .limit(1)
      .forUpdate()
      .executeTakeFirst();
    if (!letter || citizen.trust_level !== 'standard') return { result: 'no_letter' };
    const actor = { type: 'citizen' as const, oid: citizen.oid };
    const setState = (state: 'confirmed' | 'locked' | 'expired') => trx.updateTable('confirmation_letters').set({ state }).where('id', '=', letter.id).execute();

    if (letter.expires_at <= now) {
      await setState('expired');
      return { result: 'expired' };
    }
    const check = await checkCode(trx, hash, { purpose: LETTER_CODE_PURPOSE, flowId: letter.id, code: input.code, now });
    switch (check.result) {
      case 'ok':
        await setState('confirmed');
        await changeTrustLevel(trx, { citizenOid: citizen.oid, level: 'confirmed', actor, method: 'letter', details: { letterId: letter.id }, requestId: input.requestId, now });
        await notifyTrustLevelChanged(trx, citizen, { level: 'confirmed', previousLevel: citizen.trust_level }, now);
        await recordAudit(trx, { type: 'identity.confirmed_by_letter', citizenOid: citizen.oid, actor, details: { letterId: letter.id }, requestId: input.requestId });
        return { result: 'confirmed' };
      case 'wrong':
        return { result: 'wrong', attemptsLeft: check.attemptsLeft };
      case 'expired':
        await setState('expired');
        return { result: 'expired' };
      case 'exhausted':
      case 'no_code':
        await setState('locked');
        await recordAudit(trx, { type: 'letter.locked', citizenOid: citizen.oid, actor, details: { letterId: letter.id }, requestId: input.requestId });
        return { result: 'locked' };
    }
  });
}
