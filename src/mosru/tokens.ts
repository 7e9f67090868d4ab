import { createHash, randomBytes } from 'node:crypto';

/** A random value for a cookie (session, login transaction, pending registration). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the tables store instead of the cookie value: a leaked row must not work as a cookie. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
