import type { OutboxChannel } from './outbox.table.ts';

/** What a channel is handed: the rendered message. `id` and `template` are for logs, never the text. */
export interface ChannelMessage {
  id?: string;
  template?: string;
  recipient: string;
  subject?: string;
  text: string;
}

/** Delivers one rendered message, or throws (a DeliveryError says whether trying again can help). */
export interface Channel {
  name: OutboxChannel;
  /** How it delivers, for the start-up log: 'smtp', 'sms-gateway', 'development', 'unavailable'. */
  via?: string;
  send(message: ChannelMessage): Promise<void>;
}

export type Channels = Partial<Record<OutboxChannel, Channel>>;

/** A failed delivery. `permanent` ones (a rejected address, a 4xx from the gateway) are abandoned at once. */
export class DeliveryError extends Error {
  readonly permanent: boolean;
  constructor(message: string, options: { permanent?: boolean } = {}) {
    super(message);
    this.name = 'DeliveryError';
    this.permanent = options.permanent ?? false;
  }
}
