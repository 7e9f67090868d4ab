import { DeliveryError, type Channel } from './channel.ts';

export interface SmsGatewayOptions {
  url: string;
  token?: string;
  /** Per request; the worker's lease (60 s) must comfortably outlast it. */
  timeoutMs?: number;
}

/**
 * SMS through an HTTP gateway: `POST <url>` with JSON `{ "to": "+7…", "text": "…" }` and
 * `Authorization: Bearer <token>`. 2xx is delivered; 429, 5xx, a timeout or a network error are
 * retried later; any other 4xx is permanent (the gateway refused this message, retrying will not help).
 * Error messages carry the status only: a gateway's response body may echo the text with its code.
 */
export function createSmsGatewayChannel(options: SmsGatewayOptions): Channel {
  const timeoutMs = options.timeoutMs ?? 5000;
  return {
    name: 'sms',
    via: 'sms-gateway',
    async send(message) {
      const to = message.recipient.startsWith('+') ? message.recipient : `+${message.recipient}`;
      let response: Response;
      try {
        response = await fetch(options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          },
          body: JSON.stringify({ to, text: message.text }),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
      } catch (error) {
        const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
        throw new DeliveryError(timedOut ? `sms gateway did not answer within ${timeoutMs} ms` : `sms gateway unreachable: ${(error as Error).message}`);
      }
      await response.body?.cancel();
      if (response.ok) return;
      const permanent = response.status >= 400 && response.status < 500 && response.status !== 429;
      throw new DeliveryError(`sms gateway answered ${response.status}`, { permanent });
    },
  };
}
