import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMigrationProvider, Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Db } from './database.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export function createMigrator(db: Db): Migrator {
  return new Migrator({ db, provider: withoutStatementTimeout(new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR })) });
}

/**
 * The PostgreSQL pool cancels statements after 10 s (requests must fail fast in an outage); a
 * migration (an index on a large table) may rightly take longer, so each lifts the limit for its
 * own transaction.
 */
function withoutStatementTimeout(provider: MigrationProvider): MigrationProvider {
  return {
    async getMigrations() {
      const migrations = await provider.getMigrations();
      const lifted = (step: Migration['up']): Migration['up'] => async (db) => {
        await sql`SET LOCAL statement_timeout = 0`.execute(db);
        await step(db);
      };
      return Object.fromEntries(Object.entries(migrations).map(([name, m]) => [name, { up: lifted(m.up), ...(m.down ? { down: lifted(m.down) } : {}) }]));
    },
  };
}

/** Brings the schema up to date; throws with the failing migration's name and cause. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const result: MigrationResultSet = await createMigrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
