/**
 * Validators for Russian identity data: SNILS, INN, OGRN/OGRNIP, the internal passport, birth
 * certificate, dates and gender. Each takes what a person typed and returns either the normalised
 * value we store or a stable reason code — never an exception, so forms can show the reason beside
 * the field and APIs can return it as is.
 *
 * Pure: nothing here reads the clock. Whatever depends on "today" takes it as a `yyyy-MM-dd`
 * calendar date (see `calendarDate` to get one from a Date in Moscow time).
 */

export type ValidationReason =
  /** Nothing was given (empty, only spaces, null or undefined). */
  | 'required'
  /** Wrong characters or shape (letters in a number, a series that is not a Roman numeral …). */
  | 'format'
  /** The right characters, but the wrong number of digits. */
  | 'length'
  /** Well-formed, but the control digits do not match. */
  | 'checksum'
  /** Shaped like a date but no such day exists (31.02.2000, 29.02.2001). */
  | 'impossible_date'
  /** A real date, but implausible for its purpose (a birth date in 1850). */
  | 'out_of_range'
  /** A birth date that is today or later. */
  | 'not_in_past'
  /** A document date later than today. */
  | 'in_future'
  /** Younger than the age the purpose needs (14 for an own account). */
  | 'too_young'
  /** A passport issued before its holder's 14th birthday. */
  | 'before_age_14';

export type Validated<T, R extends ValidationReason = ValidationReason> = { ok: true; value: T } | { ok: false; reason: R };

type Input = string | null | undefined;
type NumberReason = 'required' | 'format' | 'length' | 'checksum';

const valid = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
const invalid = <R extends ValidationReason>(reason: R): { ok: false; reason: R } => ({ ok: false, reason });

/**
 * Strips the separators people type inside numbers and checks the rest is `lengths` digits.
 * Returns the digits, or the reason they are not acceptable.
 */
function digitsOf(input: Input, separators: RegExp, lengths: readonly number[]): Validated<string, 'required' | 'format' | 'length'> {
  if (input == null) return invalid('required');
  const compact = input.trim().replace(separators, '');
  if (compact === '') return invalid('required');
  if (!/^\d+$/.test(compact)) return invalid('format');
  return lengths.includes(compact.length) ? valid(compact) : invalid('length');
}

const digitArray = (digits: string): number[] => [...digits].map(Number);

/** Σ digit × weight over the leading digits, one weight per digit. */
function weightedSum(digits: number[], weights: readonly number[]): number {
  return weights.reduce((sum, weight, i) => sum + weight * digits[i], 0);
}

// ─── SNILS ────────────────────────────────────────────────────────────────────────────────────────

/** Numbers up to 001-001-998 were issued before the check digits were introduced. */
const SNILS_CHECKED_ABOVE = 1_001_998;

