import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { startPollingWorker } from '../shared/polling-worker.ts';
import { checkRetryDelaySeconds, claimDueCheck, processDueChecks, settleClaimedCheck, withCallTimeout } from './background-check.ts';
import type { StateRegistries } from './state-registries.ts';
import { finishRegistryCheck, recordRegistryFailure, type CheckOutcome } from './registry-check.service.ts';
import type { RegistryCheck } from './verification.tables.ts';

/** Calls to the registries, counting crashed workers' claims; then the check ends `registry_unavailable`. */
export const REGISTRY_CHECK_MAX_ATTEMPTS = 5;
export const registryRetryDelaySeconds = checkRetryDelaySeconds;

export interface RegistryWorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  registries: StateRegistries;
}

/** Claims the most overdue pending identity check (see background-check.ts). */
export function claimDueRegistryCheck(db: Db, now: Date): Promise<RegistryCheck | undefined> {
  return claimDueCheck(db, { table: 'registry_checks', statusColumn: 'status' }, now);
}

/** One round: claims and processes due checks (up to a batch). Returns how many it handled. */
export function processDueRegistryChecks(deps: RegistryWorkerDeps): Promise<number> {
  return processDueChecks(() => claimDueRegistryCheck(deps.db, deps.clock.now()), (check) => processClaimedCheck(deps, check));
}

/** Asks МВД and СФР about the snapshot side by side; the first refusal is the check's reason. */
export function processClaimedCheck(deps: RegistryWorkerDeps, check: RegistryCheck): Promise<CheckOutcome> {
  const { db, registries } = deps;
  return settleClaimedCheck(deps, check, {
    log: { subject: 'registry', idKey: 'checkId' },
    maxAttempts: REGISTRY_CHECK_MAX_ATTEMPTS,
    ask: () => Promise.all([withCallTimeout(registries.checkPassport(check.snapshot), 'МВД'), withCallTimeout(registries.checkSnils(check.snapshot), 'СФР')]),
    finish: ([passport, snils], now) => finishRegistryCheck(db, check, { reason: !passport.ok ? passport.reason : !snils.ok ? snils.reason : null }, now),
    recordFailure: (failure) => recordRegistryFailure(db, check, failure),
  });
}

/** Runs registry checks in the background until `stop()`, which waits for the round in progress. */
export function startRegistryCheckWorker(options: RegistryWorkerDeps & { pollMs: number }): { stop(): Promise<void> } {
  const { pollMs, ...deps } = options;
  return startPollingWorker({ name: 'registry-checks', pollMs, logger: deps.logger, runOnce: () => processDueRegistryChecks(deps) });
}
