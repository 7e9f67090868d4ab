import type { AddressType, Citizen, CitizenAddress, CitizenDocument } from '../citizens/citizen.table.ts';
import { normalizePersonName } from '../shared/names.ts';
import {
  formatDateRu, formatSnils, validateBirthDate, validateGender, validatePersonalInn, validateRfPassport, validateSnils,
  type Gender, type IsoDate,
} from '../shared/validators.ts';

/**
 * The identity forms of the account: what the citizen typed → the values we store, or a message
 * key per field. Pure (today's date is a parameter), so the rules are testable without HTTP.
 * Message keys are `profile.error.<field>.<reason>`, falling back to `profile.error.<reason>`.
 */

export type FormBody = Record<string, unknown>;
export type FieldErrors = Record<string, string>;
export type FormResult<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors };

/** ISO 3166-1 alpha-3, as ESIA stores citizenship; the names are in the message bundle (`profile.citizenship.<code>`). */
export const CITIZENSHIPS = ['RUS', 'BLR', 'KAZ', 'KGZ', 'ARM', 'UZB', 'TJK', 'AZE', 'MDA', 'UKR', 'GEO', 'TKM'] as const;
const CITIZENSHIP_NAMES_RU: Record<string, string> = { 'российская федерация': 'RUS', 'россия': 'RUS', 'рф': 'RUS' };

const MAX_TEXT = 300;

export const field = (body: FormBody, name: string): string => (typeof body[name] === 'string' ? (body[name] as string).trim() : '');
const errorKey = (name: string, reason: string): string => `profile.error.${name}.${reason}`;

// ─── Personal data ────────────────────────────────────────────────────────────────────────────────

export interface PersonalData {
  last_name: string;
  first_name: string;
  middle_name: string | null;
  birth_date: IsoDate;
  gender: Gender;
  birth_place: string;
  citizenship: string;
  snils: string | null;
  inn: string | null;
}

export const PERSONAL_FIELDS = ['last_name', 'first_name', 'middle_name', 'birth_date', 'gender', 'birth_place', 'citizenship', 'snils', 'inn'] as const;

/** Fields a registry check verified: changing them ends the standard or confirmed level. */
export const VERIFIED_PERSONAL_FIELDS: readonly (keyof PersonalData)[] = ['last_name', 'first_name', 'middle_name', 'birth_date', 'snils'];

export function parsePersonalForm(body: FormBody, today: IsoDate): FormResult<PersonalData> {
  const errors: FieldErrors = {};
  const name = (key: 'last_name' | 'first_name' | 'middle_name', required: boolean): string | null => {
    const typed = field(body, key);
    if (typed === '') {
      if (required) errors[key] = errorKey(key, 'required');
      return null;
    }
    const value = normalizePersonName(typed);
    if (!value) errors[key] = errorKey(key, 'format');
    return value;
  };
  const lastName = name('last_name', true);
  const firstName = name('first_name', true);
  const middleName = name('middle_name', false);

  const birthDate = validateBirthDate(field(body, 'birth_date'), { today });
  if (!birthDate.ok) errors.birth_date = errorKey('birth_date', birthDate.reason);
  const gender = validateGender(field(body, 'gender'));
  if (!gender.ok) errors.gender = errorKey('gender', gender.reason);

  const birthPlace = field(body, 'birth_place').replace(/\s+/g, ' ');
  if (birthPlace === '') errors.birth_place = errorKey('birth_place', 'required');
  else if (birthPlace.length > MAX_TEXT) errors.birth_place = 'profile.error.too_long';

  const citizenship = parseCitizenship(field(body, 'citizenship'));
  if (!citizenship) errors.citizenship = errorKey('citizenship', 'format');

  const snils = optional(field(body, 'snils'), validateSnils);
  if (!snils.ok) errors.snils = errorKey('snils', snils.reason);
  const inn = optional(field(body, 'inn'), validatePersonalInn);
  if (!inn.ok) errors.inn = errorKey('inn', inn.reason);

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      last_name: lastName!, first_name: firstName!, middle_name: middleName,
      birth_date: (birthDate as { value: IsoDate }).value, gender: (gender as { value: Gender }).value,
      birth_place: birthPlace, citizenship: citizenship!,
      snils: (snils as { value: string | null }).value, inn: (inn as { value: string | null }).value,
    },
  };
}

/** What the personal form shows: the stored values, dates and SNILS as people write them. */
export function personalFormValues(citizen: Citizen): Record<string, string> {
  return {
    last_name: citizen.last_name,
    first_name: citizen.first_name,
    middle_name: citizen.middle_name ?? '',
    birth_date: citizen.birth_date ? formatDateRu(citizen.birth_date) : '',
    gender: citizen.gender ?? '',
    birth_place: citizen.birth_place ?? '',
    citizenship: citizen.citizenship ?? 'RUS',
    snils: citizen.snils ? formatSnils(citizen.snils) : '',
    inn: citizen.inn ?? '',
  };
}

function parseCitizenship(typed: string): string | null {
  const upper = typed.toUpperCase();
  if ((CITIZENSHIPS as readonly string[]).includes(upper)) return upper;
  return CITIZENSHIP_NAMES_RU[typed.toLowerCase().replace(/\s+/g, ' ')] ?? null;
}

function optional<R extends string>(typed: string, validate: (input: string) => { ok: true; value: string } | { ok: false; reason: R }): { ok: true; value: string | null } | { ok: false; reason: R } {
  return typed === '' ? { ok: true, value: null } : validate(typed);
}

