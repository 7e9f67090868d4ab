import cluster, { type Worker } from 'node:cluster';
import { ConfigError, type Config } from './config/config.ts';
import { openDatabase } from './db/create-db.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { Logger } from './shared/logger.ts';

/**
 * IDP_WORKERS=N: N IdP processes on one port (node:cluster). The primary serves nothing and holds no
 * database pool; it migrates once, forks the workers, restarts one that dies, and stops them all on
 * SIGTERM/SIGINT. Each worker runs the ordinary main flow with a pool of its own.
 */

/** `npm start -- --workers N` (or `--workers=N`) means IDP_WORKERS=N; loadConfig validates the number. */
export function withWorkersArgument(env: Record<string, string | undefined>, args: string[]): Record<string, string | undefined> {
  const index = args.findIndex((arg) => arg === '--workers' || arg.startsWith('--workers='));
  if (index === -1) return env;
  const arg = args[index]!;
  const value = arg === '--workers' ? args[index + 1] : arg.slice('--workers='.length);
  if (!value || value.startsWith('--')) throw new ConfigError(['--workers: give the number of processes, e.g. --workers 2']);
  return { ...env, IDP_WORKERS: value };
}

export function isClusterPrimary(config: Config): boolean {
  return config.workers > 1 && cluster.isPrimary;
}

const SHUTDOWN = 'idp:shutdown';
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that keeps dying before it ever listens (port taken, database unreachable) will not get better. */
const MAX_FAILED_STARTS = 5;

export async function superviseWorkers(config: Config, logger: Logger): Promise<void> {
  const log = logger.child({ role: 'primary' });
  // Once, here: N workers migrating at the same time would race each other.
  if (config.migrateOnStart) {
    const database = await openDatabase(config.database);
    try {
      const applied = await migrateToLatest(database.db);
      if (applied.length) log.info({ applied }, 'migrations applied');
    } finally {
      await database.close();
    }
  }

  const live = new Map<Worker, number>();
  const failedStarts = new Array<number>(config.workers).fill(0);
  const restarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  let cleanExits = true;

  const fork = (slot: number) => {
    // The demo data and the mock Mos.ru (its own port) belong to one worker only: slot 0, also after a restart.
    const worker = cluster.fork({ MIGRATE_ON_START: '0', ...(slot > 0 ? { DEMO: '0' } : {}) });
    live.set(worker, slot);
    let listened = false;
    worker.once('listening', () => {
      listened = true;
      failedStarts[slot] = 0;
      log.info({ worker: slot + 1, pid: worker.process.pid }, 'worker listening');
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      if (stopping) {
        if (code !== 0) cleanExits = false;
        if (live.size === 0) finish();
        return;
      }
      if (!listened) failedStarts[slot]! += 1;
      if (failedStarts[slot]! >= MAX_FAILED_STARTS) {
        log.error({ worker: slot + 1, code, signal }, `worker failed to start ${MAX_FAILED_STARTS} times in a row; stopping`);
        cleanExits = false;
        stop();
        return;
      }
      const delayMs = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** failedStarts[slot]!);
      log.warn({ worker: slot + 1, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker died; restarting it');
      const timer = setTimeout(() => {
        restarts.delete(timer);
        fork(slot);
      }, delayMs);
      restarts.add(timer);
    });
  };

  const finish = () => {
    log.info('all workers stopped');
    process.exit(cleanExits ? 0 : 1);
  };

  const stop = () => {
    stopping = true;
    for (const timer of restarts) clearTimeout(timer);
    restarts.clear();
    if (live.size === 0) return finish();
    for (const worker of live.keys()) {
      if (worker.isConnected()) worker.send(SHUTDOWN);
      else worker.process.kill('SIGTERM');
    }
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: do not wait for in-flight requests.
      log.warn({ signal }, 'stopping workers at once');
      for (const worker of live.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    log.info({ signal, workers: live.size }, 'shutting down workers');
    stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let slot = 0; slot < config.workers; slot++) fork(slot);
  log.info({ workers: config.workers, port: config.port }, `starting ${config.workers} IdP workers`);
}

/**
 * In a worker: stop gracefully when the primary says so. A worker often gets the signal itself too
 * (Ctrl-C reaches the whole process group; systemd signals the whole cgroup), and a second signal
 * makes shutdownGracefully exit at once — so raise one only when none has arrived.
 */
export function followPrimary(): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    signalled = true;
    // Still starting (main has not installed its graceful handler yet): nothing to drain.
    if (process.listenerCount(signal) === 1) process.exit(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('message', (message) => {
    if (message !== SHUTDOWN) return;
    // The primary forwards a group signal right after it arrives; give ours a moment to be seen first.
    setTimeout(() => {
      if (!signalled) process.kill(process.pid, 'SIGTERM');
    }, 100).unref();
  });
}
