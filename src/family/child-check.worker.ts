import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { startPollingWorker } from '../shared/polling-worker.ts';
import { checkRetryDelaySeconds, claimDueCheck, processDueChecks, settleClaimedCheck, withCallTimeout } from '../verification/background-check.ts';
import type { BirthRecordVerdict, CivilRegistry } from './civil-registry.ts';
import { finishChildCheck, recordChildCheckFailure, type ChildCheckOutcome } from './children.service.ts';
import type { Child } from './family.tables.ts';

/**
 * The civil-registry check of child records, the same way as the МВД/СФР check of identities
 * (src/verification/background-check.ts): claim with a lease, ask the registry outside any
 * transaction, record the verdict in one, retry a registry that does not answer.
 */

/** Calls to the registry, counting crashed workers' claims; then the check ends `failed`. */
export const CHILD_CHECK_MAX_ATTEMPTS = 5;
export const childCheckRetryDelaySeconds = checkRetryDelaySeconds;

export interface ChildCheckWorkerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  registry: CivilRegistry;
}

/** Claims the most overdue pending check and counts the attempt, in one statement (SKIP LOCKED: workers side by side). */
export function claimDueChildCheck(db: Db, now: Date): Promise<Child | undefined> {
  return claimDueCheck(db, { table: 'children', statusColumn: 'check_status' }, now);
}

/** One round: claims and processes due checks (up to a batch). Returns how many it handled. */
export function processDueChildChecks(deps: ChildCheckWorkerDeps): Promise<number> {
  return processDueChecks(() => claimDueChildCheck(deps.db, deps.clock.now()), (child) => processClaimedChildCheck(deps, child));
}

/** Asks the registry about one claimed record (no transaction open meanwhile), then records the outcome. */
export async function processClaimedChildCheck(deps: ChildCheckWorkerDeps, child: Child): Promise<ChildCheckOutcome> {
  const { db, registry } = deps;
  // The birth record names the parents: the registry matches the applicant by name and birth date.
  const parent = await db.selectFrom('citizens').select(['last_name', 'first_name', 'middle_name', 'birth_date']).where('oid', '=', child.parent_oid).executeTakeFirst();
  return settleClaimedCheck(deps, child, {
    log: { subject: 'civil registry', idKey: 'childId' },
    maxAttempts: CHILD_CHECK_MAX_ATTEMPTS,
    ask: async (): Promise<BirthRecordVerdict> =>
      parent
        ? withCallTimeout(registry.checkBirthRecord({
            certificate: { series: child.cert_series, number: child.cert_number, issueDate: child.cert_issue_date },
            child: { lastName: child.last_name, firstName: child.first_name, middleName: child.middle_name, birthDate: child.birth_date, gender: child.gender, snils: child.snils },
            applicant: { lastName: parent.last_name, firstName: parent.first_name, middleName: parent.middle_name, birthDate: parent.birth_date ?? '' },
          }), 'ЗАГС')
        : { ok: false, reason: 'certificate_not_found' },
    finish: (verdict, now) => finishChildCheck(db, child, verdict, now),
    recordFailure: (failure) => recordChildCheckFailure(db, child, failure),
  });
}

/** Runs the checks in the background until `stop()`, which waits for the round in progress. */
export function startChildCheckWorker(options: ChildCheckWorkerDeps & { pollMs: number }): { stop(): Promise<void> } {
  const { pollMs, ...deps } = options;
  return startPollingWorker({ name: 'child-checks', pollMs, logger: deps.logger, runOnce: () => processDueChildChecks(deps) });
}