// ─── RF passport ──────────────────────────────────────────────────────────────────────────────────

export interface PassportData {
  series: string;
  number: string;
  issue_date: IsoDate;
  issue_id: string;
  issued_by: string;
}

export const PASSPORT_FIELDS = ['series', 'number', 'issue_date', 'issue_id', 'issued_by'] as const;

const PASSPORT_FIELD_NAMES = { series: 'series', number: 'number', issueDate: 'issue_date', divisionCode: 'issue_id' } as const;

/** The passport form; `birthDate` is the holder's stored birth date (the issue date is checked against it). */
export function parsePassportForm(body: FormBody, options: { birthDate: IsoDate; today: IsoDate }): FormResult<PassportData> {
  const errors: FieldErrors = {};
  const passport = validateRfPassport(
    { series: field(body, 'series'), number: field(body, 'number'), issueDate: field(body, 'issue_date'), divisionCode: field(body, 'issue_id') },
    options,
  );
  if (!passport.ok) {
    for (const problem of passport.problems) {
      const name = PASSPORT_FIELD_NAMES[problem.field];
      errors[name] = errorKey(name, problem.reason);
    }
  }
  const issuedBy = field(body, 'issued_by').replace(/\s+/g, ' ');
  if (issuedBy === '') errors.issued_by = errorKey('issued_by', 'required');
  else if (issuedBy.length > MAX_TEXT) errors.issued_by = 'profile.error.too_long';
  if (!passport.ok || Object.keys(errors).length > 0) return { ok: false, errors };
  const { series, number, issueDate, divisionCode } = passport.value;
  return { ok: true, value: { series, number, issue_date: issueDate, issue_id: divisionCode, issued_by: issuedBy } };
}

export function passportFormValues(passport: CitizenDocument | undefined): Record<string, string> {
  if (!passport) return { series: '', number: '', issue_date: '', issue_id: '', issued_by: '' };
  return { series: passport.series, number: passport.number, issue_date: formatDateRu(passport.issue_date), issue_id: passport.issue_id, issued_by: passport.issued_by };
}

// ─── Addresses ────────────────────────────────────────────────────────────────────────────────────

export const ADDRESS_FIELDS = ['address_str', 'zip_code', 'region', 'city', 'street', 'house', 'flat'] as const;

/** What the citizen enters for one address: the table's own columns, so the two cannot drift apart. */
export type AddressData = Pick<CitizenAddress, (typeof ADDRESS_FIELDS)[number]>;
const ADDRESS_PARTS = ['region', 'city', 'street', 'house', 'flat'] as const;

/** Both addresses; an address left entirely empty is `null` (removed). Form fields are `<type>_<column>`, e.g. `PRG_city`. */
export type AddressesData = Record<AddressType, AddressData | null>;

export function parseAddressesForm(body: FormBody): FormResult<AddressesData> {
  const errors: FieldErrors = {};
  // "Same as the registration address": the residence is a copy, whatever its own fields hold.
  const sameAsRegistration = field(body, 'PLV_same') !== '';
  const parse = (type: AddressType): AddressData | null => {
    const source = type === 'PLV' && sameAsRegistration ? 'PRG' : type;
    const value = (column: string) => field(body, `${source}_${column}`).replace(/\s+/g, ' ');
    const typed = Object.fromEntries(ADDRESS_FIELDS.map((column) => [column, value(column)])) as Record<(typeof ADDRESS_FIELDS)[number], string>;
    if (ADDRESS_FIELDS.every((column) => typed[column] === '')) return null;
    const fieldName = (column: string) => `${type}_${column}`;
    if (typed.address_str === '') errors[fieldName('address_str')] = errorKey('address_str', 'required');
    if (typed.zip_code !== '' && !/^\d{6}$/.test(typed.zip_code)) errors[fieldName('zip_code')] = errorKey('zip_code', 'format');
    for (const column of ADDRESS_FIELDS) {
      if (typed[column].length > MAX_TEXT) errors[fieldName(column)] = 'profile.error.too_long';
    }
    const orNull = (text: string) => (text === '' ? null : text);
    return {
      address_str: typed.address_str, zip_code: orNull(typed.zip_code),
      ...(Object.fromEntries(ADDRESS_PARTS.map((column) => [column, orNull(typed[column])])) as Pick<AddressData, (typeof ADDRESS_PARTS)[number]>),
    };
  };
  const value = { PRG: parse('PRG'), PLV: parse('PLV') };
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}

export function addressFormValues(addresses: Partial<Record<AddressType, CitizenAddress>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const type of ['PRG', 'PLV'] as const) {
    for (const column of ADDRESS_FIELDS) values[`${type}_${column}`] = addresses[type]?.[column] ?? '';
  }
  return values;
}

/** The typed values to show again after a mistake (everything the form had; these forms hold no secrets). */
export function typedValues(body: FormBody, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, field(body, name)]));
}

/** Names of the fields whose value differs; `null` and '' are the same "nothing". */
export function changedFields<T extends object>(before: { [K in keyof T]?: unknown }, after: T, names: readonly (keyof T)[]): (keyof T)[] {
  const norm = (value: unknown) => (value === undefined || value === null || value === '' ? null : String(value));
  return names.filter((name) => norm(before[name]) !== norm(after[name]));
}
