import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { startPollingWorker } from '../shared/polling-worker.ts';
import { RegistryUnavailableError, type PassportVerdict, type SnilsVerdict, type StateRegistries } from './state-registries.ts';
import { finishRegistryCheck, recordRegistryFailure, type CheckOutcome } from './registry-check.service.ts';
import type { RegistryCheck } from './verification.tables.ts';

/** A claimed check is this worker's for a minute; if the worker dies, the lease runs out and another takes it. */
export const REGISTRY_CHECK_LEASE_SECONDS = 60;
/** Calls to the registries, counting crashed workers' claims; then the check ends `registry_unavailable`. */
export const REGISTRY_CHECK_MAX_ATTEMPTS = 5;
/** A registry call taking longer is treated as a timeout, well inside the lease. */
const CALL_TIMEOUT_MS = 30_000;
const BATCH = 10;

/** 30 s, 1 min, 2 min, 4 min … capped at an hour. */
export function registryRetryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

export interface RegistryWorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  registries: StateRegistries;
}

/**
 * Claims the most overdue pending check with a lease and counts the attempt. One statement, so
 * it commits at once; SKIP LOCKED lets several workers claim different checks side by side.
 */
export async function claimDueRegistryCheck(db: Db, now: Date): Promise<RegistryCheck | undefined> {
  return db
    .updateTable('registry_checks')
    .set((eb) => ({ leased_until: new Date(now.getTime() + REGISTRY_CHECK_LEASE_SECONDS * 1000), attempts: eb('attempts', '+', 1) }))
    .where('id', '=', (eb) =>
      eb
        .selectFrom('registry_checks')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((w) => w.or([w('leased_until', 'is', null), w('leased_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
}

/** One round: claims and processes due checks (up to a batch). Returns how many it handled. */
export async function processDueRegistryChecks(deps: RegistryWorkerDeps): Promise<number> {
  let handled = 0;
  while (handled < BATCH) {
    const check = await claimDueRegistryCheck(deps.db, deps.clock.now());
    if (!check) break;
    await processClaimedCheck(deps, check);
    handled++;
  }
  return handled;
}

/**
 * Asks the registries outside any transaction — PGlite runs one transaction at a time, so a slow
 * call inside one would freeze every other connection — then records the outcome in one.
 */
export async function processClaimedCheck(deps: RegistryWorkerDeps, check: RegistryCheck): Promise<CheckOutcome> {
  const { db, clock, logger, registries } = deps;
  let verdicts: [PassportVerdict, SnilsVerdict];
  try {
    verdicts = await Promise.all([
      withTimeout(registries.checkPassport(check.snapshot), 'МВД'),
      withTimeout(registries.checkSnils(check.snapshot), 'СФР'),
    ]);
  } catch (error) {
    // Anything a registry call throws is retried: an unexpected error is logged loudly, but the
    // citizen still ends with an answer (registry_unavailable) rather than a check pending forever.
    if (!(error instanceof RegistryUnavailableError)) logger.error({ err: error, checkId: check.id }, 'registry call failed unexpectedly');
    const message = error instanceof Error ? error.message : String(error);
    const outcome = await recordRegistryFailure(db, check, { error: message, now: clock.now(), maxAttempts: REGISTRY_CHECK_MAX_ATTEMPTS, retryDelaySeconds: registryRetryDelaySeconds });
    logger.info({ checkId: check.id, attempt: check.attempts, outcome }, 'registry check not answered');
    return outcome;
  }
  const [passport, snils] = verdicts;
  const reason = !passport.ok ? passport.reason : !snils.ok ? snils.reason : null;
  const outcome = await finishRegistryCheck(db, check, { reason }, clock.now());
  logger.info({ checkId: check.id, attempt: check.attempts, outcome }, 'registry check processed');
  return outcome;
}

/** Runs registry checks in the background until `stop()`, which waits for the round in progress. */
export function startRegistryCheckWorker(options: RegistryWorkerDeps & { pollMs: number }): { stop(): Promise<void> } {
  const { pollMs, ...deps } = options;
  return startPollingWorker({ name: 'registry-checks', pollMs, logger: deps.logger, runOnce: () => processDueRegistryChecks(deps) });
}

function withTimeout<T>(promise: Promise<T>, registry: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RegistryUnavailableError(`${registry}: no answer in ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
