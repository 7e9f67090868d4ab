import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database, Db } from './database.ts';

/**
 * Opens the database. One driver path for both engines: `pg` talks to PostgreSQL directly, or to
 * an embedded PGlite that this process serves on a local unix socket (@electric-sql/pglite-socket).
 * Serving it on a socket is also what lets `npm run cli` reach the database while `npm start` runs.
 *
 * PGlite runs one transaction at a time: while a transaction is open, every other connection waits.
 * So code inside a transaction must use only that transaction, never the outer `db`.
 */
export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  engine: 'postgres' | 'pglite';
  /** Where `npm run cli` can reach an embedded database served by this process. */
  socketDir?: string;
  close(): Promise<void>;
}

export type DatabaseSettings = { url: string; poolSize?: number } | { embedded: true; dataDir: string };

// `date` columns stay 'yyyy-MM-dd' strings: a Date would shift a birth date by the server's time zone.
const DATE_OID = 1082;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

// The socket name pg derives from a directory and a port: <dir>/.s.PGSQL.<port>.
const SOCKET_PORT = 5432;
const LOCK_FILE = 'idp.lock';

/**
 * When PostgreSQL is down or stuck, a request must fail within seconds (the error handlers answer
 * 503 + Retry-After) instead of hanging on a connection or a query. The server cancels a statement
 * after statement_timeout; query_timeout, a little longer, covers a server that stopped answering
 * at all (network partition). Keep-alive notices a peer that vanished without closing the socket.
 * Not applied to the embedded PGlite: it runs one transaction at a time, so a query may rightly
 * wait behind another, and there is no server that can go away.
 */
const FAIL_FAST = {
  connectionTimeoutMillis: 3000,
  statement_timeout: 10_000,
  query_timeout: 15_000,
  keepAlive: true,
} satisfies pg.PoolConfig;

export async function openDatabase(settings: DatabaseSettings): Promise<DatabaseHandle> {
  if ('url' in settings) {
    const pool = new pg.Pool({ connectionString: settings.url, max: settings.poolSize ?? 10, types, ...FAIL_FAST });
    return wrap(pool, 'postgres', async () => {});
  }
  return openEmbedded(settings.dataDir);
}

function wrap(pool: pg.Pool, engine: DatabaseHandle['engine'], stop: () => Promise<void>, socketDir?: string): DatabaseHandle {
  // An idle client that errors (server restart, terminated backend) must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    engine,
    socketDir,
    async close() {
      await db.destroy();
      await stop();
    },
  };
}

/** `memory://` gives a throw-away database (tests); anything else is a directory kept between runs. */
async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  const inMemory = dataDir.startsWith('memory://');
  const running = inMemory ? undefined : findRunningServer(dataDir);
  if (running) {
    throw new Error(
      `The embedded database in ${dataDir} is already open by process ${running.pid}. ` +
        'Stop that process first, or use its socket (npm run cli does this by itself).',
    );
  }
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  // Keep the socket path short: unix socket paths are limited to ~107 bytes.
  const socketDir = inMemory ? mkdtempSync(path.join(tmpdir(), 'esia-pg-')) : path.resolve(dataDir);
  if (!inMemory) mkdirSync(path.join(socketDir, 'pgdata'), { recursive: true });
  const pglite = inMemory ? new PGlite() : new PGlite(path.join(socketDir, 'pgdata'));
  await pglite.waitReady;
  const socketPath = path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
  rmSync(socketPath, { force: true });
  const server = new PGLiteSocketServer({ db: keepProtocolSequencesTogether(pglite), path: socketPath, maxConnections: 64 });
  await server.start();
  if (!inMemory) writeFileSync(path.join(socketDir, LOCK_FILE), `${process.pid}\n`);

  const pool = new pg.Pool({ host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 8, types });
  return wrap(pool, 'pglite', async () => {
    await server.stop();
    await pglite.close();
    if (inMemory) rmSync(socketDir, { recursive: true, force: true });
    else rmSync(path.join(socketDir, LOCK_FILE), { force: true });
  }, socketDir);
}

/**
 * pglite-socket queues every protocol message on its own and keeps one connection's messages together
 * only while PGlite reports an open transaction — which it learns from ReadyForQuery, sent only at Sync.
 * So the Parse/Bind/Execute of two connections' parameterised queries can interleave: the second Parse
 * replaces the first's unnamed statement ("bind message supplies 1 parameters, but prepared statement
 * \"\" requires 6", "portal \"\" does not exist", or silently the other query's rows). This view of
 * PGlite also reports "in a transaction" from a connection's first extended-protocol message to its
 * Sync (or a simple Query), so the queue serves that connection alone until then.
 */
interface PGliteLike {
  isInTransaction(): boolean;
  execProtocolRawStream(message: Uint8Array, ...rest: never[]): Promise<unknown>;
  exec(...args: never[]): Promise<unknown>;
}

function keepProtocolSequencesTogether<T extends PGliteLike>(pglite: T): T {
  const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));
  let sequenceOpen = false;
  return new Proxy(pglite, {
    get(target, property) {
      if (property === 'isInTransaction') return () => sequenceOpen || target.isInTransaction();
      if (property === 'execProtocolRawStream') {
        return (message: Uint8Array, ...rest: never[]) => {
          sequenceOpen = EXTENDED.has(message[0]);
          return target.execProtocolRawStream(message, ...rest);
        };
      }
      if (property === 'exec') {
        return (...args: never[]) => {
          sequenceOpen = false;
          return target.exec(...args);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The process that serves the embedded database in `dataDir`, if one is alive. */
export function findRunningServer(dataDir: string): { pid: number; socketDir: string } | undefined {
  const socketDir = path.resolve(dataDir);
  const lockPath = path.join(socketDir, LOCK_FILE);
  if (!existsSync(lockPath)) return undefined;
  const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
  if (!Number.isInteger(pid) || !isAlive(pid)) return undefined;
  return { pid, socketDir };
}

/** Connects to an embedded database that another process (the running IdP) serves. */
export function connectToRunningServer(socketDir: string): DatabaseHandle {
  const pool = new pg.Pool({ host: socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 2, types });
  return wrap(pool, 'pglite', async () => {}, socketDir);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
