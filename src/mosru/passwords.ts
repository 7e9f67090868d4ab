import argon2 from 'argon2';

/**
 * Mos.ru's own password hashing (argon2id, OWASP's minimum parameters), separate from the IdP's:
 * Mos.ru is another organisation's site and shares no code with it. The native binding hashes on
 * libuv's thread pool, so the event loop stays free.
 */
const OPTIONS = { type: argon2.argon2id as 2, memoryCost: 19_456, timeCost: 2, parallelism: 1, raw: false as const };

let dummyHash: Promise<string> | undefined;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // a malformed stored hash is a failed sign-in, not a 500
  }
}

/** The same work as a real check, for an unknown e-mail: "no such account" must not answer faster. */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= argon2.hash('timing-equaliser-not-a-password', OPTIONS);
  await verifyPassword(await dummyHash, password);
  return false;
}

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** Mos.ru's rule: 8–128 characters with at least one letter and one digit. Returns a message or nothing. */
export function passwordProblem(password: string): string | undefined {
  if (password.length === 0) return 'Введите пароль';
  if (password.length < PASSWORD_MIN_LENGTH) return `Пароль должен быть не короче ${PASSWORD_MIN_LENGTH} символов`;
  if (password.length > PASSWORD_MAX_LENGTH) return `Пароль должен быть не длиннее ${PASSWORD_MAX_LENGTH} символов`;
  if (!/\p{L}/u.test(password) || !/\d/.test(password)) return 'Пароль должен содержать буквы и цифры';
  return undefined;
}
