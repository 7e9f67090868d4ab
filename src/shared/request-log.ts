import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from './logger.ts';

const REQUEST_ID_PATTERN = /^[\w.\-]{8,128}$/;

/**
 * Koa middleware for the IdP and the mock Mos.ru alike. Gives every request an id (kept from a trusted proxy's X-Request-Id), a child logger that
 * carries it, and one access-log line. Only the path is logged: query strings carry codes and tokens.
 */
export function requestLog(logger: Logger, options: { trustProxy: boolean }): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = options.trustProxy && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (ctx.path !== '/healthz' && ctx.path !== '/readyz') {
        ctx.state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, durationMs: Math.round(durationMs * 10) / 10 }, 'request');
      }
    }
  };
}
