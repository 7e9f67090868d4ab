import type { DbOrTrx } from '../db/database.ts';
import type { OutboxChannel } from './outbox.table.ts';

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
