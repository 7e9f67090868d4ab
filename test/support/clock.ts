import type { Clock } from '../../src/shared/clock.ts';

/** A clock that moves only when a test says so. oidc-provider keeps its own (real) time. */
export interface TestClock extends Clock {
  advance(seconds: number): void;
  set(date: Date): void;
}

export function createTestClock(start = new Date()): TestClock {
  let now = new Date(start);
  return {
    now: () => new Date(now),
    advance(seconds) {
      now = new Date(now.getTime() + seconds * 1000);
    },
    set(date) {
      now = new Date(date);
    },
  };
}
