import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Anything that could carry a secret is redacted by path, so a careless
 * `log.info({ body })` still cannot leak a password, a code or a client secret.
 */
export const REDACTED_PATHS = [
  'password', '*.password', 'client_secret', '*.client_secret', 'secret', '*.secret', 'code', '*.code',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'access_token', 'refresh_token', 'id_token', '*.access_token', '*.refresh_token', '*.id_token',
];

export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino({
    name: options.name ?? 'esia-idp',
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  }, options.destination);
}
