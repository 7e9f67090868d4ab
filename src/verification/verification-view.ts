import type { Db } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { loadTrustProgress } from '../trust/trust-progress.ts';
import { calendarDate, formatDateRu } from '../shared/validators.ts';
import { findLatestRegistryCheck } from './registry-check.service.ts';
import { expireOverdueLetters, findLatestLetter, findRegistrationAddress, nextLetterAllowedAt } from './letter.service.ts';

/** A date as the citizen reads it: dd.MM.yyyy, Moscow time. */
export function shownDate(instant: Date): string {
  return formatDateRu(calendarDate(instant));
}

/** Where the citizen corrects the data a rejection points at (none when there is nothing to correct). */
const FIX_LINKS: Record<string, Array<{ key: string; href: string }>> = {
  passport_not_found: [{ key: 'verification.fix.documents', href: '/account/documents' }],
  passport_invalid: [{ key: 'verification.fix.documents', href: '/account/documents' }],
  passport_mismatch: [{ key: 'verification.fix.personal', href: '/account/personal' }, { key: 'verification.fix.documents', href: '/account/documents' }],
  snils_not_found: [{ key: 'verification.fix.personal', href: '/account/personal' }],
  snils_other_person: [{ key: 'verification.fix.personal', href: '/account/personal' }],
};

/** Everything /account/verification shows, for the citizen's current level. */
export async function loadVerificationView(db: Db, citizen: Citizen, now: Date) {
  // Letters past their month are expired for everyone who looks, the overview included.
  await expireOverdueLetters(db, citizen.oid, now);
  const [progress, check, letter, address] = await Promise.all([
    loadTrustProgress(db, citizen),
    findLatestRegistryCheck(db, citizen.oid),
    findLatestLetter(db, citizen.oid),
    findRegistrationAddress(db, citizen.oid),
  ]);
  const requirements = [
    { key: 'verification.need.personal', done: progress.hasPersonalData, href: '/account/personal' },
    { key: 'verification.need.snils', done: progress.hasSnils, href: '/account/personal' },
    { key: 'verification.need.passport', done: progress.hasPassport, href: '/account/documents' },
  ];
  const complete = requirements.every((r) => r.done);
  const nextLetterAt = letter?.state === 'sent' ? undefined : nextLetterAllowedAt(letter, now);
  return {
    requirements,
    check: check && {
      status: check.status,
      reasonKey: check.reason_code ? `registry.reason.${check.reason_code}` : undefined,
      fixLinks: (check.reason_code && FIX_LINKS[check.reason_code]) || [],
      sentOn: shownDate(check.created_at),
      finishedOn: check.finished_at ? shownDate(check.finished_at) : undefined,
    },
    canSubmit: citizen.trust_level === 'simplified' && complete && check?.status !== 'pending',
    address,
    letter: letter && { state: letter.state, address: letter.address_str, sentOn: shownDate(letter.created_at), expiresOn: shownDate(letter.expires_at) },
    nextLetterOn: nextLetterAt ? shownDate(nextLetterAt) : undefined,
    canOrderLetter: citizen.trust_level === 'standard' && Boolean(address) && letter?.state !== 'sent' && !nextLetterAt,
  };
}
