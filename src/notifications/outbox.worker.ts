import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { startPollingWorker } from '../shared/polling-worker.ts';
import { DeliveryError, type Channels } from './channel.ts';
import type { OutboxMessage } from './outbox.table.ts';
import { renderTemplate, TemplateError } from './templates.ts';

/** A message that failed this many times is abandoned. */
export const MAX_ATTEMPTS = 8;
/** How long a claimed message is ours. A crashed worker's messages are picked up again after it. */
export const LEASE_SECONDS = 60;
/** One send may take at most this long, well inside the lease (channels have shorter timeouts of their own). */
const SEND_TIMEOUT_MS = 30_000;
/** Pause after the 1st, 2nd, … failure: 5 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h (≈ 10 h in all before giving up). */
const RETRY_DELAYS_SECONDS = [5, 30, 120, 600, 3600, 3 * 3600, 6 * 3600];
const DEFAULT_BATCH_SIZE = 10;

export interface OutboxDeliveryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  channels: Channels;
  /** Messages claimed per round; they are sent in parallel, so each finishes inside its lease. */
  batchSize?: number;
  /** Jitter source in [0, 1); tests pass a constant. */
  random?: () => number;
}

/**
 * The pause before attempt `attempts + 1`, with ±20 % jitter so that messages that failed together
 * (a gateway outage) do not all come back in the same second. The steps grow by ≥ 2×, so the pauses
 * grow even with jitter.
 */
export function retryDelaySeconds(attempts: number, random: () => number = Math.random): number {
  const base = RETRY_DELAYS_SECONDS[Math.min(Math.max(attempts, 1), RETRY_DELAYS_SECONDS.length) - 1];
  return Math.round(base * (0.8 + 0.4 * random()) * 1000) / 1000;
}

/**
 * Claims due messages by leasing them: one UPDATE (its own short transaction) that takes rows no one
 * else holds — SKIP LOCKED lets several instances claim side by side — and counts the attempt.
 * Sending happens after it commits, outside any transaction: a slow SMTP or HTTP call inside one
 * would hold row locks, and on PGlite block every other connection.
 */
export async function claimDueMessages(db: Db, now: Date, batchSize: number): Promise<OutboxMessage[]> {
  const leasedUntil = new Date(now.getTime() + LEASE_SECONDS * 1000);
  return db
    .updateTable('outbox_messages')
    .set((eb) => ({ leased_until: leasedUntil, attempts: eb('attempts', '+', 1) }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox_messages')
        .select('id')
        .where('status', '=', 'queued')
        .where('next_attempt_at', '<=', now)
        .where((w) => w.or([w('leased_until', 'is', null), w('leased_until', '<', now)]))
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

/**
 * One delivery round: claim the due messages, send each, record the outcome. Returns how many were
 * claimed. Never throws for a message's own failure (that becomes a retry or `abandoned`); a database
 * error while recording is thrown after the other outcomes are recorded — the lease then runs out
 * and the message is tried again.
 */
export async function deliverDueMessages(deps: OutboxDeliveryDeps): Promise<number> {
  const claimed = await claimDueMessages(deps.db, deps.clock.now(), deps.batchSize ?? DEFAULT_BATCH_SIZE);
  const results = await Promise.allSettled(claimed.map((message) => deliverOne(deps, message)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return claimed.length;
}

async function deliverOne(deps: OutboxDeliveryDeps, message: OutboxMessage): Promise<void> {
  const log = { messageId: message.id, channel: message.channel, template: message.template, attempts: message.attempts };
  let failure: { error: string; permanent: boolean } | undefined;
  try {
    const rendered = renderTemplate(message.template, message.payload, 'ru');
    const channel = deps.channels[message.channel];
    if (!channel) throw new DeliveryError(`no delivery channel for "${message.channel}"`, { permanent: true });
    await withTimeout(channel.send({ id: message.id, template: message.template, recipient: message.recipient, ...rendered }), SEND_TIMEOUT_MS);
  } catch (error) {
    const permanent = error instanceof TemplateError || (error instanceof DeliveryError && error.permanent);
    failure = { error: error instanceof Error ? error.message : String(error), permanent };
  }

  const now = deps.clock.now();
  // `attempts` is our fencing token: if our lease ran out and another worker claimed the message
  // meanwhile, its claim bumped `attempts` and our stale outcome touches nothing.
  const mine = deps.db.updateTable('outbox_messages').where('id', '=', message.id).where('status', '=', 'queued').where('attempts', '=', message.attempts);
  if (!failure) {
    await mine.set({ status: 'sent', sent_at: now, leased_until: null, last_error: null }).execute();
    deps.logger.info(log, 'outbox message sent');
  } else if (failure.permanent || message.attempts >= MAX_ATTEMPTS) {
    await mine.set({ status: 'abandoned', leased_until: null, last_error: failure.error.slice(0, 1000) }).execute();
    deps.logger.error({ ...log, error: failure.error }, 'outbox message abandoned');
  } else {
    const nextAttemptAt = new Date(now.getTime() + retryDelaySeconds(message.attempts, deps.random) * 1000);
    await mine.set({ next_attempt_at: nextAttemptAt, leased_until: null, last_error: failure.error.slice(0, 1000) }).execute();
    deps.logger.warn({ ...log, error: failure.error, nextAttemptAt }, 'outbox message not sent; will retry');
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryError(`the channel did not finish within ${ms / 1000} s`)), ms);
  });
  promise.catch(() => {}); // a late failure after the timeout must not become an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Delivers the outbox in the background until stopped: one round every `pollMs`, at once again while
 * there is a backlog. Start it in every instance that runs workers; leases keep them from sending a
 * message twice.
 */
export function startOutboxWorker(options: { db: Db; clock: Clock; logger: Logger; channels: Channels; pollMs: number; batchSize?: number }): { stop(): Promise<void> } {
  const { pollMs, ...deps } = options;
  const via = Object.fromEntries(Object.entries(deps.channels).map(([name, channel]) => [name, channel?.via ?? 'custom']));
  options.logger.info({ channels: via, pollMs }, 'outbox worker started');
  return startPollingWorker({ name: 'outbox', pollMs, logger: options.logger, runOnce: () => deliverDueMessages(deps) });
}
