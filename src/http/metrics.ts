import { timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type pg from 'pg';
import type { Db } from '../db/database.ts';

/**
 * Prometheus metrics (prom-client). One registry per process, created by the runtime, so a key
 * rotation that rebuilds the app keeps counting.
 */
export interface Metrics {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  logins: Counter<'outcome'>;
  tokensIssued: Counter<'grant_type'>;
  rateLimited: Counter<'route'>;
}

export function createMetrics(options: { db: Db; pool: pg.Pool }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics: Metrics = {
    registry,
    requestDuration: new Histogram({
      name: 'esia_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    logins: new Counter({ name: 'esia_logins_total', help: 'Password login attempts by outcome', labelNames: ['outcome'], registers: [registry] }),
    tokensIssued: new Counter({ name: 'esia_tokens_issued_total', help: 'Token endpoint grants by grant type', labelNames: ['grant_type'], registers: [registry] }),
    rateLimited: new Counter({ name: 'esia_rate_limit_rejections_total', help: 'Requests answered 429 by route', labelNames: ['route'], registers: [registry] }),
  };
  new Gauge({
    name: 'esia_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, options.pool.totalCount);
      this.set({ state: 'idle' }, options.pool.idleCount);
      this.set({ state: 'waiting' }, options.pool.waitingCount);
    },
  });
  new Gauge({
    name: 'esia_outbox_backlog',
    help: 'Messages queued for delivery',
    registers: [registry],
    async collect() {
      const row = await options.db.selectFrom('outbox_messages').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'queued').executeTakeFirst();
      this.set(Number(row?.n ?? 0));
    },
  });
  return metrics;
}

/** A low-cardinality route name: oidc-provider's endpoint name, our router's pattern, or "unmatched". */
function routeOf(ctx: KoaContextWithOIDC & { _matchedRoute?: string }): string {
  return ctx.oidc?.route ?? ctx._matchedRoute ?? 'unmatched';
}

/** Times every request and counts logins and 429s by what the response says. */
export function metricsMiddleware(metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const end = metrics.requestDuration.startTimer();
    try {
      await next();
    } finally {
      const route = routeOf(ctx as never);
      end({ method: ctx.method, route, status: String(ctx.status) });
      if (ctx.status === 429) metrics.rateLimited.inc({ route });
      if (ctx.method === 'POST' && /^\/interaction\/[^/]+\/login$/.test(ctx.path)) {
        metrics.logins.inc({ outcome: ctx.status === 303 ? 'success' : ctx.status === 401 ? 'invalid_credentials' : ctx.status === 429 ? 'rate_limited' : 'other' });
      }
    }
  };
}

export function countIssuedTokens(provider: Provider, metrics: Metrics): void {
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    metrics.tokensIssued.inc({ grant_type: String(ctx.oidc.params?.grant_type ?? 'unknown') });
  });
}

/** GET /metrics in Prometheus text format; behind a bearer token when METRICS_TOKEN is set. */
export function metricsEndpoint(metrics: Metrics, token: string | undefined): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    if (token && !bearerMatches(ctx.get('authorization'), token)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      ctx.body = { error: 'unauthorized' };
      return;
    }
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  };
}

function bearerMatches(header: string, token: string): boolean {
  const given = Buffer.from(header.replace(/^Bearer /i, ''));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
