import { describe, expect, it } from 'vitest';
import {
  checkPassword,
  commonPasswordListSize,
  isCommonPassword,
  PASSWORD_MESSAGES_EN,
  PASSWORD_MESSAGES_RU,
  type PasswordProblem,
} from '../../src/citizens/password-policy.ts';

const ivan = { phone: '+7 (999) 123-45-67', email: 'ivan.petrov@example.ru', lastName: 'Иванов' };

describe('the ESIA password rule', () => {
  it.each(['Zx7#mQ!trw', 'Снег-Идёт-7', 'Kv9!пРоб', 'tr0ub4dor&3Horse'])('accepts the strong password %s', (password) => {
    expect(checkPassword(password, ivan)).toEqual([]);
  });

  it('works without any personal context', () => {
    expect(checkPassword('Zx7#mQ!trw')).toEqual([]);
    expect(checkPassword('Zx7#mQ!trw', { phone: null, email: null, lastName: null })).toEqual([]);
  });

  it.each<[string, PasswordProblem]>([
    ['Zx7#mQ!', 'password.too_short'],
    ['zx7#mq!trw', 'password.needs_upper'],
    ['ZX7#MQ!TRW', 'password.needs_lower'],
    ['Zxq#mQ!trw', 'password.needs_digit'],
    ['Zx7amQ5trw', 'password.needs_special'],
  ])('refuses %s for %s alone', (password, problem) => {
    expect(checkPassword(password, ivan)).toEqual([problem]);
  });

  it('counts characters, not UTF-16 units, towards the length', () => {
    expect(checkPassword('Zx7#😀Qa', ivan)).toEqual(['password.too_short']); // 7 characters, 8 code units
    expect(checkPassword('Zx7#😀Qab', ivan)).toEqual([]);
  });

  it('takes Cyrillic letters for either case', () => {
    expect(checkPassword('Пароль-для-Госуслуг-7', ivan)).toEqual([]);
    expect(checkPassword('пароль-для-госуслуг-7', ivan)).toEqual(['password.needs_upper']);
  });

  it('does not count a space as a special character', () => {
    expect(checkPassword('Zx7 mQ5 trw', ivan)).toEqual(['password.needs_special']);
  });

  it.each(['Zx7№mQ5trw', 'Zx7€mQ5trw', 'Zx7_mQ5trw', 'Zx7«mQ5trw'])('counts %s as having a special character', (password) => {
    expect(checkPassword(password, ivan)).toEqual([]);
  });

  it('reports every broken rule at once, in a stable order', () => {
    expect(checkPassword('ab', ivan)).toEqual(['password.too_short', 'password.needs_upper', 'password.needs_digit', 'password.needs_special']);
    expect(checkPassword('ivanov9991234567', ivan)).toEqual([
      'password.needs_upper',
      'password.needs_special',
      'password.contains_phone',
      'password.contains_last_name',
    ]);
    expect(checkPassword('', {})).toEqual([
      'password.too_short',
      'password.needs_upper',
      'password.needs_lower',
      'password.needs_digit',
      'password.needs_special',
    ]);
  });
});

describe('common passwords', () => {
  it('ships a list of at least 10,000 entries', () => {
    expect(commonPasswordListSize()).toBeGreaterThanOrEqual(10_000);
  });

  // On the list as p@ssw0rd / pa$$w0rd / 1qaz@wsx: they pass every other rule once capitalised.
  it.each(['P@ssw0rd', 'Pa$$w0rd', '1Qaz@wsx', '!Qaz2wsx'])('refuses %s, a list entry in other case', (password) => {
    expect(checkPassword(password, ivan)).toEqual(['password.common']);
  });

  // Not on the list themselves, but password1 / qwerty123 / passw0rd are: a "!" added to pass the rule.
  it.each(['Password1!', 'Qwerty123!', 'Passw0rd!', '!!Qwerty123', 'Zaq12wsx!'])('refuses %s, a list entry with symbols added', (password) => {
    expect(checkPassword(password, ivan)).toEqual(['password.common']);
  });

  // пароль / йцукен typed on the Russian layout are the list's gfhjkm / qwerty.
  it.each(['Пароль123!', 'Йцукен!', 'ПАРОЛЬ'])('refuses %s, a list entry typed on the Russian layout', (password) => {
    expect(isCommonPassword(password)).toBe(true);
  });

  it('does not refuse a list entry hidden inside a longer password', () => {
    expect(isCommonPassword('Password1!x')).toBe(false);
    expect(isCommonPassword('Zx7#mQ!trw')).toBe(false);
  });

  it('ignores case', () => {
    expect(isCommonPassword('QWERTY')).toBe(true);
    expect(isCommonPassword('qwerty')).toBe(true);
  });
});

