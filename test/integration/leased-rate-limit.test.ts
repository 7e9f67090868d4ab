import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/create-db.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createLeasedRateLimiter } from '../../src/security/leased-rate-limit.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

describe('the leased per-client limit (chunks of the shared counter)', () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;
  const policy = { points: 50, windowSeconds: 1 };
  const start = new Date('2026-11-23T09:00:00Z');

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = await openDatabase(testDb.settings);
    await migrateToLatest(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });

  const admitted = async (limiter: ReturnType<typeof createLeasedRateLimiter>, key: string, count: number, now: Date) => {
    const decisions = await Promise.all(Array.from({ length: count }, () => limiter.take(key, now)));
    return decisions.filter((d) => d.allowed).length;
  };

  it('admits exactly the limit in one process, whatever the burst, with one write per chunk', async () => {
    const limiter = createLeasedRateLimiter(handle.db, policy, 7);
    expect(await admitted(limiter, 'client:a', 80, start)).toBe(50);
    const refused = await limiter.take('client:a', start);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // The shared counter saw chunks, not requests: ceil(50 / 7) leases plus the refused one.
    const row = await handle.db.selectFrom('rate_limits').select('points').where('key', '=', 'client:a').executeTakeFirstOrThrow();
    expect(row.points).toBe(8 * 7);
  });

  it('never admits more than the limit across processes sharing the counter', async () => {
    const first = createLeasedRateLimiter(handle.db, policy, 7);
    const second = createLeasedRateLimiter(handle.db, policy, 7);
    const [a, b] = await Promise.all([admitted(first, 'client:b', 60, start), admitted(second, 'client:b', 60, start)]);
    expect(a + b).toBeLessThanOrEqual(50);
    // What one process leased and did not spend is lost to the other only until the window ends.
    expect(a + b).toBeGreaterThanOrEqual(50 - 2 * 6);
    expect((await second.take('client:b', start)).allowed).toBe(false);
  });

  it('starts a new window when the old one ends, and takes back points of requests that did not count', async () => {
    const limiter = createLeasedRateLimiter(handle.db, policy, 10);
    expect(await admitted(limiter, 'client:c', 50, start)).toBe(50);
    expect((await limiter.take('client:c', start)).allowed).toBe(false);
    limiter.giveBack('client:c', start);
    expect((await limiter.take('client:c', start)).allowed).toBe(true);
    const later = new Date(start.getTime() + 1000);
    expect(await admitted(limiter, 'client:c', 50, later)).toBe(50);
  });
});
