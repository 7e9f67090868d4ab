import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapterClass, pruneExpiredArtifacts, requestScopedReads } from '../../src/oidc/adapter.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/create-db.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createSecretBox } from '../../src/shared/secret-box.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

describe('the PostgreSQL adapter for oidc-provider', () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;
  let now = new Date('2026-11-23T09:00:00Z');
  const clock: Clock = { now: () => now };
  let Adapter: ReturnType<typeof createAdapterClass>;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = await openDatabase(testDb.settings);
    await migrateToLatest(handle.db);
    Adapter = createAdapterClass(handle.db, clock, createSecretBox(Buffer.alloc(32, 1)));
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });

  it('stores, finds by id, uid and user code, and forgets after expiry', async () => {
    const sessions = new Adapter('Session');
    await sessions.upsert('s1', { uid: 'u1', accountId: '1000000001' }, 60);
    expect(await sessions.find('s1')).toMatchObject({ uid: 'u1', accountId: '1000000001' });
    expect(await sessions.findByUid('u1')).toMatchObject({ accountId: '1000000001' });
    const devices = new Adapter('DeviceCode');
    await devices.upsert('d1', { userCode: 'ABCD-EFGH' }, 60);
    expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
    // Models do not see each other's rows.
    expect(await new Adapter('AccessToken').find('s1')).toBeUndefined();
    now = new Date(now.getTime() + 61_000);
    expect(await sessions.find('s1')).toBeUndefined();
  });

  it('answers a token looked up as every kind at once (one shared query) with the right kind only, and not after expiry', async () => {
    const access = new Adapter('AccessToken');
    const credentials = new Adapter('ClientCredentials');
    const refresh = new Adapter('RefreshToken');
    await access.upsert('tok-a', { kind: 'AccessToken', accountId: '1000000001' }, 60);
    await refresh.upsert('tok-r', { kind: 'RefreshToken', accountId: '1000000001' }, 600);
    const lookUp = (value: string) => Promise.all([access.find(value), credentials.find(value), refresh.find(value)]);
    expect(await lookUp('tok-a')).toEqual([expect.objectContaining({ kind: 'AccessToken' }), undefined, undefined]);
    expect(await lookUp('tok-r')).toEqual([undefined, undefined, expect.objectContaining({ kind: 'RefreshToken' })]);
    expect(await lookUp('tok-none')).toEqual([undefined, undefined, undefined]);
    // Nothing is remembered between lookups: a consumed or rewritten token reads as it is now.
    await refresh.consume('tok-r');
    expect((await refresh.find('tok-r'))?.consumed).toEqual(expect.any(Number));
    now = new Date(now.getTime() + 61_000);
    expect(await lookUp('tok-a')).toEqual([undefined, undefined, undefined]);
    expect(await refresh.find('tok-r')).toMatchObject({ kind: 'RefreshToken' });
  });

  it('reads a token\'s grant and session with it, for the rest of that request only; a write forgets them', async () => {
    const grants = new Adapter('Grant');
    const sessions = new Adapter('Session');
    const access = new Adapter('AccessToken');
    await grants.upsert('g-pre', { accountId: '1000000001', clientId: 'rp' }, 600);
    await sessions.upsert('s-pre', { uid: 'u-pre', accountId: '1000000001' }, 600);
    await access.upsert('at-pre', { grantId: 'g-pre', sessionUid: 'u-pre', accountId: '1000000001' }, 60);
    const inOneRequest = <T>(work: () => Promise<T>) => new Promise<T>((resolve, reject) => {
      void requestScopedReads()({} as never, () => work().then(resolve, reject));
    });
    const dropBehindTheAdapter = (model: string, id: string) => handle.db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', id).execute();

    await inOneRequest(async () => {
      expect(await access.find('at-pre')).toMatchObject({ grantId: 'g-pre' });
      // Gone from the database after the token was read (another instance revoked it): this request
      // keeps the snapshot it read in one statement with the token…
      await dropBehindTheAdapter('Grant', 'g-pre');
      expect(await grants.find('g-pre')).toMatchObject({ clientId: 'rp' });
      expect(await sessions.findByUid('u-pre')).toMatchObject({ accountId: '1000000001' });
      // …until the request writes something itself: then it reads afresh.
      await sessions.upsert('s-other', { uid: 'u-other' }, 60);
      expect(await grants.find('g-pre')).toBeUndefined();
    });
    // The next request sees the database as it is.
    await inOneRequest(async () => {
      expect(await access.find('at-pre')).toMatchObject({ grantId: 'g-pre' });
      expect(await grants.find('g-pre')).toBeUndefined();
      await dropBehindTheAdapter('Session', 's-pre');
      expect(await sessions.findByUid('u-pre')).toMatchObject({ accountId: '1000000001' });
    });
    expect(await sessions.findByUid('u-pre')).toBeUndefined();
  });

  it('upserts in place', async () => {
    const grants = new Adapter('Grant');
    await grants.upsert('g-up', { accountId: 'a' }, 600);
    await grants.upsert('g-up', { accountId: 'b' }, 600);
    expect(await grants.find('g-up')).toMatchObject({ accountId: 'b' });
  });

  it('consumes once: of 10 concurrent consumers exactly one wins, and find shows `consumed`', async () => {
    const codes = new Adapter('AuthorizationCode');
    await codes.upsert('c1', { grantId: 'g1' }, 60);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => codes.consume('c1')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.error)).toEqual(Array(9).fill('invalid_grant'));
    expect((await codes.find('c1'))?.consumed).toBeTypeOf('number');
  });

  it('revokes every artifact of a grant, across models', async () => {
    await new Adapter('AccessToken').upsert('at1', { grantId: 'g2' }, 60);
    await new Adapter('RefreshToken').upsert('rt1', { grantId: 'g2' }, 60);
    await new Adapter('AccessToken').upsert('at2', { grantId: 'other' }, 60);
    await new Adapter('AccessToken').revokeByGrantId('g2');
    expect(await new Adapter('AccessToken').find('at1')).toBeUndefined();
    expect(await new Adapter('RefreshToken').find('rt1')).toBeUndefined();
    expect(await new Adapter('AccessToken').find('at2')).toBeDefined();
  });

  it('prunes only rows that expired before the grace period', async () => {
    const tokens = new Adapter('AccessToken');
    await tokens.upsert('old', {}, 10);
    await tokens.upsert('fresh', {}, 3600);
    await tokens.upsert('forever', {}, 0);
    now = new Date(now.getTime() + 120_000);
    expect(await pruneExpiredArtifacts(handle.db, clock, 60)).toBeGreaterThanOrEqual(1);
    const ids = (await handle.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'AccessToken').execute()).map((r) => r.id);
    expect(ids).not.toContain('old');
    expect(ids).toEqual(expect.arrayContaining(['fresh', 'forever']));
  });
});
