import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { connectToRunningServer, findRunningServer, openDatabase, type DatabaseHandle } from '../db/create-db.ts';
import type { Db } from '../db/database.ts';
import { createMigrator } from '../db/migrate.ts';
import { CliError } from './command.ts';

export interface CliDatabase {
  handle: DatabaseHandle;
  /** Where the CLI connected, for messages: never contains a password. */
  description: string;
}

/**
 * The database the IdP uses: DATABASE_URL when set; otherwise the embedded PGlite in DATA_DIR —
 * through the running IdP's socket when `npm start` holds it (PGlite allows one process per
 * directory), or opened here directly when nothing runs.
 */
export async function openCliDatabase(config: Config, options: { create: boolean }): Promise<CliDatabase> {
  if ('url' in config.database) {
    // One command at a time needs a connection or two, not the server's pool.
    const handle = await openDatabase({ url: config.database.url, poolSize: 2 });
    return { handle: closeOnce(handle), description: describeUrl(config.database.url) };
  }
  const { dataDir } = config.database;
  if (dataDir.startsWith('memory://')) {
    throw new CliError('config.memory_database', `DATA_DIR=${dataDir} is a throw-away in-memory database; point DATA_DIR at a directory or set DATABASE_URL`);
  }
  const running = findRunningServer(dataDir);
  if (running) {
    return { handle: closeOnce(connectToRunningServer(running.socketDir)), description: `the embedded database served by the running IdP (process ${running.pid}) in ${running.socketDir}` };
  }
  const directory = path.resolve(dataDir);
  // Only `migrate` may create a database; a typo in DATA_DIR should not leave an empty one behind.
  if (!options.create && !existsSync(directory)) {
    throw new CliError('database.not_migrated', `there is no database in ${directory} yet: run \`npm run migrate\` first (or check DATA_DIR)`);
  }
  return { handle: closeOnce(await openDatabase(config.database)), description: `the embedded database in ${directory}` };
}

/** Refuses to run a command against tables that are missing or older than the code. */
export async function assertSchemaIsCurrent(db: Db): Promise<void> {
  const migrations = await createMigrator(db).getMigrations();
  const pending = migrations.filter((m) => m.executedAt === undefined);
  if (pending.length === 0) return;
  if (pending.length === migrations.length) {
    throw new CliError('database.not_migrated', 'the database has no tables yet: run `npm run migrate` first');
  }
  throw new CliError('database.migrations_pending', `${pending.length} migration(s) not applied yet (${pending.map((m) => m.name).join(', ')}): run \`npm run migrate\` first`);
}

// The runtime closes the handle it was given when it fails to start, and the CLI closes it again on
// the way out; an embedded PGlite must be stopped exactly once.
function closeOnce(handle: DatabaseHandle): DatabaseHandle {
  let closing: Promise<void> | undefined;
  return { ...handle, close: () => (closing ??= handle.close()) };
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `PostgreSQL at ${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'PostgreSQL (DATABASE_URL)';
  }
}
