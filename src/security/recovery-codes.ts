import { randomInt } from 'node:crypto';
import type { CodeHasher } from '../codes/codes.service.ts';

/**
 * Recovery codes: ten single-use codes shown once, for when the phone or the app is lost.
 * Ten characters from an alphabet without look-alikes (no 0/O, 1/I/L) give ~49 bits each, so an
 * HMAC under the server key is enough (argon2 would add nothing against guessing through the form,
 * which is throttled anyway). The hash covers the citizen's OID too: equal codes of two citizens
 * never share a hash.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const LENGTH = 10;

/** Codes as shown: XXXXX-XXXXX. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Whatever the citizen typed (lower case, spaces, dashes) → the canonical form, or null. */
export function normalizeRecoveryCode(typed: string): string | null {
  const chars = typed.toUpperCase().replace(/[\s-]/g, '');
  return chars.length === LENGTH && [...chars].every((c) => ALPHABET.includes(c)) ? chars : null;
}

export function hashRecoveryCode(hash: CodeHasher, citizenOid: string, code: string): string {
  return hash(`${citizenOid}:${normalizeRecoveryCode(code) ?? code}`);
}
