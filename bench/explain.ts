import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { Database, Db } from '../src/db/database.ts';
import { findCitizenByLogin, findCitizenByOid } from '../src/citizens/citizens.repository.ts';
import { createAdapterClass } from '../src/oidc/adapter.ts';
import { findClientMetadata } from '../src/oidc/clients.repository.ts';
import { findGrantIds } from '../src/oidc/grants.ts';
import { findPersonRow, listAddresses, listDocuments } from '../src/rest/person.repository.ts';
import { listLoginAttempts } from '../src/security/login-history.ts';
import { pruneLoginHistory } from '../src/security/prune.ts';
import { consumeRateLimit, RATE_LIMITS } from '../src/security/rate-limits.ts';
import { findCitizenSessions, findSessionById } from '../src/sessions/sessions.repository.ts';
import type { SecretBox } from '../src/shared/secret-box.ts';
import { systemClock } from '../src/shared/clock.ts';
import type { CapturedStatement } from './query-capture.ts';

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the hot-path queries, on the bench's database after the run (so
 * at the seeded scale): the queries the brief names, produced by calling the real functions of
 * src/ with real values (`probes`), plus — with --explain — every statement the IdP itself ran
 * during the scenarios (recorded by bench/query-capture.ts). Writes run in a rolled-back
 * transaction, so explaining them changes nothing.
 */

export interface ExplainedQuery {
  label: string;
  /** `probe`: called from here through src/; `idp`: recorded from the IdP under load. */
  source: 'probe' | 'idp';
  sql: string;
  /** Times the IdP ran it during the scenarios (idp only). */
  calls?: number;
  plan: string;
  /** e.g. "Index Scan using citizens_pkey on citizens". */
  access: string[];
  /** Tables read by a sequential scan, with the planner's row estimate of each. */
  seqScans: string[];
  /**
   * Of those, the tables still read sequentially with enable_seqscan off: no index can serve the
   * query (the others are small tables where the planner rightly prefers reading them whole).
   */
  noIndex: string[];
  /**
   * Index scans (in the plan, or in the forced plan of a small table) whose condition does not
   * name the index's leading column: the whole index is read — no index serves the condition.
   */
  wholeIndex: string[];
  executionMs: number;
}

/** Reads what query-capture.ts recorded so far: signals the IdP and waits for its file. */
export async function readCapturedStatements(pid: number, file: string): Promise<CapturedStatement[]> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 50) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as CapturedStatement[];
    await delay(50);
  }
  throw new Error(`the IdP (pid ${pid}) did not write ${file} within 5 s`);
}

/** What ran between two captures: statements with their number of calls in between. */
export function capturedBetween(before: CapturedStatement[], after: CapturedStatement[]): CapturedStatement[] {
  const earlier = new Map(before.map((s) => [s.text, s.calls]));
  return after.map((s) => ({ ...s, calls: s.calls - (earlier.get(s.text) ?? 0) })).filter((s) => s.calls > 0);
}

/** Data statements only (no BEGIN/COMMIT/SET/migrations' DDL). */
export function isDataStatement(text: string): boolean {
  return /^\s*(select|insert|update|delete|with)\b/i.test(text);
}

/**
 * A short name for a statement: operation, table and the columns it filters on — e.g.
 * `select oidc_payloads by model, id`.
 */
export function describeStatement(text: string): string {
  const op = text.trim().split(/\s+/)[0].toLowerCase();
  const table = (text.match(op === 'insert' ? /insert into "?(\w+)"?/i : op === 'update' ? /update "?(\w+)"?/i : /from "?(\w+)"?/i) ?? [])[1] ?? '?';
  const where = text.split(/\bwhere\b/i).slice(1).join(' ');
  const columns = [...new Set([...where.matchAll(/"?(\w+)"?\s*(?:=|<=|>=|<|>|in|is)\s/gi), ...where.matchAll(/payload->>'(\w+)'/g)].map((m) => m[1]))]
    .filter((c) => !/^(and|or|not|null|true|false|\d+)$/i.test(c));
  const conflict = /on conflict/i.test(text) ? ' (upsert)' : '';
  return `${op} ${table}${columns.length ? ` by ${columns.join(', ')}` : ''}${conflict}`;
}

