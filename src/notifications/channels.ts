import type { Config } from '../config/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { OutboxChannel } from './outbox.table.ts';
import { DeliveryError, type Channel } from './channel.ts';
import { createSmsGatewayChannel } from './sms-gateway.channel.ts';
import { createSmtpChannel } from './smtp.channel.ts';

export { DeliveryError, type Channel, type ChannelMessage, type Channels } from './channel.ts';

/**
 * The channels this configuration delivers through:
 * - `email`: SMTP (nodemailer) when SMTP_URL is set;
 * - `sms`: the HTTP SMS gateway when SMS_GATEWAY_URL is set;
 * - otherwise, outside production only (`devOutbox`), the development channel: one log line without
 *   the text, and the message counts as delivered — testers read it on /dev/outbox.
 * - `post`: there is no print provider. Outside production letters go to the development channel;
 *   in production the `post` channel is "unavailable": each letter is abandoned at once with
 *   last_error saying so, and stays in the outbox (rendered on demand) for an operator to print.
 *   The same happens to SMS or e-mail when production lacks that provider.
 */
export function createChannels(config: Config['notifications'], logger: Logger): Record<OutboxChannel, Channel> {
  const fallback = (name: OutboxChannel, missing: string): Channel =>
    config.devOutbox ? developmentChannel(name, logger) : unavailableChannel(name, `no ${name} provider is configured (${missing}); the message cannot be delivered`);
  return {
    email: config.smtpUrl ? createSmtpChannel({ url: config.smtpUrl, from: config.smtpFrom }) : fallback('email', 'SMTP_URL'),
    sms: config.smsGatewayUrl ? createSmsGatewayChannel({ url: config.smsGatewayUrl, token: config.smsGatewayToken }) : fallback('sms', 'SMS_GATEWAY_URL'),
    post: fallback('post', 'no print provider exists; print abandoned letters from the outbox'),
  };
}

/**
 * Development only: logs that a message "went out" — channel, recipient, template, id — and never its
 * text, which holds the code. The logger's redaction would hide a field named `code`, but the text
 * is not such a field, so it is simply never passed.
 */
export function developmentChannel(name: OutboxChannel, logger: Logger): Channel {
  return {
    name,
    via: 'development',
    async send(message) {
      logger.info({ channel: name, recipient: message.recipient, template: message.template, messageId: message.id }, 'outbox message delivered to the development outbox (/dev/outbox)');
    },
  };
}

/** A channel with no provider behind it: every message is abandoned with `reason` as its last error. */
export function unavailableChannel(name: OutboxChannel, reason: string): Channel {
  return {
    name,
    via: 'unavailable',
    async send() {
      throw new DeliveryError(reason, { permanent: true });
    },
  };
}
