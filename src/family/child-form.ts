import { normalizePersonName } from '../shared/names.ts';
import {
  ageOn, formatDateRu, formatSnils, parseDate, validateBirthCertificateNumber, validateBirthCertificateSeries, validateBirthDate, validateGender,
  validateSnils, type Gender, type IsoDate,
} from '../shared/validators.ts';
import type { Child } from './family.tables.ts';

/**
 * The «Добавить ребёнка» form: what the parent typed → a child record to check, or a message key
 * per field (`family.error.<field>.<reason>`, falling back to `profile.error.<reason>`). Pure:
 * today's date is a parameter.
 */

export const CHILD_FORM_FIELDS = [
  'last_name', 'first_name', 'middle_name', 'birth_date', 'gender', 'cert_series', 'cert_number', 'cert_issue_date', 'cert_issued_by', 'snils',
] as const;
export type ChildFormField = (typeof CHILD_FORM_FIELDS)[number];

/** A person is a child until 18: an adult's data are their own, not a parent's to add. */
export const ADULT_AGE = 18;

/**
 * Whether the person born on `birthDate` is an adult on `today`. Computed when asked, never stored:
 * a record stops being a child's on the 18th birthday without anything having to run.
 */
export function isAdultOn(birthDate: IsoDate, today: IsoDate): boolean {
  return ageOn(birthDate, today) >= ADULT_AGE;
}
const MAX_TEXT = 300;

export interface ChildInput {
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: IsoDate;
  gender: Gender;
  snils: string | null;
  certificate: { series: string; number: string; issueDate: IsoDate; issuedBy: string };
}

export type ChildFormResult = { ok: true; value: ChildInput } | { ok: false; errors: Partial<Record<ChildFormField, string>> };

const text = (body: Record<string, unknown>, name: string): string => (typeof body[name] === 'string' ? (body[name] as string).trim() : '');
const errorKey = (field: ChildFormField, reason: string) => `family.error.${field}.${reason}`;

export function parseChildForm(body: Record<string, unknown>, today: IsoDate): ChildFormResult {
  const errors: Partial<Record<ChildFormField, string>> = {};
  const name = (field: 'last_name' | 'first_name' | 'middle_name', required: boolean): string | null => {
    const typed = text(body, field);
    if (typed === '') {
      if (required) errors[field] = errorKey(field, 'required');
      return null;
    }
    const value = normalizePersonName(typed);
    if (!value) errors[field] = errorKey(field, 'format');
    return value;
  };
  const lastName = name('last_name', true);
  const firstName = name('first_name', true);
  const middleName = name('middle_name', false);

  let birthDate: IsoDate | null = null;
  const birth = validateBirthDate(text(body, 'birth_date'), { today, minAge: 0 });
  if (!birth.ok) errors.birth_date = errorKey('birth_date', birth.reason);
  else if (ageOn(birth.value, today) >= ADULT_AGE) errors.birth_date = errorKey('birth_date', 'adult');
  else birthDate = birth.value;

  const gender = validateGender(text(body, 'gender'));
  if (!gender.ok) errors.gender = errorKey('gender', gender.reason);

  const series = validateBirthCertificateSeries(text(body, 'cert_series'));
  if (!series.ok) errors.cert_series = errorKey('cert_series', series.reason);
  const number = validateBirthCertificateNumber(text(body, 'cert_number'));
  if (!number.ok) errors.cert_number = errorKey('cert_number', number.reason);

  const issue = parseDate(text(body, 'cert_issue_date'));
  if (!issue.ok) errors.cert_issue_date = errorKey('cert_issue_date', issue.reason);
  else if (issue.value > today) errors.cert_issue_date = errorKey('cert_issue_date', 'in_future');
  else if (birthDate && issue.value < birthDate) errors.cert_issue_date = errorKey('cert_issue_date', 'before_birth');

  const issuedBy = text(body, 'cert_issued_by').replace(/\s+/g, ' ');
  if (issuedBy === '') errors.cert_issued_by = errorKey('cert_issued_by', 'required');
  else if (issuedBy.length > MAX_TEXT) errors.cert_issued_by = 'profile.error.too_long';

  const typedSnils = text(body, 'snils');
  const snils = typedSnils === '' ? null : validateSnils(typedSnils);
  if (snils && !snils.ok) errors.snils = errorKey('snils', snils.reason);

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      lastName: lastName!, firstName: firstName!, middleName, birthDate: birthDate!,
      gender: (gender as { value: Gender }).value,
      snils: snils ? (snils as { value: string }).value : null,
      certificate: {
        series: (series as { value: string }).value, number: (number as { value: string }).value,
        issueDate: (issue as { value: IsoDate }).value, issuedBy,
      },
    },
  };
}

/** What the parent typed, for re-rendering the form as it was (nothing lost). */
export function typedChildValues(body: Record<string, unknown>): Record<ChildFormField, string> {
  return Object.fromEntries(CHILD_FORM_FIELDS.map((field) => [field, typeof body[field] === 'string' ? (body[field] as string) : ''])) as Record<ChildFormField, string>;
}

/** A stored record as form values (for correcting it after «Данные не найдены»). */
export function childFormValues(child: Child): Record<ChildFormField, string> {
  return {
    last_name: child.last_name, first_name: child.first_name, middle_name: child.middle_name ?? '',
    birth_date: formatDateRu(child.birth_date), gender: child.gender,
    cert_series: child.cert_series, cert_number: child.cert_number, cert_issue_date: formatDateRu(child.cert_issue_date), cert_issued_by: child.cert_issued_by,
    snils: child.snils ? formatSnils(child.snils) : '',
  };
}
