import argon2 from 'argon2';

export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/**
 * argon2id hashing. The native binding runs on libuv's thread pool, so hashing never blocks the
 * event loop. Hashes carry their own parameters, so raising them later only affects new hashes.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /**
   * Spends the same work as a real verification, for logins with an unknown identifier:
   * without it, "no such account" would answer measurably faster than "wrong password".
   */
  verifyAgainstNothing(password: string): Promise<false>;
}

export function createPasswordHasher(params: Argon2Params): PasswordHasher {
  const options = { type: argon2.argon2id as 2, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism, raw: false as const };
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false; // a malformed stored hash is a failed login, not a 500
      }
    },
    async verifyAgainstNothing(password) {
      dummyHash ??= argon2.hash('timing-equaliser-not-a-password', options);
      await argon2.verify(await dummyHash, password);
      return false;
    },
  };
}
