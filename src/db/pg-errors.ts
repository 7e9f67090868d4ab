/** PostgreSQL error codes we react to (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export function isUniqueViolation(error: unknown): boolean {
  return pgCode(error) === '23505';
}

export function pgCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * The database cannot be reached right now (stopped, restarting, connections killed, pool timed
 * out): the request may succeed if retried in a few seconds, so callers answer 503, not 500.
 * Follows `cause`, so an error that wraps one of these (the OIDC adapter's) counts too.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false;
  const code = pgCode(error);
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
  if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  return 'cause' in error && isDatabaseUnavailable(error.cause, depth + 1);
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', // admin_shutdown (pg_terminate_backend, server stopping)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, or connections not allowed)
  '57014', // query_canceled: statement_timeout on a stuck database
  '53300', // too_many_connections
  '08000', '08001', '08003', '08004', '08006', // connection_exception family
]);

// pg's own errors carry no code.
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated unexpectedly/,
  /^Connection terminated due to connection timeout/,
  /^timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  // 55000 is too broad a code to match on; this is ALTER DATABASE … ALLOW_CONNECTIONS false.
  /^database ".*" is not currently accepting connections/,
];