/** The Pension Fund control number for the 9-digit SNILS body, 0–99. */
export function snilsControl(body: string): number {
  const sum = weightedSum(digitArray(body), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  if (sum < 100) return sum;
  if (sum === 100 || sum === 101) return 0;
  const rest = sum % 101;
  return rest === 100 ? 0 : rest;
}

/**
 * SNILS as `123-456-789 01`, `12345678901` or with any spaces and hyphens. The value is the 11 digits.
 * The control number is checked only above 001-001-998; below that it is not defined by the rule.
 * An all-zero number is refused: it passes the rule only because the rule does not apply to it.
 */
export function validateSnils(input: Input): Validated<string, NumberReason> {
  const digits = digitsOf(input, /[\s\-]/g, [11]);
  if (!digits.ok) return digits;
  const body = digits.value.slice(0, 9);
  if (body === '000000000') return invalid('format');
  if (Number(body) > SNILS_CHECKED_ABOVE && snilsControl(body) !== Number(digits.value.slice(9))) return invalid('checksum');
  return digits;
}

/** `12345678901` → `123-456-789 01`. Anything that is not 11 digits (after separators) comes back trimmed, unchanged. */
export function formatSnils(snils: string): string {
  const digits = snils.replace(/[\s\-]/g, '');
  if (!/^\d{11}$/.test(digits)) return snils.trim();
  return `${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6, 9)} ${digits.slice(9)}`;
}

// ─── INN ──────────────────────────────────────────────────────────────────────────────────────────

const INN10_WEIGHTS = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_1 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_2 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

const innControl = (digits: number[], weights: readonly number[]): number => (weightedSum(digits, weights) % 11) % 10;

function innChecksumHolds(inn: string): boolean {
  const d = digitArray(inn);
  if (d.length === 10) return innControl(d, INN10_WEIGHTS) === d[9];
  return innControl(d, INN12_WEIGHTS_1) === d[10] && innControl(d, INN12_WEIGHTS_2) === d[11];
}

function checkedInn(input: Input, lengths: readonly number[]): Validated<string, NumberReason> {
  const digits = digitsOf(input, /\s/g, lengths);
  if (!digits.ok) return digits;
  return innChecksumHolds(digits.value) ? digits : invalid('checksum');
}

/** An individual's INN: 12 digits, two control digits. */
export function validatePersonalInn(input: Input): Validated<string, NumberReason> {
  return checkedInn(input, [12]);
}

/** A legal entity's INN: 10 digits, one control digit. */
export function validateOrganisationInn(input: Input): Validated<string, NumberReason> {
  return checkedInn(input, [10]);
}

/** Either kind of INN; tell them apart with `innKind`. */
export function validateInn(input: Input): Validated<string, NumberReason> {
  return checkedInn(input, [10, 12]);
}

/** The kind of a validated INN, by its length. */
export function innKind(inn: string): 'personal' | 'organisation' {
  return inn.length === 12 ? 'personal' : 'organisation';
}

// ─── OGRN / OGRNIP ────────────────────────────────────────────────────────────────────────────────

/** Control digit: (the leading digits as a number mod `modulus`) mod 10, in BigInt so no length can lose precision. */
function registryControl(leading: string, modulus: bigint): number {
  return Number((BigInt(leading) % modulus) % 10n);
}

/**
 * OGRN of a legal entity: 13 digits. The first digit, the "sign of the record", is 1 or 5 for an
 * OGRN (2, 6–9 mark other register records; 3 is an OGRNIP).
 */
export function validateOgrn(input: Input): Validated<string, NumberReason> {
  const digits = digitsOf(input, /\s/g, [13]);
  if (!digits.ok) return digits;
  if (!/^[15]/.test(digits.value)) return invalid('format');
  return registryControl(digits.value.slice(0, 12), 11n) === Number(digits.value[12]) ? digits : invalid('checksum');
}

/** OGRNIP of an individual entrepreneur: 15 digits, starting with 3. */
export function validateOgrnip(input: Input): Validated<string, NumberReason> {
  const digits = digitsOf(input, /\s/g, [15]);
  if (!digits.ok) return digits;
  if (!digits.value.startsWith('3')) return invalid('format');
  return registryControl(digits.value.slice(0, 14), 13n) === Number(digits.value[14]) ? digits : invalid('checksum');
}

// ─── Dates ────────────────────────────────────────────────────────────────────────────────────────

/** A calendar date as `yyyy-MM-dd`. Such strings compare correctly with `<` and `>`. */
export type IsoDate = string;

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const isoOf = (year: number, month: number, day: number): IsoDate => `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;

/** `dd.MM.yyyy` (one-digit day and month allowed) or ISO `yyyy-MM-dd` → `yyyy-MM-dd`. */
export function parseDate(input: Input): Validated<IsoDate, 'required' | 'format' | 'impossible_date'> {
  if (input == null || input.trim() === '') return invalid('required');
  const value = input.trim();
  const dotted = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(value);
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  let year: number;
  let month: number;
  let day: number;
  if (dotted) [day, month, year] = [Number(dotted[1]), Number(dotted[2]), Number(dotted[3])];
  else if (iso) [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  else return invalid('format');
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return invalid('impossible_date');
  return valid(isoOf(year, month, day));
}

/** `yyyy-MM-dd` → `dd.MM.yyyy`, the form Russian documents and pages show. */
export function formatDateRu(date: IsoDate): string {
  const [year, month, day] = date.split('-');
  return `${day}.${month}.${year}`;
}

/**
 * The same day `years` later. Someone born on 29 February reaches an age on 28 February in a common
 * year: a term in years ends on the last day of the month when that month lacks the date (Civil
 * Code of the RF, art. 192 p. 3).
 */
export function addYears(date: IsoDate, years: number): IsoDate {
  const [year, month, day] = date.split('-').map(Number);
  const target = year + years;
  return isoOf(target, month, Math.min(day, daysInMonth(target, month)));
}

/** Age in whole years on `today`; the age changes on the birthday itself. Both dates `yyyy-MM-dd`. */
export function ageOn(birthDate: IsoDate, today: IsoDate): number {
  const [birthYear] = birthDate.split('-').map(Number);
  const [todayYear] = today.split('-').map(Number);
  const years = todayYear - birthYear;
  return addYears(birthDate, years) <= today ? years : years - 1;
}

/** Today's calendar date in a time zone — Moscow unless told — for the `today` parameters here. */
export function calendarDate(instant: Date, timeZone = 'Europe/Moscow'): IsoDate {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** Earliest birth date we believe; older ones are typing mistakes. */
const EARLIEST_BIRTH_DATE = '1900-01-01';
/** ESIA lets a citizen hold an own account from 14, the age of the first passport. */
export const MIN_ACCOUNT_AGE = 14;

/**
 * A birth date: in the past, not before 1900, and — for an own account — at least `minAge` (14)
 * years ago. Pass `minAge: 0` for a child's record.
 */
export function validateBirthDate(
  input: Input,
  options: { today: IsoDate; minAge?: number },
): Validated<IsoDate, 'required' | 'format' | 'impossible_date' | 'out_of_range' | 'not_in_past' | 'too_young'> {
  const date = parseDate(input);
  if (!date.ok) return date;
  if (date.value < EARLIEST_BIRTH_DATE) return invalid('out_of_range');
  if (date.value >= options.today) return invalid('not_in_past');
  if (ageOn(date.value, options.today) < (options.minAge ?? MIN_ACCOUNT_AGE)) return invalid('too_young');
  return date;
}

/** A passport's issue date: not in the future, and on or after the holder's 14th birthday. */
export function validatePassportIssueDate(
  input: Input,
  options: { birthDate: IsoDate; today: IsoDate },
): Validated<IsoDate, 'required' | 'format' | 'impossible_date' | 'in_future' | 'before_age_14'> {
  const date = parseDate(input);
  if (!date.ok) return date;
  if (date.value > options.today) return invalid('in_future');
  if (date.value < addYears(options.birthDate, 14)) return invalid('before_age_14');
  return date;
}

// ─── RF internal passport ─────────────────────────────────────────────────────────────────────────

/** Passport series: 4 digits, typed as `4506` or `45 06`. */
export function validatePassportSeries(input: Input): Validated<string, 'required' | 'format' | 'length'> {
  return digitsOf(input, /\s/g, [4]);
}

/** Passport number: 6 digits. */
export function validatePassportNumber(input: Input): Validated<string, 'required' | 'format' | 'length'> {
  return digitsOf(input, /\s/g, [6]);
}

/** Code of the issuing division: `770-001`, also typed as `770001`; stored with the hyphen. */
export function validateDivisionCode(input: Input): Validated<string, 'required' | 'format' | 'length'> {
  if (input == null || input.trim() === '') return invalid('required');
  const value = input.trim();
  if (!/^[\d\s\-]+$/.test(value)) return invalid('format');
  const digits = value.replace(/\D/g, '');
  if (digits.length !== 6) return invalid('length');
  if (!/^\d{3}\s*-?\s*\d{3}$/.test(value)) return invalid('format'); // six digits, hyphen in the wrong place
  return valid(`${digits.slice(0, 3)}-${digits.slice(3)}`);
}

export interface RfPassport {
  series: string;
  number: string;
  divisionCode: string;
  issueDate: IsoDate;
}

export type RfPassportField = keyof RfPassport;
export type FieldProblem<F extends string = string> = { field: F; reason: ValidationReason };

/**
 * The whole passport form at once: every field's problem, so the form can mark them all.
 * `birthDate` is the holder's (already validated) birth date.
 */
export function validateRfPassport(
  input: { series?: Input; number?: Input; divisionCode?: Input; issueDate?: Input },
  options: { birthDate: IsoDate; today: IsoDate },
): { ok: true; value: RfPassport } | { ok: false; problems: FieldProblem<RfPassportField>[] } {
  const results = {
    series: validatePassportSeries(input.series),
    number: validatePassportNumber(input.number),
    divisionCode: validateDivisionCode(input.divisionCode),
    issueDate: validatePassportIssueDate(input.issueDate, options),
  };
  const problems: FieldProblem<RfPassportField>[] = [];
  for (const [field, result] of Object.entries(results) as [RfPassportField, Validated<string>][]) {
    if (!result.ok) problems.push({ field, reason: result.reason });
  }
  if (problems.length > 0) return { ok: false, problems };
  const value = (field: RfPassportField) => (results[field] as { value: string }).value;
  return { ok: true, value: { series: value('series'), number: value('number'), divisionCode: value('divisionCode'), issueDate: value('issueDate') } };
}

// ─── Birth certificate ────────────────────────────────────────────────────────────────────────────

/** A well-formed Roman numeral from I to CCCXCIX, in Latin letters. */
const ROMAN = /^(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})$/;
/** Cyrillic letters people type in the Roman part because they look the same. */
const CYRILLIC_LOOKALIKE_TO_LATIN: Record<string, string> = { Х: 'X', С: 'C', І: 'I', Ӏ: 'I' };
/** Latin letters typed in the Cyrillic part because they look the same. */
const LATIN_LOOKALIKE_TO_CYRILLIC: Record<string, string> = {
  A: 'А', B: 'В', C: 'С', E: 'Е', H: 'Н', K: 'К', M: 'М', O: 'О', P: 'Р', T: 'Т', X: 'Х', Y: 'У',
};

/**
 * Birth certificate series: a Roman numeral in Latin letters, a hyphen and two Cyrillic capitals
 * (`IV-МЮ`). Case and look-alike letters from the other alphabet are forgiven; a space may stand
 * for the hyphen. The value is `IV-МЮ`.
 */
export function validateBirthCertificateSeries(input: Input): Validated<string, 'required' | 'format'> {
  if (input == null || input.trim() === '') return invalid('required');
  const match = /^([^\s\-]+)\s*[\s\-]\s*([^\s\-]+)$/.exec(input.trim().toUpperCase());
  if (!match) return invalid('format');
  const roman = [...match[1]].map((c) => CYRILLIC_LOOKALIKE_TO_LATIN[c] ?? c).join('');
  const letters = [...match[2]].map((c) => LATIN_LOOKALIKE_TO_CYRILLIC[c] ?? c).join('');
  if (!ROMAN.test(roman) || !/^[А-ЯЁ]{2}$/.test(letters)) return invalid('format');
  return valid(`${roman}-${letters}`);
}

/** Birth certificate number: 6 digits. */
export function validateBirthCertificateNumber(input: Input): Validated<string, 'required' | 'format' | 'length'> {
  return digitsOf(input, /\s/g, [6]);
}

// ─── Gender ───────────────────────────────────────────────────────────────────────────────────────

export type Gender = 'M' | 'F';

/** ESIA's `M` / `F`; also lower case, and the Russian М / Ж (a Cyrillic М looks exactly like M). */
export function validateGender(input: Input): Validated<Gender, 'required' | 'format'> {
  if (input == null || input.trim() === '') return invalid('required');
  const value = input.trim().toUpperCase();
  if (value === 'M' || value === 'М') return valid('M');
  if (value === 'F' || value === 'Ж') return valid('F');
  return invalid('format');
}
