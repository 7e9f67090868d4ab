import { createRequire } from 'node:module';
import { normalizePhone } from '../shared/contacts.ts';

/**
 * The ESIA password rule. `checkPassword` returns every rule the password breaks, so a form can list
 * them all at once; an empty array means the password is acceptable.
 *
 * The common-password list is the `passwords-common` dictionary of @zxcvbn-ts/language-common (MIT,
 * ~49,000 entries from breach corpora, all lower case), loaded on first use.
 */

export const PASSWORD_MIN_LENGTH = 8;

export type PasswordProblem =
  | 'password.too_short'
  | 'password.needs_upper'
  | 'password.needs_lower'
  | 'password.needs_digit'
  | 'password.needs_special'
  | 'password.common'
  | 'password.contains_phone'
  | 'password.contains_email'
  | 'password.contains_last_name';

export interface PasswordContext {
  phone?: string | null;
  email?: string | null;
  lastName?: string | null;
}

export const PASSWORD_MESSAGES_RU: Record<PasswordProblem, string> = {
  'password.too_short': `Пароль должен содержать не менее ${PASSWORD_MIN_LENGTH} символов`,
  'password.needs_upper': 'Пароль должен содержать хотя бы одну заглавную букву (латинскую или русскую)',
  'password.needs_lower': 'Пароль должен содержать хотя бы одну строчную букву (латинскую или русскую)',
  'password.needs_digit': 'Пароль должен содержать хотя бы одну цифру',
  'password.needs_special': 'Пароль должен содержать хотя бы один специальный символ, например ! ? % # _ @',
  'password.common': 'Пароль слишком распространённый — выберите другой',
  'password.contains_phone': 'Пароль не должен содержать номер вашего телефона',
  'password.contains_email': 'Пароль не должен содержать адрес вашей электронной почты',
  'password.contains_last_name': 'Пароль не должен содержать вашу фамилию',
};

export const PASSWORD_MESSAGES_EN: Record<PasswordProblem, string> = {
  'password.too_short': `The password must be at least ${PASSWORD_MIN_LENGTH} characters long`,
  'password.needs_upper': 'The password must contain at least one capital letter (Latin or Cyrillic)',
  'password.needs_lower': 'The password must contain at least one lower-case letter (Latin or Cyrillic)',
  'password.needs_digit': 'The password must contain at least one digit',
  'password.needs_special': 'The password must contain at least one special character, such as ! ? % # _ @',
  'password.common': 'This password is too common — please choose another one',
  'password.contains_phone': 'The password must not contain your phone number',
  'password.contains_email': 'The password must not contain your e-mail address',
  'password.contains_last_name': 'The password must not contain your last name',
};

const UPPER = /[A-ZА-ЯЁ]/;
const LOWER = /[a-zа-яё]/;
const DIGIT = /[0-9]/;
/** Punctuation and symbols: printable, neither letter nor digit. A space does not count. */
const SPECIAL = /[\p{P}\p{S}]/u;
/** Separators people put inside a phone number; stripped before looking for it. */
const PHONE_SEPARATORS = /[\s\-().]/g;
/** Below this, an e-mail local part or a last name (Ли, Ко) would forbid too many innocent passwords. */
const MIN_PERSONAL_FRAGMENT = 3;

export function checkPassword(password: string, context: PasswordContext = {}): PasswordProblem[] {
  const problems: PasswordProblem[] = [];
  if ([...password].length < PASSWORD_MIN_LENGTH) problems.push('password.too_short');
  if (!UPPER.test(password)) problems.push('password.needs_upper');
  if (!LOWER.test(password)) problems.push('password.needs_lower');
  if (!DIGIT.test(password)) problems.push('password.needs_digit');
  if (!SPECIAL.test(password)) problems.push('password.needs_special');
  if (isCommonPassword(password)) problems.push('password.common');

  const lower = fold(password);
  const phone = phoneDigits(context.phone);
  if (phone && (lower.includes(phone) || lower.replace(PHONE_SEPARATORS, '').includes(phone))) problems.push('password.contains_phone');
  const local = emailLocalPart(context.email);
  if (local && lower.includes(local)) problems.push('password.contains_email');
  if (lastNameForms(context.lastName).some((form) => lower.includes(form))) problems.push('password.contains_last_name');
  return problems;
}

// ─── The common-password list ─────────────────────────────────────────────────────────────────────

let commonPasswords: ReadonlySet<string> | undefined;

