/**
 * Normalisers for the identifiers a citizen types. One place, so login, registration and the CLI
 * agree on what "the same phone" means.
 */

/** Accepts +7 (999) 123-45-67, 8 999 123 45 67, 79991234567 … and returns 7XXXXXXXXXX, or null. */
export function normalizePhone(input: string): string | null {
  const trimmed = input.trim();
  if (!/^[+\d\s()\-]+$/.test(trimmed)) return null;
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length === 11 && (digits.startsWith('7') || digits.startsWith('8'))) {
    if (digits.startsWith('8') && trimmed.startsWith('+')) return null;
    return `7${digits.slice(1)}`;
  }
  if (digits.length === 10 && digits.startsWith('9') && !trimmed.startsWith('+')) return `7${digits}`;
  return null;
}

// Deliberately plain: one "@", a dot in the domain, no spaces. RFC 5322 in full accepts addresses no
// mail system delivers to; confirming the address with a code is the real check.
const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

export function normalizeEmail(input: string): string | null {
  const value = input.trim().toLowerCase();
  return value.length <= 254 && EMAIL_PATTERN.test(value) ? value : null;
}

export type LoginIdentifier = { kind: 'phone' | 'email' | 'snils'; value: string };

// SNILS as printed (123-456-789 01) or any 11 digits that cannot be a Russian mobile number.
const SNILS_PRINTED = /^\d{3}-\d{3}-\d{3}[ -]\d{2}$/;

/**
 * What the login field holds: an e-mail when it has "@", a SNILS when written as one
 * (123-456-789 01, or 11 digits not starting with 7 or 8), otherwise a phone.
 */
export function parseLoginIdentifier(input: string): LoginIdentifier | null {
  const trimmed = input.trim();
  if (trimmed.includes('@')) {
    const email = normalizeEmail(trimmed);
    return email ? { kind: 'email', value: email } : null;
  }
  if (SNILS_PRINTED.test(trimmed) || /^[0-69]\d{10}$/.test(trimmed)) return { kind: 'snils', value: trimmed.replace(/\D/g, '') };
  const phone = normalizePhone(trimmed);
  return phone ? { kind: 'phone', value: phone } : null;
}
