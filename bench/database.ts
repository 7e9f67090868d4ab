import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectToRunningServer, openDatabase, type DatabaseHandle } from '../src/db/create-db.ts';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The database one bench run uses, created for it and removed after it. */
export interface BenchDatabase {
  engine: 'postgres' | 'pglite';
  /** What the IdP process (and the CLI) get to reach it. */
  env: Record<string, string>;
  /** Human-readable, never with a password. */
  description: string;
  /** host:port of PostgreSQL, or the PGlite directory. */
  location: string;
  /** Why the run is not on PostgreSQL, when it fell back. */
  note?: string;
  /** A pool for seeding; for PGlite only once the IdP serves the database on its socket. */
  connect(): Promise<DatabaseHandle>;
  drop(): Promise<void>;
}

/**
 * `postgres`: a fresh database `esia_bench_<timestamp>` next to DATABASE_URL's (or the local
 * default), dropped at the end. `pglite`: the embedded database in a temporary directory, served by
 * the IdP process itself (so it shares the IdP's CPU). `auto` tries PostgreSQL first.
 */
export async function prepareBenchDatabase(choice: 'auto' | 'postgres' | 'pglite'): Promise<BenchDatabase> {
  if (choice === 'pglite') return embeddedDatabase();
  const adminUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const problem = await unreachable(adminUrl);
  if (problem) {
    if (choice === 'postgres') throw new Error(`PostgreSQL at ${describeUrl(adminUrl)} did not answer: ${problem}`);
    return embeddedDatabase(`PostgreSQL at ${describeUrl(adminUrl)} did not answer (${problem}): running on the embedded PGlite instead — its numbers are not comparable with PostgreSQL runs`);
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const name = `esia_bench_${stamp}_${randomBytes(2).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    engine: 'postgres',
    env: { DATABASE_URL: url.toString() },
    description: `PostgreSQL at ${hostAndPort(adminUrl)} (database ${name}, dropped afterwards)`,
    location: hostAndPort(adminUrl),
    connect: () => openDatabase({ url: url.toString(), poolSize: 4 }),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

function embeddedDatabase(note?: string): BenchDatabase {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'esia-bench-'));
  return {
    engine: 'pglite',
    env: { DATA_DIR: dataDir },
    description: `embedded PGlite in ${dataDir} (served by the IdP process itself)`,
    location: dataDir,
    note,
    connect: async () => connectToRunningServer(dataDir),
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function unreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function withAdmin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function describeUrl(url: string): string {
  return `${hostAndPort(url)}${new URL(url).pathname}`;
}

function hostAndPort(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}`;
}
