import type { IdpPerson } from './person-api.ts';

/**
 * Is the IdP's citizen the person this Mos.ru account belongs to? By SNILS when both sides have
 * one; otherwise by surname, first name, patronymic and birth date. Names compare as people write
 * them: case, «ё»/«е», spaces around and inside do not matter.
 */
export type MatchField = 'lastName' | 'firstName' | 'middleName' | 'birthDate' | 'snils';

export const MATCH_FIELD_LABELS: Record<MatchField, string> = {
  lastName: 'Фамилия',
  firstName: 'Имя',
  middleName: 'Отчество',
  birthDate: 'Дата рождения',
  snils: 'СНИЛС',
};

export interface LocalPerson {
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: string;
  snils: string | null;
}

/** The fields that differ, in the order a form shows them; empty when the two are the same person. */
export function differingFields(local: LocalPerson, idp: IdpPerson): MatchField[] {
  if (local.snils && idp.snils) return local.snils === idp.snils ? [] : ['snils'];
  const differing: MatchField[] = [];
  if (normalizeName(local.lastName) !== normalizeName(idp.lastName)) differing.push('lastName');
  if (normalizeName(local.firstName) !== normalizeName(idp.firstName)) differing.push('firstName');
  if (normalizeName(local.middleName) !== normalizeName(idp.middleName)) differing.push('middleName');
  // Without a birth date from the IdP there is nothing to confirm the person by.
  if (!idp.birthDate || local.birthDate !== idp.birthDate) differing.push('birthDate');
  return differing;
}

export function normalizeName(name: string | null | undefined): string {
  return (name ?? '').trim().replace(/\s+/g, ' ').toLocaleLowerCase('ru-RU').replace(/ё/g, 'е');
}
