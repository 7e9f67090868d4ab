import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { JWK } from 'jose';
import { defaults } from '../config/defaults.ts';
import type { DatabaseHandle } from '../src/db/create-db.ts';
import { generateSigningKey } from '../src/oidc/keys.ts';
import type { Cleanup } from './cleanup.ts';
import { prepareBenchDatabase, type BenchDatabase } from './database.ts';
import { startIdpProcess, type IdpProcess } from './idp-process.ts';
import type { BenchOptions } from './options.ts';

export interface BenchEnvironment {
  database: BenchDatabase;
  /** e.g. "PostgreSQL 15.20 at 127.0.0.1:5432". */
  databaseLabel: string;
  idp: IdpProcess;
  /** The bench's own pool on the IdP's database, for seeding and table sizes. */
  handle: DatabaseHandle;
  /** What the IdP and the CLI get (secrets included). */
  settings: Record<string, string>;
  /** The settings worth printing (no secrets). */
  publicSettings: Record<string, string>;
  /** Where the IdP writes the statements it ran (--explain), read with explain.ts. */
  queryLog?: string;
  signingKey: JWK;
  argon2: { memoryKib: number; timeCost: number; parallelism: number };
  notes: string[];
}

/**
 * A fresh database and the IdP serving it, each registered with `cleanup` as soon as it exists.
 * Production-like: no demo data or mock Mos.ru, quiet logs, OWASP argon2id, explicit secrets and
 * one RS256 key (as production must configure them), the default pool, pruning on — every
 * --prune-interval seconds (10), so it runs during the scenarios and keeps the tables bounded.
 * NODE_ENV stays development: production would insist on an https issuer and an SMTP server.
 */
export async function startBenchEnvironment(options: BenchOptions, cleanup: Cleanup, progress: (message: string) => void): Promise<BenchEnvironment> {
  const notes: string[] = [];
  const database = await prepareBenchDatabase(options.database);
  cleanup.add(() => database.drop());
  progress(`using ${database.description}`);
  if (database.note) {
    notes.push(database.note);
    progress(`NOTE: ${database.note}`);
  }

  const argon2 = defaults.argon2;
  const signingKey = await generateSigningKey('RS256');
  const publicSettings = {
    NODE_ENV: 'development',
    DEMO: '0',
    LOG_LEVEL: 'warn',
    ARGON2_MEMORY_KIB: String(argon2.memoryKib),
    ARGON2_TIME_COST: String(argon2.timeCost),
    ARGON2_PARALLELISM: String(argon2.parallelism),
    PRUNE_INTERVAL_SECONDS: String(options.pruneIntervalSeconds),
    // Every bench request comes from 127.0.0.1, like citizens behind one carrier NAT.
    IP_RATE_LIMIT_MULTIPLIER: '100',
  };
  const settings = {
    ...publicSettings,
    ...database.env,
    SIGNING_KEYS: JSON.stringify({ keys: [signingKey] }),
    COOKIE_KEYS: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };

  progress('starting the IdP (node src/main.ts)');
  const cpuProfDir = options.cpuProfDir && path.resolve(options.cpuProfDir);
  const queryLog = options.explain ? path.join(tmpdir(), `esia-bench-queries-${process.pid}.json`) : undefined;
  const nodeArgs = [...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), ...(queryLog ? ['--import', './bench/query-capture.ts'] : [])];
  const idp = await startIdpProcess(queryLog ? { ...settings, BENCH_QUERY_LOG: queryLog } : settings, { nodeArgs });
  cleanup.add(() => idp.stop(), () => idp.killNow());
  if (cpuProfDir) notes.push(`the IdP ran under node --cpu-prof (profile in ${cpuProfDir}); profiling slows it down`);
  if (queryLog) notes.push('--explain: the IdP counted its SQL statements (bench/query-capture.ts), which costs it a little');
  progress(`IdP ready at ${idp.issuer} (pid ${idp.pid})`);

  const handle = await database.connect();
  cleanup.add(() => handle.close());
  const { rows: [{ server_version: serverVersion }] } = await sql<{ server_version: string }>`SHOW server_version`.execute(handle.db);
  const version = serverVersion.split(' ')[0];
  const databaseLabel = database.engine === 'postgres' ? `PostgreSQL ${version} at ${database.location}` : `embedded PGlite (PostgreSQL ${version}) in the IdP process`;

  return {
    database, databaseLabel, idp, handle, settings, signingKey, argon2, notes, queryLog,
    publicSettings: { ...publicSettings, DATABASE_POOL_SIZE: String(defaults.databasePoolSize), SIGNING_KEYS: 'one RS256 2048-bit key' },
  };
}

/**
 * A second IdP on the same database with IDP_WORKERS=`workers` (node:cluster, one port), serving
 * the same issuer as the first — as another deployment behind the same load balancer would.
 */
export async function startWorkersIdp(env: BenchEnvironment, workers: number, cleanup: Cleanup): Promise<IdpProcess> {
  const idp = await startIdpProcess({ ...env.settings, IDP_WORKERS: String(workers) }, { issuer: env.idp.issuer });
  cleanup.add(() => idp.stop(), () => idp.killNow());
  return idp;
}
