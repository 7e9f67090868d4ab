import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Seconds each scenario runs. */
  duration: number;
  /** Concurrent connections (HTTP scenarios) and concurrent round trips (login scenario). */
  connections: number;
  /** Citizens seeded before the run. */
  citizens: number;
  /** Seconds each limit (argon2 verify, RS256 sign) is measured. */
  limitSeconds: number;
  /** `auto`: DATABASE_URL (or the local default) when PostgreSQL answers, else the embedded PGlite. */
  database: 'auto' | 'postgres' | 'pglite';
  smoke: boolean;
  /** Write bench/results/<date>.json and latest.md. */
  write: boolean;
  /** Only these scenarios (names as in the table), for profiling one hot spot. */
  only: string[] | undefined;
  /** Run the IdP under `node --cpu-prof` and keep the profile in this directory. */
  cpuProfDir: string | undefined;
  /** The whole set of scenarios this many times; the table shows each figure's median. */
  runs: number;
  /** Drive the same scenarios against bare oidc-provider (bench/baseline.ts) in the same run. */
  baseline: boolean;
  /** Also run the API scenarios against the IdP with IDP_WORKERS=2 (PostgreSQL only). */
  workersCompare: boolean;
  /** Seconds of steady login + refresh load between the table-size snapshots (0: no snapshots). */
  sustainSeconds: number;
  /** The IdP's PRUNE_INTERVAL_SECONDS during the run. */
  pruneIntervalSeconds: number;
  /** Record every statement the IdP runs and show EXPLAIN (ANALYZE, BUFFERS) of the hot paths. */
  explain: boolean;
}

const USAGE = `Usage: npm run bench -- [options]

  --duration N       seconds per scenario (default 10)
  --connections N    concurrent connections / login round trips (default 32)
  --citizens N       citizens to seed with batched inserts (default 10000)
  --db auto|postgres|pglite
                     auto (default): DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres,
                     when PostgreSQL answers; otherwise the embedded PGlite
  --only a,b         run only these scenarios (e.g. --only login,refresh_token)
  --cpu-prof DIR     run the IdP under node --cpu-prof; its .cpuprofile lands in DIR
                     (summarise it with: node bench/profile-summary.ts DIR/<file>)
  --runs N           run the whole set N times and report the median of each figure (default 1;
                     quote --runs 3 on a noisy machine: about three times as long)
  --no-baseline      skip the baseline (bare oidc-provider with its in-memory adapter)
  --no-workers-compare
                     skip the API scenarios at IDP_WORKERS=2 (needs PostgreSQL; on by default)
  --sustain N        seconds of steady login + refresh load between the table-size snapshots
                     (default 60, smoke 3; 0 skips the snapshots)
  --prune-interval N the IdP's PRUNE_INTERVAL_SECONDS during the run (default 10, smoke 2)
  --explain          record the statements the IdP runs (statements per request) and print
                     EXPLAIN (ANALYZE, BUFFERS) of every hot-path query (bench/explain.ts)
  --smoke            every scenario for ~1 s with 4 connections; writes nothing to bench/results
  --no-write         print the table, write no files
  --help             this text`;

/** Reads the command line; exits with the usage text on --help or a bad value. */
export function parseBenchOptions(argv: string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        connections: { type: 'string' },
        citizens: { type: 'string' },
        db: { type: 'string' },
        only: { type: 'string' },
        'cpu-prof': { type: 'string' },
        runs: { type: 'string' },
        'no-baseline': { type: 'boolean' },
        'no-workers-compare': { type: 'boolean' },
        sustain: { type: 'string' },
        'prune-interval': { type: 'string' },
        explain: { type: 'boolean' },
        smoke: { type: 'boolean' },
        'no-write': { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const smoke = values.smoke === true;
  const database = values.db ?? 'auto';
  if (database !== 'auto' && database !== 'postgres' && database !== 'pglite') fail(`--db must be auto, postgres or pglite (got ${database})`);
  return {
    duration: positiveInt(values.duration, '--duration', smoke ? 1 : 10),
    connections: positiveInt(values.connections, '--connections', smoke ? 4 : 32),
    citizens: positiveInt(values.citizens, '--citizens', smoke ? 500 : 10_000),
    limitSeconds: smoke ? 0.5 : 3,
    database,
    smoke,
    write: !smoke && values['no-write'] !== true,
    only: values.only?.split(',').map((s) => s.trim()).filter(Boolean),
    cpuProfDir: values['cpu-prof'],
    runs: positiveInt(values.runs, '--runs', 1),
    baseline: values['no-baseline'] !== true,
    workersCompare: values['no-workers-compare'] !== true,
    sustainSeconds: nonNegativeInt(values.sustain, '--sustain', smoke ? 3 : 60),
    pruneIntervalSeconds: positiveInt(values['prune-interval'], '--prune-interval', smoke ? 2 : 10),
    explain: values.explain === true,
  };
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive whole number (got ${value})`);
  return n;
}

function nonNegativeInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`${name} must be a whole number, 0 or more (got ${value})`);
  return n;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(64); // EX_USAGE
}
