import { normalizePersonName } from '../shared/names.ts';
import { calendarDate, validateBirthDate, validateSnils, type ValidationReason } from '../shared/validators.ts';

/**
 * The personal-data fields Mos.ru asks for (registration and the profile page): what was typed →
 * the values to store, or a Russian message per field. The form is re-rendered with what the user
 * typed, so `values` always holds the raw input.
 */
export interface PersonalData {
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: string;
  snils: string | null;
}

export type FieldErrors = Record<string, string>;

const NAME_MESSAGE = 'Только русские буквы, дефис, апостроф и пробел';

const BIRTH_DATE_MESSAGES: Partial<Record<ValidationReason, string>> = {
  required: 'Укажите дату рождения',
  format: 'Дата в формате ДД.ММ.ГГГГ',
  impossible_date: 'Такой даты не существует',
  out_of_range: 'Проверьте год рождения',
  not_in_past: 'Дата рождения должна быть в прошлом',
  too_young: 'Зарегистрироваться можно с 14 лет',
};

const SNILS_MESSAGES: Partial<Record<ValidationReason, string>> = {
  format: 'СНИЛС состоит из 11 цифр',
  length: 'СНИЛС состоит из 11 цифр',
  checksum: 'Неверное контрольное число СНИЛС — проверьте номер',
};

export function readPersonalData(body: Record<string, unknown>, now: Date): { ok: true; value: PersonalData } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const lastName = requiredName(text(body.lastName), 'Укажите фамилию', 'lastName', errors);
  const firstName = requiredName(text(body.firstName), 'Укажите имя', 'firstName', errors);
  let middleName: string | null = null;
  if (text(body.middleName).trim()) {
    middleName = normalizePersonName(text(body.middleName));
    if (!middleName) errors.middleName = NAME_MESSAGE;
  }
  const birthDate = validateBirthDate(text(body.birthDate), { today: calendarDate(now) });
  if (!birthDate.ok) errors.birthDate = BIRTH_DATE_MESSAGES[birthDate.reason] ?? 'Проверьте дату рождения';
  let snils: string | null = null;
  if (text(body.snils).trim()) {
    const checked = validateSnils(text(body.snils));
    if (checked.ok) snils = checked.value;
    else errors.snils = SNILS_MESSAGES[checked.reason] ?? 'Проверьте СНИЛС';
  }
  if (Object.keys(errors).length > 0 || !birthDate.ok) return { ok: false, errors };
  return { ok: true, value: { lastName: lastName!, firstName: firstName!, middleName, birthDate: birthDate.value, snils } };
}

function requiredName(input: string, missing: string, field: string, errors: FieldErrors): string | undefined {
  if (!input.trim()) {
    errors[field] = missing;
    return undefined;
  }
  const name = normalizePersonName(input);
  if (!name) errors[field] = NAME_MESSAGE;
  return name ?? undefined;
}

export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