/** The list, built on first use (~50 ms, a few MB) rather than at import, so modules that never check a password don't pay. */
function commonPasswordSet(): ReadonlySet<string> {
  if (!commonPasswords) {
    const require = createRequire(import.meta.url);
    const { dictionary } = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    commonPasswords = new Set(dictionary['passwords-common'].map((entry) => entry.toLowerCase()));
  }
  return commonPasswords;
}

export function commonPasswordListSize(): number {
  return commonPasswordSet().size;
}

/** Punctuation and symbols at either end: `Password1!` is `password1` with a "!" added to pass the rule. */
const EDGE_SYMBOLS = /^[\p{P}\p{S}\s]+|[\p{P}\p{S}\s]+$/gu;

/**
 * On the list, ignoring case; also when it is a list entry with symbols added at either end, or an
 * entry typed on the Russian keyboard layout (`пароль` is the list's `gfhjkm`).
 */
export function isCommonPassword(password: string): boolean {
  const list = commonPasswordSet();
  const lower = password.toLowerCase();
  const forms = new Set([lower, toLatinKeys(lower)]);
  for (const form of [...forms]) forms.add(form.replace(EDGE_SYMBOLS, ''));
  return [...forms].some((form) => list.has(form));
}

// ─── Personal data inside the password ────────────────────────────────────────────────────────────

/** Lower case, with ё read as е — people write Семёнов and Семенов alike. */
function fold(text: string): string {
  return text.toLowerCase().replaceAll('ё', 'е');
}

/** The 10 digits after the country code 7, however the phone was written. */
function phoneDigits(phone: string | null | undefined): string | null {
  if (!phone) return null;
  const normalized = normalizePhone(phone);
  if (normalized) return normalized.slice(1);
  const digits = phone.replace(/\D/g, '');
  if (digits.length === 11 && /^[78]/.test(digits)) return digits.slice(1);
  return digits.length === 10 ? digits : null;
}

function emailLocalPart(email: string | null | undefined): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  const local = fold((at >= 0 ? email.slice(0, at) : email).trim());
  return local.length >= MIN_PERSONAL_FRAGMENT ? local : null;
}

/** The last name, each part of a double one, their Latin transliterations and Latin-layout keystrokes. */
function lastNameForms(lastName: string | null | undefined): string[] {
  if (!lastName) return [];
  const whole = fold(lastName.trim());
  const names = [whole, ...whole.split(/[\s\-']+/)].filter((name) => [...name].length >= MIN_PERSONAL_FRAGMENT);
  const forms = new Set<string>();
  for (const name of names) {
    forms.add(name);
    if (/[а-я]/.test(name)) {
      forms.add(transliterate(name, ICAO));
      forms.add(transliterate(name, POPULAR));
      forms.add(toLatinKeys(name));
    }
  }
  return [...forms].filter((form) => form.length >= MIN_PERSONAL_FRAGMENT);
}

/** ICAO Doc 9303, as in Russian international passports since 2014 (ё and е are already folded). */
const ICAO: Record<string, string> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i', к: 'k', л: 'l', м: 'm',
  н: 'n', о: 'o', п: 'p', р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh',
  щ: 'shch', ъ: 'ie', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia',
};
/** How people usually spell their name in Latin letters: Kozlovskiy, Yakovleva, Khrushchev. */
const POPULAR: Record<string, string> = { ...ICAO, й: 'y', ъ: '', ю: 'yu', я: 'ya' };

function transliterate(text: string, table: Record<string, string>): string {
  return [...text].map((c) => table[c] ?? c).join('');
}

/** The key each Cyrillic letter sits on in the standard ЙЦУКЕН / QWERTY layouts. */
const LATIN_KEYS: Record<string, string> = {
  й: 'q', ц: 'w', у: 'e', к: 'r', е: 't', н: 'y', г: 'u', ш: 'i', щ: 'o', з: 'p', х: '[', ъ: ']',
  ф: 'a', ы: 's', в: 'd', а: 'f', п: 'g', р: 'h', о: 'j', л: 'k', д: 'l', ж: ';', э: "'",
  я: 'z', ч: 'x', с: 'c', м: 'v', и: 'b', т: 'n', ь: 'm', б: ',', ю: '.', ё: '`',
};

function toLatinKeys(text: string): string {
  return [...text].map((c) => LATIN_KEYS[c] ?? c).join('');
}
