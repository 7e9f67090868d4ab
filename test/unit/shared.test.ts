import { describe, expect, it } from 'vitest';
import { normalizeEmail, normalizePhone, parseLoginIdentifier } from '../../src/shared/contacts.ts';
import { normalizePersonName } from '../../src/shared/names.ts';
import { createSecretBox } from '../../src/shared/secret-box.ts';
import { pickLocale, translator } from '../../src/http/i18n.ts';

describe('phone numbers', () => {
  it.each([
    ['+7 (999) 123-45-67', '79991234567'],
    ['8 999 123 45 67', '79991234567'],
    ['89991234567', '79991234567'],
    ['79991234567', '79991234567'],
    ['999 123-45-67', '79991234567'],
  ])('normalises %s', (input, expected) => expect(normalizePhone(input)).toBe(expected));

  it.each(['+8 999 123 45 67', '12345', '+1 202 555 0100', '7999123456a', '', '+7 999 123 45 678'])('refuses %s', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });
});

describe('e-mail addresses', () => {
  it('lower-cases and trims', () => expect(normalizeEmail('  Ivan.Petrov@Example.RU ')).toBe('ivan.petrov@example.ru'));
  it.each(['ivan', 'ivan@', '@example.ru', 'ivan @example.ru', 'ivan@example'])('refuses %s', (input) => expect(normalizeEmail(input)).toBeNull());
});

describe('login identifiers', () => {
  it('reads an e-mail by its @ and a phone otherwise', () => {
    expect(parseLoginIdentifier('A@B.ru')).toEqual({ kind: 'email', value: 'a@b.ru' });
    expect(parseLoginIdentifier('8 (999) 000-00-01')).toEqual({ kind: 'phone', value: '79990000001' });
    expect(parseLoginIdentifier('nonsense')).toBeNull();
  });
});

describe('personal names', () => {
  it.each([['  Салтыков-Щедрин ', 'Салтыков-Щедрин'], ['Д\'Артаньян', 'Д\'Артаньян'], ['Анна  Мария', 'Анна Мария'], ['Ёлкин', 'Ёлкин']])('accepts %s', (input, expected) => {
    expect(normalizePersonName(input)).toBe(expected);
  });
  it.each(['Ivan', 'Иван1', '-Иван', 'Иван--Петров', '', '   '])('refuses %s', (input) => expect(normalizePersonName(input)).toBeNull());
});

describe('secret box', () => {
  const box = createSecretBox(Buffer.alloc(32, 3));
  it('round-trips and never repeats a ciphertext', () => {
    const a = box.seal('client-secret');
    expect(box.open(a)).toBe('client-secret');
    expect(box.seal('client-secret')).not.toBe(a);
    expect(a).not.toContain('client-secret');
  });
  it('refuses a tampered or foreign ciphertext', () => {
    const sealed = box.seal('x');
    expect(() => box.open(`${sealed.slice(0, -2)}AA`)).toThrow();
    expect(() => createSecretBox(Buffer.alloc(32, 4)).open(sealed)).toThrow();
  });
});

describe('locales', () => {
  it('picks the first supported ui_locales entry, Russian otherwise', () => {
    expect(pickLocale('de en-US')).toBe('en');
    expect(pickLocale('fr')).toBe('ru');
    expect(pickLocale(undefined)).toBe('ru');
  });
  it('fills parameters and falls back to Russian, then to the key', () => {
    expect(translator('en')('login.subtitle', { client: 'Mos.ru' })).toBe('to continue to “Mos.ru”');
    expect(translator('en')('no.such.key')).toBe('no.such.key');
  });
});
