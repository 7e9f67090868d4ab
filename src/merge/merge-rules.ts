import type { TrustLevel } from '../citizens/citizen.table.ts';

/**
 * When two accounts may be linked: both confirmed, and the identity data the registries verified
 * (names, birth date, SNILS, passport) the same on both. Pure: the service loads both sides and
 * the powers of attorney, this decides. Every reason is reported at once, so the citizen sees all
 * there is to fix in one go.
 */

export interface MergeSide {
  oid: string;
  trustLevel: TrustLevel;
  lastName: string;
  firstName: string;
  middleName: string | null;
  /** yyyy-MM-dd */
  birthDate: string | null;
  /** 11 digits */
  snils: string | null;
  passport: { series: string; number: string } | null;
}

export const COMPARED_FIELDS = ['last_name', 'first_name', 'middle_name', 'birth_date', 'snils', 'passport'] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

/** A power of attorney that ties the two accounts together or would clash once they are one. */
export interface ConflictingPower {
  id: string;
  principalOid: string;
  representativeOid: string;
  /**
   * Why it is in the way: between the two accounts; both gave the same representative the same
   * right; or one principal gave both accounts the same right (the survivor would hold both).
   */
  kind: 'between_accounts' | 'same_representative' | 'same_principal';
}

export type MergeRefusal =
  | { reason: 'this_not_confirmed' }
  | { reason: 'other_not_confirmed' }
  | { reason: 'field_differs'; field: ComparedField; ours: string | null; theirs: string | null }
  | { reason: 'powers_conflict'; powers: ConflictingPower[] };

/** Names compare as people read them: case, «ё»/«е» and spacing do not make two people. */
export function sameName(a: string | null, b: string | null): boolean {
  return normaliseName(a) === normaliseName(b);
}

function normaliseName(name: string | null): string {
  return (name ?? '').trim().replace(/\s+/g, ' ').toLocaleLowerCase('ru').replace(/ё/g, 'е');
}

/** What stops `self` (the signed-in, surviving account) and `other` from being linked; empty when nothing does. */
export function refusalsFor(self: MergeSide, other: MergeSide, powers: readonly ConflictingPower[]): MergeRefusal[] {
  const refusals: MergeRefusal[] = [];
  if (self.trustLevel !== 'confirmed') refusals.push({ reason: 'this_not_confirmed' });
  if (other.trustLevel !== 'confirmed') refusals.push({ reason: 'other_not_confirmed' });
  const values = (side: MergeSide): Record<ComparedField, string | null> => ({
    last_name: side.lastName,
    first_name: side.firstName,
    middle_name: side.middleName,
    birth_date: side.birthDate,
    snils: side.snils,
    passport: side.passport ? `${side.passport.series} ${side.passport.number}` : null,
  });
  const ours = values(self);
  const theirs = values(other);
  for (const field of COMPARED_FIELDS) {
    const same = field === 'last_name' || field === 'first_name' || field === 'middle_name'
      ? sameName(ours[field], theirs[field])
      // A birth date, SNILS or passport missing on both sides does not prove one person.
      : ours[field] !== null && ours[field] === theirs[field];
    if (!same) refusals.push({ reason: 'field_differs', field, ours: ours[field], theirs: theirs[field] });
  }
  if (powers.length > 0) refusals.push({ reason: 'powers_conflict', powers: [...powers] });
  return refusals;
}
