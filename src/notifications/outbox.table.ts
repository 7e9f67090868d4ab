import type { ColumnType, Generated, Selectable } from 'kysely';

export type OutboxChannel = 'sms' | 'email' | 'post';
export type OutboxStatus = 'queued' | 'sent' | 'abandoned';

export interface OutboxMessagesTable {
  id: Generated<string>;
  channel: OutboxChannel;
  recipient: string;
  template: string;
  payload: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>>;
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  leased_until: Date | null;
  last_error: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  sent_at: Date | null;
}

export type OutboxMessage = Selectable<OutboxMessagesTable>;
