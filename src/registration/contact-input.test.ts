import { describe, expect, it } from 'vitest';
import { displayContact, parseContactInput } from './contact-input.ts';

describe('the "phone or e-mail" field', () => {
  it('reads the usual ways of writing a mobile number', () => {
    for (const typed of ['+7 (999) 123-45-67', '8 999 123 45 67', '89991234567', '79991234567', '999 123-45-67']) {
      expect(parseContactInput(typed)).toEqual({ ok: true, kind: 'phone', value: '79991234567' });
    }
  });

  it('refuses numbers that cannot receive an SMS code here', () => {
    for (const typed of ['+7 495 123-45-67', '+8 999 123-45-67', '12345', '+1 999 123 45 67']) {
      expect(parseContactInput(typed)).toEqual({ ok: false, reason: 'contact_input.phone_invalid' });
    }
  });

  it('lower-cases an e-mail and refuses a malformed one', () => {
    expect(parseContactInput(' Ivan@Example.RU ')).toEqual({ ok: true, kind: 'email', value: 'ivan@example.ru' });
    expect(parseContactInput('ivan@example')).toEqual({ ok: false, reason: 'contact_input.email_invalid' });
    expect(parseContactInput('   ')).toEqual({ ok: false, reason: 'contact_input.required' });
    expect(parseContactInput(undefined)).toEqual({ ok: false, reason: 'contact_input.required' });
  });

  it('shows a stored phone the way people write it', () => {
    expect(displayContact('phone', '79991234567')).toBe('+7 999 123-45-67');
    expect(displayContact('email', 'ivan@example.ru')).toBe('ivan@example.ru');
  });
});
