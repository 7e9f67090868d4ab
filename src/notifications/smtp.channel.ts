import { createTransport } from 'nodemailer';
import { DeliveryError, type Channel } from './channel.ts';

export interface SmtpOptions {
  /** smtp://user:pass@host:587 or smtps://…:465 */
  url: string;
  /** The From header, e.g. 'Госуслуги <no-reply@example.ru>'. */
  from: string;
}

/**
 * E-mail over SMTP (nodemailer). Timeouts are far below nodemailer's defaults (minutes), so one send
 * always ends inside the worker's 60-second lease. A 5xx reply (no such mailbox, refused) is
 * permanent; a 4xx reply, a timeout or a lost connection is retried later.
 */
export function createSmtpChannel(options: SmtpOptions): Channel {
  const transport = createTransport(
    { url: options.url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 },
    { from: options.from },
  );
  return {
    name: 'email',
    via: 'smtp',
    async send(message) {
      try {
        await transport.sendMail({ to: message.recipient, subject: message.subject ?? 'Госуслуги', text: message.text });
      } catch (error) {
        const responseCode = (error as { responseCode?: unknown }).responseCode;
        const permanent = typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600;
        throw new DeliveryError(`smtp: ${String((error as Error).message).slice(0, 300)}`, { permanent });
      }
    },
  };
}
