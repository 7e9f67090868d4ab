import { normalizeEmail, normalizePhone } from '../shared/contacts.ts';
import type { CodeChannel } from '../codes/codes.table.ts';
import type { ContactKind } from './registration.table.ts';

/**
 * The one form field "Телефон или электронная почта" that registration and recovery ask for:
 * an e-mail when it has "@", otherwise a mobile phone. Returns the stored form (7XXXXXXXXXX or a
 * lower-cased address) or the reason to show beside the field.
 */
export type ContactInput =
  | { ok: true; kind: ContactKind; value: string }
  | { ok: false; reason: 'contact_input.required' | 'contact_input.phone_invalid' | 'contact_input.email_invalid' };

export function parseContactInput(input: unknown): ContactInput {
  const text = typeof input === 'string' ? input.trim() : '';
  if (!text) return { ok: false, reason: 'contact_input.required' };
  if (text.includes('@')) {
    const email = normalizeEmail(text);
    return email ? { ok: true, kind: 'email', value: email } : { ok: false, reason: 'contact_input.email_invalid' };
  }
  const phone = normalizePhone(text);
  // Codes go by SMS, so only a Russian mobile number (+7 9XX …) can be confirmed.
  return phone && phone[1] === '9' ? { ok: true, kind: 'phone', value: phone } : { ok: false, reason: 'contact_input.phone_invalid' };
}

export function channelFor(kind: ContactKind): CodeChannel {
  return kind === 'phone' ? 'sms' : 'email';
}

/** A contact as the citizen would recognise it on a page: +7 999 123-45-67 or the address. */
export function displayContact(kind: ContactKind, value: string): string {
  if (kind === 'email') return value;
  return `+7 ${value.slice(1, 4)} ${value.slice(4, 7)}-${value.slice(7, 9)}-${value.slice(9, 11)}`;
}
