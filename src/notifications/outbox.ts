import type { DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { OutboxChannel, OutboxMessage } from './outbox.table.ts';

export interface OutgoingMessage {
  channel: OutboxChannel;
  /** Phone 7XXXXXXXXXX, e-mail address, or postal address. */
  recipient: string;
  /** A template name from notifications/templates.ts, e.g. 'registration_code'. */
  template: string;
  payload?: Record<string, unknown>;
}

/**
 * Queues a message. Call it with the transaction of the change that causes it: the message is sent
 * if and only if the change commits. Delivery (with retries) is the worker's job.
 */
export async function enqueueMessage(db: DbOrTrx, message: OutgoingMessage, now?: Date): Promise<void> {
  await db
    .insertInto('outbox_messages')
    .values({ channel: message.channel, recipient: message.recipient, template: message.template, payload: message.payload ?? {}, ...(now ? { created_at: now, next_attempt_at: now } : {}) })
    .execute();
}

/**
 * Deletes delivered and abandoned messages older than `olderThanDays` (by creation time); queued ones
 * stay whatever their age. Returns how many were deleted. For the prune job.
 */
export async function pruneDeliveredMessages(db: DbOrTrx, clock: Clock, olderThanDays = 30): Promise<number> {
  const cutoff = new Date(clock.now().getTime() - olderThanDays * 24 * 3600 * 1000);
  const result = await db.deleteFrom('outbox_messages').where('status', 'in', ['sent', 'abandoned']).where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The newest messages, optionally only those to one recipient (already normalised), newest first. */
export async function listRecentMessages(db: DbOrTrx, options: { recipient?: string; limit: number }): Promise<OutboxMessage[]> {
  let query = db.selectFrom('outbox_messages').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit);
  if (options.recipient !== undefined) query = query.where('recipient', '=', options.recipient);
  return query.execute();
}
