import { TRUST_LEVELS, type TrustLevel } from '../citizens/citizen.table.ts';

/** Trust levels are ordered: simplified < standard < confirmed. */
export function trustRank(level: TrustLevel): number {
  return TRUST_LEVELS.indexOf(level);
}

export function meetsLevel(actual: TrustLevel, required: TrustLevel): boolean {
  return trustRank(actual) >= trustRank(required);
}

/** What the citizen has done towards the next level; each area fills in its part. */
export interface TrustProgress {
  level: TrustLevel;
  hasPersonalData: boolean;
  hasSnils: boolean;
  hasPassport: boolean;
  /** The latest registry check: pending, or rejected with a reason code. */
  registryCheck?: { status: 'pending' | 'verified' | 'rejected' | 'superseded'; reasonCode: string | null };
  /** The latest confirmation letter, when one was ordered. */
  letter?: { state: 'sent' | 'confirmed' | 'locked' | 'expired' };
}

export interface TrustStep {
  /** Message key, e.g. 'trust.step.fill_personal'. */
  key: string;
  done: boolean;
  /** Where the citizen does it. */
  href?: string;
  params?: Record<string, string>;
}

/** The exact steps from the current level to the next one (none when confirmed). */
export function stepsToNextLevel(progress: TrustProgress): TrustStep[] {
  if (progress.level === 'simplified') {
    const check = progress.registryCheck;
    const submitted = progress.hasPersonalData && progress.hasSnils && progress.hasPassport;
    return [
      { key: 'trust.step.fill_personal', done: progress.hasPersonalData, href: '/account/personal' },
      { key: 'trust.step.fill_snils', done: progress.hasSnils, href: '/account/personal' },
      { key: 'trust.step.fill_passport', done: progress.hasPassport, href: '/account/documents' },
      check?.status === 'pending'
        ? { key: 'trust.step.check_pending', done: false }
        : check?.status === 'rejected'
          ? { key: 'trust.step.check_rejected', done: false, href: '/account/documents', params: { reason: `registry.reason.${check.reasonCode}` } }
          : { key: 'trust.step.submit_check', done: false, href: submitted ? '/account/verification' : undefined },
    ];
  }
  if (progress.level === 'standard') {
    const letter = progress.letter;
    return [
      { key: 'trust.step.visit_centre', done: false },
      letter?.state === 'sent'
        ? { key: 'trust.step.enter_letter_code', done: false, href: '/account/verification' }
        : { key: 'trust.step.order_letter', done: false, href: '/account/verification' },
    ];
  }
  return [];
}
