/**
 * Preloaded into the IdP (`node --import ./bench/query-capture.ts src/main.ts`) by `npm run bench
 * -- --explain`: counts every SQL statement the IdP sends through `pg`, keeping the parameters it
 * last ran with. On SIGUSR2 (and at exit) it writes them to the file named by BENCH_QUERY_LOG, so
 * the bench can tell how many statements each scenario costs and EXPLAIN exactly those statements.
 * Not loaded in an ordinary run: the IdP measured there is the one `npm start` runs.
 */
import { renameSync, writeFileSync } from 'node:fs';
import pg from 'pg';

export interface CapturedStatement {
  text: string;
  calls: number;
  /** The parameters of the latest call, JSON-safe (Dates as ISO strings, bigints as strings). */
  params: unknown[];
}

const file = process.env.BENCH_QUERY_LOG;

if (file) {
  const statements = new Map<string, { calls: number; params: unknown[] }>();
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function capture(this: pg.Client, ...args: unknown[]) {
    const [config, values] = args as [string | { text?: string; values?: unknown[] } | undefined, unknown];
    const text = typeof config === 'string' ? config : config?.text;
    if (typeof text === 'string') {
      const params = (Array.isArray(values) ? values : typeof config === 'object' ? config.values : undefined) ?? [];
      const entry = statements.get(text);
      if (entry) {
        entry.calls++;
        entry.params = params;
      } else {
        statements.set(text, { calls: 1, params });
      }
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;

  const dump = () => {
    const captured: CapturedStatement[] = [...statements].map(([text, s]) => ({ text, calls: s.calls, params: s.params }));
    const json = JSON.stringify(captured, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    writeFileSync(`${file}.tmp`, json);
    renameSync(`${file}.tmp`, file);
  };
  process.on('SIGUSR2', dump);
  process.on('exit', dump);
}
