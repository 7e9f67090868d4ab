import { describe, expect, it } from 'vitest';
import { maskEmail, maskPhone, maskedLogins } from './login-hint.ts';

describe('masked logins in a "forgot login" message', () => {
  it('keeps the operator code and the last two digits of a phone', () => {
    expect(maskPhone('79991234567')).toBe('+7 999 ***-**-67');
  });

  it('keeps two letters of an e-mail, one when the local part is short', () => {
    expect(maskEmail('ivanov@example.ru')).toBe('iv***@example.ru');
    expect(maskEmail('ivan@example.ru')).toBe('iv***@example.ru');
    expect(maskEmail('iva@example.ru')).toBe('i***@example.ru');
    expect(maskEmail('a@b.ru')).toBe('a***@b.ru');
  });

  it('lists what the account signs in with, SNILS by name only', () => {
    expect(maskedLogins({ phone: null, email: 'petrov@example.ru', snils: '11223344595' })).toEqual(['pe***@example.ru', 'СНИЛС']);
    expect(maskedLogins({ phone: '79990000003', email: null, snils: null })).toEqual(['+7 999 ***-**-03']);
  });
});