/**
 * The hot paths of the brief, each through the src/ function that runs it in production, with
 * values taken from the bench's data (the last seeded citizen, live tokens and sessions of the run).
 */
async function probeQueries(pool: pg.Pool): Promise<Array<{ label: string; query: CompiledQuery }>> {
  const recorded: Array<{ label: string; query: CompiledQuery }> = [];
  let label = '';
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query' || event.level === 'error') recorded.push({ label, query: event.query });
    },
  }) as Db;
  const probe = async (name: string, run: (db: Db) => Promise<unknown>, options: { write?: boolean } = {}) => {
    label = name;
    try {
      if (options.write) {
        await db.transaction().execute(async (trx) => {
          await run(trx as unknown as Db);
          throw new RolledBack();
        });
      } else {
        await run(db);
      }
    } catch (error) {
      // Rolled back on purpose, or a probe whose result does not matter (a dummy secret box): the statement was recorded.
      if (!(error instanceof RolledBack) && !recorded.some((r) => r.label === name)) throw error;
    }
  };

  const value = async <T>(query: string): Promise<T | undefined> => (await pool.query(query)).rows[0] as T | undefined;
  const citizen = (await value<{ oid: string; phone: string; email: string; snils: string }>('SELECT oid, phone, email, snils FROM citizens WHERE phone IS NOT NULL ORDER BY oid DESC LIMIT 1'))!;
  const accessToken = await value<{ id: string }>(`SELECT id FROM oidc_payloads WHERE model = 'AccessToken' ORDER BY expires_at DESC LIMIT 1`);
  const refreshToken = await value<{ id: string; grant_id: string }>(`SELECT id, grant_id FROM oidc_payloads WHERE model = 'RefreshToken' AND consumed_at IS NULL ORDER BY expires_at DESC LIMIT 1`);
  const session = await value<{ id: string; uid: string; account: string }>(`SELECT id, uid, payload->>'accountId' AS account FROM oidc_payloads WHERE model = 'Session' ORDER BY expires_at DESC LIMIT 1`);
  const grant = await value<{ account: string; client: string }>(`SELECT payload->>'accountId' AS account, payload->>'clientId' AS client FROM oidc_payloads WHERE model = 'Grant' LIMIT 1`);
  const client = await value<{ client_id: string }>('SELECT client_id FROM oidc_clients ORDER BY client_id LIMIT 1');
  const noSecrets = { open: () => '', seal: () => '' } as unknown as SecretBox;
  const now = new Date();
  const Adapter = createAdapterClass(db, systemClock, noSecrets);

  await probe('adapter find by id (AccessToken)', () => new Adapter('AccessToken').find(accessToken?.id ?? 'none'));
  await probe('adapter find by uid (Session)', () => new Adapter('Session').findByUid(session?.uid ?? 'none'));
  await probe('adapter find by userCode (DeviceCode)', () => new Adapter('DeviceCode').findByUserCode('BCDF-GHJK'));
  await probe('adapter consume (RefreshToken)', (trx) => new (createAdapterClass(trx, systemClock, noSecrets))('RefreshToken').consume(refreshToken?.id ?? 'none'), { write: true });
  await probe('adapter upsert (AccessToken)', (trx) => new (createAdapterClass(trx, systemClock, noSecrets))('AccessToken').upsert('bench-probe', { jti: 'bench-probe', grantId: refreshToken?.grant_id, kind: 'AccessToken' }, 3600), { write: true });
  await probe('adapter revoke by grant id', (trx) => new (createAdapterClass(trx, systemClock, noSecrets))('Grant').revokeByGrantId(refreshToken?.grant_id ?? 'none'), { write: true });
  await probe('client by id', (d) => findClientMetadata(d, noSecrets, client?.client_id ?? 'none'));
  await probe('grant lookup (citizen, client)', (d) => findGrantIds(d, systemClock, grant?.account ?? citizen.oid, grant?.client ?? 'none'));
  await probe('citizen by oid', (d) => findCitizenByOid(d, citizen.oid));
  await probe('citizen by phone', (d) => findCitizenByLogin(d, { kind: 'phone', value: citizen.phone }));
  await probe('citizen by e-mail', (d) => findCitizenByLogin(d, { kind: 'email', value: citizen.email }));
  await probe('citizen by SNILS', (d) => findCitizenByLogin(d, { kind: 'snils', value: citizen.snils }));
  await probe('session by id', (d) => findSessionById(d, session?.id ?? 'none', now));
  await probe("citizen's sessions", (d) => findCitizenSessions(d, session?.account ?? citizen.oid, { liveAt: now }));
  await probe('rate-limit upsert (token, per client)', (trx) => consumeRateLimit(trx, `token:client:${client?.client_id}`, RATE_LIMITS.token, now), { write: true });
  await probe('person API: person', (d) => findPersonRow(d, citizen.oid));
  await probe('person API: documents', (d) => listDocuments(d, citizen.oid));
  await probe('person API: addresses', (d) => listAddresses(d, citizen.oid));
  await probe('login history page', (d) => listLoginAttempts(d, citizen.oid, 1));
  await probe('login history prune', (trx) => pruneLoginHistory(trx, now, 180), { write: true });
  return recorded;
}

