import autocannon from 'autocannon';

/** What every scenario reports, whether autocannon or our own loop drove it. */
export interface LoadResult {
  /** Successful operations (2xx responses, or completed login round trips) per second. */
  opsPerSecond: number;
  ok: number;
  /** Non-2xx responses, or round trips that failed at some step. */
  failed: number;
  /** Socket errors and timeouts (autocannon), or network failures (login loop). */
  socketErrors: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  durationSeconds: number;
  /** Responses by status, and the first few distinct failure messages, to explain errors. */
  statuses: Record<string, number>;
  failures: string[];
}

export type RequestContext = Record<string, unknown>;

export interface HttpLoad {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /**
   * Builds each request (e.g. takes the next refresh token). `context` belongs to the connection
   * and lives from this request's setup to its response (one request in flight per connection).
   */
  setupRequest?: (request: autocannon.Request, context: RequestContext) => autocannon.Request;
  onResponse?: (status: number, body: string, context: RequestContext) => void;
  /** Whether a 2xx body is the right answer; a 2xx with a wrong body counts as failed ("bad body"). */
  check?: (body: string) => boolean;
}

/**
 * Drives one endpoint with autocannon for `seconds` at `connections` keep-alive connections.
 * Latencies are collected from every response (not only 2xx), so p95 can be reported too
 * (autocannon's own summary stops at p90 / p97.5).
 */
export async function runHttpLoad(load: HttpLoad, seconds: number, connections: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let badBodies = 0;
  // The first few distinct error answers, to say why requests failed (e.g. `400 {"error":"invalid_grant"…}`).
  const errorBodies = new Set<string>();
  const onResponse = (status: number, body: string, context: object) => {
    if (load.check && status >= 200 && status < 300 && !load.check(body)) badBodies++;
    if (status >= 400 && errorBodies.size < 3) errorBodies.add(`${status} ${body.slice(0, 160)}`);
    load.onResponse?.(status, body, context as RequestContext);
  };
  const request: autocannon.Request = {
    method: load.method ?? 'GET',
    headers: load.headers,
    body: load.body,
    ...(load.setupRequest ? { setupRequest: (req: autocannon.Request, context: object) => load.setupRequest!(req, context as RequestContext) } : {}),
    onResponse,
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url: load.url, connections, duration: seconds, timeout: 10, requests: [request] }, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
  const ok = result['2xx'] - badBodies;
  const failures = result.errors ? [`${result.errors} socket errors (${result.timeouts} timeouts)`] : [];
  failures.push(...errorBodies);
  if (badBodies) {
    statuses['bad body'] = badBodies;
    failures.push(`${badBodies} 2xx responses with a wrong body`);
  }
  return {
    opsPerSecond: ok / result.duration,
    ok,
    failed: result.non2xx + badBodies,
    socketErrors: result.errors,
    latencyMs: percentiles(latencies),
    durationSeconds: result.duration,
    statuses,
    failures,
  };
}

/**
 * Runs `operation` in `concurrency` parallel loops for `seconds` (each loop starts its next
 * operation when the previous one ends), for flows autocannon cannot drive: several requests
 * with cookies and redirects. An operation that throws counts as failed.
 */
export async function runLoop(operation: () => Promise<void>, seconds: number, concurrency: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let ok = 0;
  let failed = 0;
  let socketErrors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const begin = performance.now();
      try {
        await operation();
        ok++;
      } catch (error) {
        failed++;
        if ((error as Error).name === 'TypeError') socketErrors++; // fetch's network failures
        const message = String((error as Error).message).slice(0, 200);
        failures.set(message, (failures.get(message) ?? 0) + 1);
      }
      latencies.push(performance.now() - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const durationSeconds = (performance.now() - started) / 1000;
  return {
    opsPerSecond: ok / durationSeconds,
    ok,
    failed: failed - socketErrors,
    socketErrors,
    latencyMs: percentiles(latencies),
    durationSeconds,
    statuses: {},
    failures: [...failures].slice(0, 5).map(([message, count]) => `${count}× ${message}`),
  };
}

/** Nearest-rank percentiles in milliseconds. */
export function percentiles(samples: number[]): LoadResult['latencyMs'] {
  if (samples.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1] };
}
