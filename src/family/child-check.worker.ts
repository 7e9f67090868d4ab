import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { startPollingWorker } from '../shared/polling-worker.ts';
import { RegistryUnavailableError } from '../verification/state-registries.ts';
import type { BirthRecordVerdict, CivilRegistry } from './civil-registry.ts';
import { finishChildCheck, recordChildCheckFailure, type ChildCheckOutcome } from './children.service.ts';
import type { Child } from './family.tables.ts';

/**
 * The civil-registry check of child records, the same way as the МВД/СФР check of identities
 * (src/verification/registry-check.worker.ts): claim with a lease, ask the registry outside any
 * transaction, record the verdict in one, retry a registry that does not answer.
 */

/** A claimed check is this worker's for a minute; if the worker dies, the lease runs out and another takes it. */
export const CHILD_CHECK_LEASE_SECONDS = 60;
/** Calls to the registry, counting crashed workers' claims; then the check ends `failed`. */
export const CHILD_CHECK_MAX_ATTEMPTS = 5;
/** A registry call taking longer is treated as a timeout, well inside the lease. */
const CALL_TIMEOUT_MS = 30_000;
const BATCH = 10;

/** 30 s, 1 min, 2 min, 4 min … capped at an hour. */
export function childCheckRetryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

export interface ChildCheckWorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  registry: CivilRegistry;
}

/** Claims the most overdue pending check and counts the attempt, in one statement (SKIP LOCKED: workers side by side). */
export async function claimDueChildCheck(db: Db, now: Date): Promise<Child | undefined> {
  return db
    .updateTable('children')
    .set((eb) => ({ leased_until: new Date(now.getTime() + CHILD_CHECK_LEASE_SECONDS * 1000), attempts: eb('attempts', '+', 1) }))
    .where('id', '=', (eb) =>
      eb
        .selectFrom('children')
        .select('id')
        .where('check_status', '=', 'pending')
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
export async function processDueChildChecks(deps: ChildCheckWorkerDeps): Promise<number> {
  let handled = 0;
  while (handled < BATCH) {
    const child = await claimDueChildCheck(deps.db, deps.clock.now());
    if (!child) break;
    await processClaimedChildCheck(deps, child);
    handled++;
  }
  return handled;
}

/** Asks the registry about one claimed record (no transaction open meanwhile), then records the outcome. */
export async function processClaimedChildCheck(deps: ChildCheckWorkerDeps, child: Child): Promise<ChildCheckOutcome> {
  const { db, clock, logger, registry } = deps;
  // The birth record names the parents: the registry matches the applicant by name and birth date.
  const parent = await db.selectFrom('citizens').select(['last_name', 'first_name', 'middle_name', 'birth_date']).where('oid', '=', child.parent_oid).executeTakeFirst();
  let verdict: BirthRecordVerdict;
  try {
    verdict = parent
      ? await withTimeout(registry.checkBirthRecord({
          certificate: { series: child.cert_series, number: child.cert_number, issueDate: child.cert_issue_date },
          child: { lastName: child.last_name, firstName: child.first_name, middleName: child.middle_name, birthDate: child.birth_date, gender: child.gender, snils: child.snils },
          applicant: { lastName: parent.last_name, firstName: parent.first_name, middleName: parent.middle_name, birthDate: parent.birth_date ?? '' },
        }))
      : { ok: false, reason: 'certificate_not_found' };
  } catch (error) {
    // Anything the call throws is retried; an unexpected error is logged loudly, but the parent still
    // ends with an answer (registry_unavailable) rather than a check pending forever.
    if (!(error instanceof RegistryUnavailableError)) logger.error({ err: error, childId: child.id }, 'civil registry call failed unexpectedly');
    const message = error instanceof Error ? error.message : String(error);
    const outcome = await recordChildCheckFailure(db, child, { error: message, now: clock.now(), maxAttempts: CHILD_CHECK_MAX_ATTEMPTS, retryDelaySeconds: childCheckRetryDelaySeconds });
    logger.info({ childId: child.id, attempt: child.attempts, outcome }, 'civil registry check not answered');
    return outcome;
  }
  const outcome = await finishChildCheck(db, child, verdict, clock.now());
  logger.info({ childId: child.id, attempt: child.attempts, outcome }, 'civil registry check processed');
  return outcome;
}

/** Runs the checks in the background until `stop()`, which waits for the round in progress. */
export function startChildCheckWorker(options: ChildCheckWorkerDeps & { pollMs: number }): { stop(): Promise<void> } {
  const { pollMs, ...deps } = options;
  return startPollingWorker({ name: 'child-checks', pollMs, logger: deps.logger, runOnce: () => processDueChildChecks(deps) });
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RegistryUnavailableError(`ЗАГС: no answer in ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
