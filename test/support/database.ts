import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseSettings } from '../../src/db/create-db.ts';

/**
 * A fresh database for one test file: a newly created PostgreSQL database when DATABASE_URL is set
 * (dropped afterwards), an in-memory PGlite otherwise. TEST_DB=pglite forces PGlite.
 */
export interface TestDatabase {
  settings: DatabaseSettings;
  url?: string;
  drop(): Promise<void>;
}

export function testEngine(): 'postgres' | 'pglite' {
  return process.env.DATABASE_URL && process.env.TEST_DB !== 'pglite' ? 'postgres' : 'pglite';
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testEngine() === 'pglite') return { settings: { embedded: true, dataDir: 'memory://' }, drop: async () => {} };
  const adminUrl = process.env.DATABASE_URL!;
  const name = `esia_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    settings: { url: url.toString(), poolSize: 10 },
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
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