describe('personal data inside the password', () => {
  it.each([
    ['Kv!9991234567', '+7 (999) 123-45-67'],
    ['Kv!9991234567', '89991234567'],
    ['Kv!9991234567', '79991234567'],
    ['Kv!999-123-45-67', '79991234567'], // written with separators
    ['Kv!(999) 123 45 67', '79991234567'],
  ])('refuses %s for the phone %s', (password, phone) => {
    expect(checkPassword(password, { phone })).toEqual(['password.contains_phone']);
  });

  it('allows part of the phone number', () => {
    expect(checkPassword('Kv!99912345', { phone: '79991234567' })).toEqual([]);
  });

  it('refuses the e-mail local part in any case', () => {
    expect(checkPassword('Ivan.Petrov#1', ivan)).toEqual(['password.contains_email']);
    expect(checkPassword('x9!IVAN.PETROVx', { email: 'Ivan.Petrov@Example.ru' })).toEqual(['password.contains_email']);
  });

  it('ignores a local part shorter than 3 characters', () => {
    expect(checkPassword('Ab9!Zx7#mQ', { email: 'ab@example.ru' })).toEqual([]);
    expect(checkPassword('Abc9!Zx7#mQ', { email: 'abc@example.ru' })).toEqual(['password.contains_email']);
  });

  it.each([
    ['Иванов_2024', 'Иванов'],
    ['иВАНОВ_2024', 'Иванов'],
    ['Ivanov#2024', 'Иванов'], // transliterated
    ['Bdfyjd#2024', 'Иванов'], // typed on the Latin layout
    ['Semenov#2024', 'Семёнов'],
    ['Семенов#2024', 'Семёнов'], // ё written as е
    ['Yakovleva#1', 'Яковлева'], // the usual spelling
    ['Iakovleva#1', 'Яковлева'], // the passport (ICAO) spelling
    ['Shchedrin#1', 'Салтыков-Щедрин'], // one part of a double name
  ])('refuses %s for the last name %s', (password, lastName) => {
    expect(checkPassword(password, { lastName })).toEqual(['password.contains_last_name']);
  });

  it('ignores a last name shorter than 3 letters', () => {
    expect(checkPassword('Ли-Zx7#mQ!', { lastName: 'Ли' })).toEqual([]);
  });
});

describe('messages', () => {
  const codes: PasswordProblem[] = [
    'password.too_short',
    'password.needs_upper',
    'password.needs_lower',
    'password.needs_digit',
    'password.needs_special',
    'password.common',
    'password.contains_phone',
    'password.contains_email',
    'password.contains_last_name',
  ];

  it('has a Russian and an English sentence for every code', () => {
    expect(Object.keys(PASSWORD_MESSAGES_RU).sort()).toEqual([...codes].sort());
    expect(Object.keys(PASSWORD_MESSAGES_EN).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      expect(PASSWORD_MESSAGES_RU[code]).toMatch(/^Пароль /);
      expect(PASSWORD_MESSAGES_EN[code].length).toBeGreaterThan(10);
    }
  });

  it('says what the citizen must do', () => {
    expect(PASSWORD_MESSAGES_RU['password.too_short']).toBe('Пароль должен содержать не менее 8 символов');
    expect(PASSWORD_MESSAGES_RU['password.common']).toBe('Пароль слишком распространённый — выберите другой');
  });
});
