import { availableParallelism } from 'node:os';
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
  // argon2 and token signing share libuv's thread pool (4 threads). Letting logins take at most one
  // thread per core keeps the rest free for signatures, so code exchanges don't queue behind hashes.
  const slots = createSemaphore(Math.max(1, availableParallelism()));
  let dummyHash: Promise<string> | undefined;
  return {
    hash: (password) => slots.run(() => argon2.hash(password, options)),
    async verify(hash, password) {
      try {
        return await slots.run(() => argon2.verify(hash, password));
      } catch {
        return false; // a malformed stored hash is a failed login, not a 500
      }
    },
    async verifyAgainstNothing(password) {
      dummyHash ??= slots.run(() => argon2.hash('timing-equaliser-not-a-password', options));
      const hash = await dummyHash;
      await slots.run(() => argon2.verify(hash, password));
      return false;
    },
  };
}

function createSemaphore(size: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      // A finishing task hands its slot straight to the next waiter, so `active` never exceeds `size`.
      if (active < size) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