class RolledBack extends Error {}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of one statement with its parameters, in a transaction rolled back;
 * when it reads a table sequentially, EXPLAIN again with enable_seqscan off to learn whether an
 * index could serve it at all.
 */
async function explainOne(pool: pg.Pool, text: string, params: readonly unknown[]): Promise<Pick<ExplainedQuery, 'plan' | 'executionMs' | 'access' | 'seqScans' | 'noIndex' | 'wholeIndex'>> {
  const client = await pool.connect();
  const explain = async (options: string) => {
    await client.query('BEGIN');
    try {
      if (options === 'forced') await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${options === 'forced' ? '' : '(ANALYZE, BUFFERS) '}${text}`, params as unknown[]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await client.query('ROLLBACK').catch(() => {});
    }
  };
  try {
    const plan = await explain('analyze');
    const seqScanned = seqScannedTables(plan);
    const forced = seqScanned.length ? await explain('forced') : plan;
    const noIndex = seqScanned.length ? seqScannedTables(forced) : [];
    const wholeIndex = await wholeIndexScans(client, forced);
    return {
      plan,
      executionMs: Number(plan.match(/Execution Time: ([\d.]+) ms/)?.[1] ?? 0),
      access: [...new Set([...plan.matchAll(/((?:Index Only Scan|Index Scan)(?: Backward)? using \S+(?: on \S+)?|Bitmap Index Scan on \S+|Seq Scan on \S+)/g)].map((m) => m[1]))],
      seqScans: [...plan.matchAll(/Seq Scan on (\S+)[^\n]*?rows=(\d+)/g)].map((m) => `${m[1]} (~${m[2]} rows estimated)`),
      noIndex: [...new Set(noIndex)],
      wholeIndex,
    };
  } finally {
    client.release();
  }
}

/** Index scans in `plan` whose Index Cond does not name the index's first column (expression indexes are not judged). */
async function wholeIndexScans(client: pg.PoolClient, plan: string): Promise<string[]> {
  const found: string[] = [];
  const lines = plan.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const index = lines[i].match(/(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)/)?.[1];
    if (!index) continue;
    let condition = '';
    for (let j = i + 1; j < lines.length && !lines[j].includes('->'); j++) {
      const match = lines[j].match(/Index Cond: (.*)/);
      if (match) {
        condition = match[1];
        break;
      }
    }
    const { rows } = await client.query<{ attname: string }>(
      'SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] WHERE i.indexrelid = $1::regclass',
      [index],
    );
    const leading = rows[0]?.attname;
    // A condition only on later columns of the index: PostgreSQL reads the whole index to apply it.
    // (A scan with no condition at all is there for its order or a join, and is not judged.)
    if (leading && condition && !new RegExp(`\\b${leading}\\b`).test(condition)) found.push(`${index} (condition not on its first column ${leading})`);
  }
  return [...new Set(found)];
}

function seqScannedTables(plan: string): string[] {
  return [...plan.matchAll(/Seq Scan on (\S+)/g)].map((m) => m[1]);
}

/** Probes, then the IdP's own statements not already covered, each explained. */
export async function explainHotPaths(db: Db, pool: pg.Pool, captured: CapturedStatement[] = []): Promise<ExplainedQuery[]> {
  await sql`ANALYZE`.execute(db);
  const explained: ExplainedQuery[] = [];
  const seen = new Set<string>();
  for (const { label, query } of await probeQueries(pool)) {
    if (!isDataStatement(query.sql) || seen.has(query.sql)) continue;
    seen.add(query.sql);
    explained.push({ label, source: 'probe', sql: query.sql, ...(await explainOne(pool, query.sql, query.parameters)) });
  }
  for (const statement of [...captured].sort((a, b) => b.calls - a.calls)) {
    if (!isDataStatement(statement.text) || seen.has(statement.text)) continue;
    seen.add(statement.text);
    try {
      explained.push({ label: describeStatement(statement.text), source: 'idp', sql: statement.text, calls: statement.calls, ...(await explainOne(pool, statement.text, statement.params)) });
    } catch (error) {
      explained.push({ label: describeStatement(statement.text), source: 'idp', sql: statement.text, calls: statement.calls, plan: `could not explain: ${(error as Error).message}`, executionMs: 0, access: [], seqScans: [], noIndex: [], wholeIndex: [] });
    }
  }
  return explained;
}

export function explainMarkdown(explained: ExplainedQuery[], citizens: number): string {
  const rows = explained.map((e) => `| ${e.label} | ${e.source === 'idp' ? `IdP, ${e.calls} calls` : 'src/ probe'} | ${e.access.join('; ') || '—'} | ${seqScanVerdict(e)} | ${e.executionMs.toFixed(3)} |`);
  const plans = explained.map((e) => `#### ${e.label}\n\n\`\`\`sql\n${e.sql}\n\`\`\`\n\n\`\`\`\n${e.plan}\n\`\`\``);
  return [
    `### EXPLAIN (ANALYZE, BUFFERS) of the hot paths at ${citizens} citizens`,
    '',
    '| query | from | access path | Seq Scan? | ms |',
    '| --- | --- | --- | --- | ---: |',
    ...rows,
    '',
    '<details><summary>The plans</summary>',
    '',
    ...plans,
    '',
    '</details>',
    '',
  ].join('\n');
}

/**
 * "no"; a small table read whole although an index serves the query; or, in bold, a table no
 * index serves (read whole even when sequential scans are off, or through an index on other columns).
 */
export function seqScanVerdict(e: ExplainedQuery): string {
  const parts = e.seqScans.map((scan) => {
    const table = scan.split(' ')[0];
    return e.noIndex.includes(table) ? `**${scan}: no index can serve it**` : `${scan}: small, ${e.wholeIndex.length ? 'read whole' : 'an index is used when forced'}`;
  });
  if (e.wholeIndex.length) parts.push(`**whole index read: ${e.wholeIndex.join(', ')}**`);
  return parts.join('; ') || 'no';
}

/** No index serves it: a sequential scan that stays when forced, or a whole-index read. */
export function lacksIndex(e: ExplainedQuery): boolean {
  return e.noIndex.length > 0 || e.wholeIndex.length > 0;
}
