import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryId, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { CONTACT_CODE_POLICY, createCodeHasher, issueCode } from '../../src/codes/codes.service.ts';
import type { CodeChannel } from '../../src/codes/codes.table.ts';
import { pruneEverything } from '../../src/oidc/prune.ts';
import { createTestClock } from '../support/clock.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';

/**
 * The prune run (src/oidc/prune.ts) keeps the tables that grow with traffic bounded: what has
 * outlived its use goes, what a rule or a live flow still needs stays, and every statement it runs
 * finds its rows through an index.
 */

const MINUTE = 60;
const HOUR = 3600;
const DAY = 24 * HOUR;

describe('the prune run', () => {
  const clock = createTestClock(new Date('2026-03-02T09:00:00Z'));
  let idp: TestIdp;
  const db = () => idp.runtime.database.db;
  const secondsAgo = (seconds: number) => new Date(clock.now().getTime() - seconds * 1000);
  const prune = (refreshReuseWindowSeconds?: number) => pruneEverything(db(), clock, { loginHistoryDays: 180, refreshReuseWindowSeconds });

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
  });
  afterAll(() => idp?.close());

  describe('one-time codes', () => {
    async function plantCode(input: { channel?: CodeChannel; sentSecondsAgo: number; ttlSeconds: number; consumedSecondsAgo?: number }): Promise<string> {
      const row = await db().insertInto('one_time_codes').values({
        purpose: 'registration', flow_id: randomUUID(), channel: input.channel ?? 'sms', recipient: `7999${randomUUID().slice(0, 7)}`,
        code_hash: 'planted', attempts_left: 3, created_at: secondsAgo(input.sentSecondsAgo),
        expires_at: secondsAgo(input.sentSecondsAgo - input.ttlSeconds),
        consumed_at: input.consumedSecondsAgo === undefined ? null : secondsAgo(input.consumedSecondsAgo),
      }).returning('id').executeTakeFirstOrThrow();
      return row.id;
    }
    const remaining = async (ids: string[]) => (await db().selectFrom('one_time_codes').select('id').where('id', 'in', ids).execute()).map((r) => r.id);

    it('deletes spent codes once they no longer count for the send limits, and keeps the rest', async () => {
      const sms = CONTACT_CODE_POLICY.ttlSeconds;
      const live = await plantCode({ sentSecondsAgo: MINUTE, ttlSeconds: sms });
      const expiredWithinHour = await plantCode({ sentSecondsAgo: 50 * MINUTE, ttlSeconds: sms });
      const consumedWithinHour = await plantCode({ sentSecondsAgo: 50 * MINUTE, ttlSeconds: sms, consumedSecondsAgo: 49 * MINUTE });
      const expiredBeforeHour = await plantCode({ sentSecondsAgo: HOUR + 1, ttlSeconds: sms });
      const consumedBeforeHour = await plantCode({ sentSecondsAgo: 2 * HOUR, ttlSeconds: sms, consumedSecondsAgo: 2 * HOUR - MINUTE, channel: 'email' });
      // A letter's code lives a month; sent two days ago it may still be typed.
      const letterInTheMail = await plantCode({ channel: 'post', sentSecondsAgo: 2 * DAY, ttlSeconds: 30 * DAY });
      // Typed an hour ago, but the letter policy's pause before another code is a day.
      const letterTypedToday = await plantCode({ channel: 'post', sentSecondsAgo: 2 * HOUR, ttlSeconds: 30 * DAY, consumedSecondsAgo: HOUR });
      const letterTypedLongAgo = await plantCode({ channel: 'post', sentSecondsAgo: 3 * DAY, ttlSeconds: 30 * DAY, consumedSecondsAgo: 2 * DAY });

      const counts = await prune();
      expect(counts.spentCodes).toBe(3);
      expect((await remaining([live, expiredWithinHour, consumedWithinHour, expiredBeforeHour, consumedBeforeHour, letterInTheMail, letterTypedToday, letterTypedLongAgo])).sort())
        .toEqual([live, expiredWithinHour, consumedWithinHour, letterInTheMail, letterTypedToday].sort());
    });

    it('keeps the hourly cap per contact: codes sent within the hour still count after pruning', async () => {
      const hash = createCodeHasher(Buffer.alloc(32, 7));
      const recipient = '79995550101';
      const send = () => db().transaction().execute((trx) => issueCode(trx, hash, { purpose: 'registration', flowId: randomUUID(), channel: 'sms', recipient, policy: CONTACT_CODE_POLICY, now: clock.now() }));
      for (let i = 0; i < CONTACT_CODE_POLICY.maxSendsPerHour; i++) {
        await send();
        clock.advance(10 * MINUTE);
      }
      // The first code expired 45 minutes ago but was sent 50 minutes ago: it still counts.
      await prune();
      await expect(send()).rejects.toMatchObject({ code: 'code.too_many_sends' });
      // Ten minutes on, the first is over the hour: pruned, and the cap lets one more through.
      clock.advance(10 * MINUTE);
      expect((await prune()).spentCodes).toBeGreaterThanOrEqual(1);
      await expect(send()).resolves.toMatch(/^\d{6}$/);
    });
  });

  describe('registration and recovery flows', () => {
    it('deletes flows past their expiry and a grace; keeps flows in progress and the completed registration that opened an account', async () => {
      const registration = async (state: 'awaiting_code' | 'completed', expiresSecondsAgo: number) => (await db().insertInto('registration_flows').values({
        last_name: 'Тестов', first_name: 'Тест', contact_kind: 'phone', contact_value: '79995550102', password_hash: 'x',
        created_at: secondsAgo(expiresSecondsAgo + HOUR), expires_at: secondsAgo(expiresSecondsAgo),
      }).returning('id').executeTakeFirstOrThrow().then(async (row) => {
        if (state !== 'awaiting_code') await db().updateTable('registration_flows').set({ state, citizen_oid: state === 'completed' ? owner.oid : null }).where('id', '=', row.id).execute();
        return row.id;
      }));
      const recovery = async (expiresSecondsAgo: number) => (await db().insertInto('recovery_flows').values({
        contact_kind: 'phone', contact_value: '79995550102', citizen_oid: null, created_at: secondsAgo(expiresSecondsAgo + 30 * MINUTE), expires_at: secondsAgo(expiresSecondsAgo),
      }).returning('id').executeTakeFirstOrThrow()).id;

      const owner = await idp.makeCitizen();
      const inProgress = await registration('awaiting_code', -20 * MINUTE);
      const justExpired = await registration('awaiting_code', 5 * MINUTE);
      const abandoned = await registration('awaiting_code', 16 * MINUTE);
      const completed = await registration('completed', 2 * HOUR);
      const recoveryInProgress = await recovery(-10 * MINUTE);
      const recoveryAbandoned = await recovery(HOUR);

      expect((await prune()).endedFlows).toBe(2);
      expect((await db().selectFrom('registration_flows').select('id').where('id', 'in', [inProgress, justExpired, abandoned, completed]).execute()).map((r) => r.id).sort())
        .toEqual([inProgress, justExpired, completed].sort());
      expect((await db().selectFrom('recovery_flows').select('id').where('id', 'in', [recoveryInProgress, recoveryAbandoned]).execute()).map((r) => r.id))
        .toEqual([recoveryInProgress]);
    });
  });

  describe('contact changes and merge flows', () => {
    it('deletes abandoned contact changes and ended merge flows past a grace; keeps completed contact changes and flows in progress', async () => {
      const [citizen, other] = [await idp.makeCitizen(), await idp.makeCitizen()];
      const change = async (state: 'awaiting_code' | 'failed' | 'completed', expiresSecondsAgo: number) => {
        const { id } = await db().insertInto('contact_change_flows').values({
          citizen_oid: citizen.oid, contact_kind: 'email', new_value: `changed${expiresSecondsAgo}@example.ru`,
          created_at: secondsAgo(expiresSecondsAgo + HOUR), expires_at: secondsAgo(expiresSecondsAgo),
        }).returning('id').executeTakeFirstOrThrow();
        if (state !== 'awaiting_code') await db().updateTable('contact_change_flows').set({ state }).where('id', '=', id).execute();
        return id;
      };
      const merge = async (expiresSecondsAgo: number) => (await db().insertInto('merge_flows').values({
        citizen_oid: citizen.oid, candidate_oid: other.oid, created_at: secondsAgo(expiresSecondsAgo + HOUR), expires_at: secondsAgo(expiresSecondsAgo),
      }).returning('id').executeTakeFirstOrThrow()).id;

      const changing = await change('awaiting_code', -5 * MINUTE);
      const abandoned = await change('awaiting_code', HOUR);
      const failed = await change('failed', HOUR);
      const completed = await change('completed', 2 * HOUR);
      const proving = await merge(-5 * MINUTE);
      const ended = await merge(HOUR);

      expect((await prune()).endedFlows).toBe(3);
      expect((await db().selectFrom('contact_change_flows').select('id').where('id', 'in', [changing, abandoned, failed, completed]).execute()).map((r) => r.id).sort())
        .toEqual([changing, completed].sort());
      expect((await db().selectFrom('merge_flows').select('id').where('id', 'in', [proving, ended]).execute()).map((r) => r.id)).toEqual([proving]);
    });
  });

  describe('session devices', () => {
    it('deletes the device rows of sessions that are gone and keeps those of live sessions', async () => {
      const citizen = await idp.makeCitizen();
      await db().insertInto('oidc_payloads').values({ model: 'Session', id: `s-${randomUUID()}`, uid: 'live-session', payload: {}, grant_id: null, user_code: null, expires_at: secondsAgo(-HOUR), consumed_at: null }).execute();
      const device = (uid: string) => ({ session_uid: uid, citizen_oid: citizen.oid, user_agent: 'test', ip: '192.0.2.1', signed_in_at: secondsAgo(DAY), last_seen_at: secondsAgo(DAY) });
      await db().insertInto('session_devices').values([device('live-session'), device('ended-session')]).execute();

      expect((await prune()).orphanSessionDevices).toBe(1);
      expect(await db().selectFrom('session_devices').select('session_uid').where('citizen_oid', '=', citizen.oid).execute()).toEqual([{ session_uid: 'live-session' }]);
    });
  });

  describe('consumed refresh tokens (REFRESH_REUSE_WINDOW_SECONDS)', () => {
    const WINDOW = 10 * MINUTE;
    let rpConfig: oidc.Configuration;
    let citizen: { oid: string; login: string; password: string };

    beforeAll(async () => {
      const rp = await idp.makeClient({ name: 'Сервис «Обновление»', redirectUris: ['http://127.0.0.1:9/callback'] });
      rpConfig = await discoverClient(idp.issuer, rp);
      citizen = await idp.makeCitizen();
    });

    async function signInAndRotate(): Promise<{ rotated: string; current: string }> {
      const start = await startAuthorization(rpConfig, 'http://127.0.0.1:9/callback');
      const tokens = await exchangeCode(rpConfig, start, await loginThrough(new BrowserSession(), start, citizen.login, citizen.password));
      const refreshed = await oidc.refreshTokenGrant(rpConfig, tokens.refresh_token!);
      return { rotated: tokens.refresh_token!, current: refreshed.refresh_token! };
    }
    const refreshTokenRows = (value: string) => db().selectFrom('oidc_payloads').select('id').where('model', '=', 'RefreshToken').where('id', '=', value).execute();

    it('inside the window the rotated token stays, and its replay still revokes the grant', async () => {
      const { rotated, current } = await signInAndRotate();
      clock.advance(WINDOW - MINUTE);
      expect((await prune(WINDOW)).consumedArtifacts).toBe(0);
      expect(await refreshTokenRows(rotated)).toHaveLength(1);

      await expect(oidc.refreshTokenGrant(rpConfig, rotated)).rejects.toMatchObject({ error: 'invalid_grant' });
      // Reuse detected: the grant is revoked, so the token the RP holds now stops working too.
      await expect(oidc.refreshTokenGrant(rpConfig, current)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('past the window the rotated token is deleted; its replay is merely unknown and the grant survives', async () => {
      const { rotated, current } = await signInAndRotate();
      clock.advance(WINDOW + 1);
      expect((await prune(WINDOW)).consumedArtifacts).toBeGreaterThanOrEqual(1);
      expect(await refreshTokenRows(rotated)).toEqual([]);
      expect(await refreshTokenRows(current)).toHaveLength(1);

      await expect(oidc.refreshTokenGrant(rpConfig, rotated)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect((await oidc.refreshTokenGrant(rpConfig, current)).access_token).toBeTruthy();
    });
  });

  describe('indexes', () => {
    /** Records every statement it sees, compiled, so that it can be explained afterwards. */
    class StatementRecorder implements KyselyPlugin {
      readonly seen: Array<{ node: RootOperationNode; queryId: QueryId }> = [];
      transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
        this.seen.push({ node: args.node, queryId: args.queryId });
        return args.node;
      }
      async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        return args.result;
      }
    }

    it('every delete of the prune run finds its rows through an index', async () => {
      // Enough live tokens and sessions that reading all of them costs more than using the right index.
      await sql`
        INSERT INTO oidc_payloads (model, id, uid, payload, expires_at)
        SELECT (ARRAY['RefreshToken', 'Session'])[1 + i % 2], 'live-' || i, CASE WHEN i % 2 = 1 THEN 'uid-' || i END,
               jsonb_build_object('sessionUid', 'uid-' || i), ${secondsAgo(-DAY)}
        FROM generate_series(1, 20000) AS i`.execute(db());
      await sql`ANALYZE oidc_payloads`.execute(db());
      const recorder = new StatementRecorder();
      const recording = db().withPlugin(recorder);
      await pruneEverything(recording, clock, { loginHistoryDays: 180 });
      const deletes = recorder.seen.filter((s) => s.node.kind === 'DeleteQueryNode').map((s) => recording.getExecutor().compileQuery(s.node, s.queryId));
      expect(deletes.length).toBeGreaterThanOrEqual(12);

      const plans = await db().connection().execute(async (connection) => {
        // With sequential scans priced out, the planner still picks one only where no index can serve.
        await sql`SET enable_seqscan = off`.execute(connection);
        try {
          const explained: Array<{ sql: string; plan: string }> = [];
          for (const query of deletes) {
            const result = await connection.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${query.sql}`, [...query.parameters]));
            explained.push({ sql: query.sql, plan: result.rows.map((r) => r['QUERY PLAN']).join('\n') });
          }
          return explained;
        } finally {
          await sql`RESET enable_seqscan`.execute(connection);
        }
      });

      for (const { sql: statement, plan } of plans) {
        const scanned = [...plan.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1]);
        // Orphaned device rows are found by looking at each one (NOT EXISTS a session): the table is
        // as large as the live sessions; the lookup into oidc_payloads is what must use an index.
        const allowed = statement.includes('delete from "session_devices"') ? ['session_devices'] : [];
        expect(scanned.filter((table) => !allowed.includes(table)), `${statement}\n${plan}`).toEqual([]);
      }
      // Not just any index: the consumed-token prune must not walk every refresh token by model.
      const consumed = plans.find((p) => p.sql.includes('"consumed_at" <'));
      expect(consumed?.plan).toContain('oidc_payloads_consumed_at_idx');
      // And a role choice looks its session and refresh tokens up, rather than reading them all.
      const choices = plans.find((p) => p.sql.includes('delete from "acting_choices"'));
      expect(choices?.plan).toContain('oidc_payloads_refresh_session_idx');
    });
  });
});
