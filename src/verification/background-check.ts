import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { RegistryUnavailableError } from './state-registries.ts';

/**
 * A check a state registry answers in the background: a row of its table waits `pending` until
 * `next_attempt_at`; a worker claims it with a lease (`leased_until`) and counts the attempt, asks
 * the registry outside any transaction, then records the verdict — or, when the registry does not
 * answer, a retry after a growing pause, until the area gives up. The МВД/СФР check of identities
 * (registry-check.worker.ts) and the ЗАГС check of child records (family/child-check.worker.ts)
 * both run this way; each states only its table, its registry call and how it records the outcome.
 */

/** A claimed check is the worker's for a minute; if the worker dies, the lease runs out and another takes it. */
export const CHECK_LEASE_SECONDS = 60;
/** A registry call taking longer is treated as a timeout, well inside the lease. */
const CALL_TIMEOUT_MS = 30_000;
/** Checks handled per round, one at a time, before the polling worker starts the next round. */
const BATCH = 10;

/** 30 s, 1 min, 2 min, 4 min … capped at an hour. */
export function checkRetryDelaySeconds(attempts: number): number {
  return Math.min(30 * 2 ** Math.max(0, attempts - 1), 3600);
}

/** The columns every check table has for the lease and the retries. */
interface LeaseColumns {
  id: string;
  attempts: number;
  next_attempt_at: Date;
  leased_until: Date | null;
}

/** Tables whose rows can be claimed as checks. */
export type CheckTable = { [T in keyof Database]: Selectable<Database[T]> extends LeaseColumns ? T : never }[keyof Database];

export interface CheckQueue<T extends CheckTable> {
  table: T;
  /** The column holding the check's status; a check is due while it is `pending`. */
  statusColumn: keyof Database[T] & string;
}

/**
 * Claims the most overdue pending check with a lease and counts the attempt. One statement, so it
 * commits at once; SKIP LOCKED lets several workers claim different checks side by side.
 */
export async function claimDueCheck<T extends CheckTable>(db: Db, queue: CheckQueue<T>, now: Date): Promise<Selectable<Database[T]> | undefined> {
  // Kysely cannot follow a table chosen by a type parameter; CheckTable guarantees the columns used here.
  const leasable = db as unknown as Kysely<Record<string, LeaseColumns>>;
  const table: string = queue.table;
  const claimed = await leasable
    .updateTable(table)
    .set((eb) => ({ leased_until: new Date(now.getTime() + CHECK_LEASE_SECONDS * 1000), attempts: eb('attempts', '+', 1) }))
    .where('id', '=', (eb) =>
      eb
        .selectFrom(table)
        .select('id')
        .where(sql.ref(queue.statusColumn), '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((w) => w.or([w('leased_until', 'is', null), w('leased_until', '<', now)]))
        .orderBy('next_attempt_at')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
  return claimed as Selectable<Database[T]> | undefined;
}

/** One round: claims and processes due checks, up to a batch. Returns how many it handled. */
export async function processDueChecks<Check>(claim: () => Promise<Check | undefined>, processClaimed: (check: Check) => Promise<unknown>): Promise<number> {
  let handled = 0;
  while (handled < BATCH) {
    const check = await claim();
    if (!check) break;
    await processClaimed(check);
    handled++;
  }
  return handled;
}

/** What an area's service needs to record a registry that did not answer: retry later, or give up. */
export interface CheckFailure {
  error: string;
  now: Date;
  maxAttempts: number;
  retryDelaySeconds: (attempts: number) => number;
}

export interface ClaimedCheckSteps<Verdict, Outcome> {
  /** For the log: `registry` or `civil registry`, and the field naming the row (`checkId`, `childId`). */
  log: { subject: string; idKey: string };
  /** Calls after which the check gives up. */
  maxAttempts: number;
  /** Asks the registry (wrap each call in withCallTimeout). Whatever it throws is retried. */
  ask: () => Promise<Verdict>;
  /** Records the registry's verdict, in a transaction of the area's own. */
  finish: (verdict: Verdict, now: Date) => Promise<Outcome>;
  /** Records that the registry did not answer: a retry, or the end after `maxAttempts`. */
  recordFailure: (failure: CheckFailure) => Promise<Outcome>;
}

/**
 * Asks the registry outside any transaction — PGlite runs one transaction at a time, so a slow call
 * inside one would freeze every other connection — then records the outcome in one.
 */
export async function settleClaimedCheck<Verdict, Outcome>(
  deps: { clock: Clock; logger: Logger },
  check: { id: string; attempts: number },
  steps: ClaimedCheckSteps<Verdict, Outcome>,
): Promise<Outcome> {
  const { clock, logger } = deps;
  const { subject, idKey } = steps.log;
  let verdict: Verdict;
  try {
    verdict = await steps.ask();
  } catch (error) {
    // Anything a registry call throws is retried: an unexpected error is logged loudly, but the
    // citizen still ends with an answer (registry_unavailable) rather than a check pending forever.
    if (!(error instanceof RegistryUnavailableError)) logger.error({ err: error, [idKey]: check.id }, `${subject} call failed unexpectedly`);
    const message = error instanceof Error ? error.message : String(error);
    const outcome = await steps.recordFailure({ error: message, now: clock.now(), maxAttempts: steps.maxAttempts, retryDelaySeconds: checkRetryDelaySeconds });
    logger.info({ [idKey]: check.id, attempt: check.attempts, outcome }, `${subject} check not answered`);
    return outcome;
  }
  const outcome = await steps.finish(verdict, clock.now());
  logger.info({ [idKey]: check.id, attempt: check.attempts, outcome }, `${subject} check processed`);
  return outcome;
}

/** The registry's answer, or RegistryUnavailableError when it takes longer than a call may. */
export function withCallTimeout<T>(promise: Promise<T>, registry: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RegistryUnavailableError(`${registry}: no answer in ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
