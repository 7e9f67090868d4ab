import os from 'node:os';
import { lacksIndex, type ExplainedQuery } from './explain.ts';
import type { Limit } from './limits.ts';
import type { LoadResult } from './load.ts';
import type { Scenario } from './scenarios.ts';
import { TRACKED_TABLES, type TableSnapshot } from './table-sizes.ts';

/** Where the target's p99 bound applies (issue #8: "p99 latency at 32 concurrent connections"). */
export const TARGET_CONNECTIONS = 32;

/** One target's figures for a scenario: the median over the runs, and every run. */
export interface Measured {
  result: LoadResult;
  runs: LoadResult[];
}

export interface ScenarioOutcome {
  name: string;
  what: string;
  /** The IdP as `npm start` runs it (one process). */
  result: LoadResult;
  runs: LoadResult[];
  /** Bare oidc-provider in the same run, and ours ÷ it. */
  baseline?: Measured & { ratio: number };
  /** The IdP at IDP_WORKERS=2, and its throughput ÷ one worker's. */
  workers2?: Measured & { ratio: number };
  bound?: { limit: Limit['name']; why: string; limitOpsPerSecond: number; ratio: number };
  target: string;
  /** true met, false not met, null cannot be judged (no baseline measured). */
  met: boolean | null;
  verdict: string;
  /** --explain: SQL statements the IdP ran per operation in the first run, the busiest first. */
  statements?: { perOperation: number; top: Array<{ statement: string; perOperation: number }> };
}

export interface TableSizes {
  before: TableSnapshot[];
  after: TableSnapshot[];
  /** Expired rows planted in each table before the scenarios. */
  planted: number;
  sustained: { seconds: number; login: LoadResult; refresh: LoadResult };
  pruneIntervalSeconds: number;
  loginHistoryDays: number;
}

export interface RunReport {
  date: string;
  smoke: boolean;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; loadAverage: number[]; node: string; platform: string };
  settings: {
    seconds: number; connections: number; citizens: number; runs: number; database: string; engine: 'postgres' | 'pglite';
    idp: Record<string, string>;
  };
  notes: string[];
  seed: { citizens: number; seconds: number; rowsPerSecond: number };
  limits: Limit[];
  scenarios: ScenarioOutcome[];
  /** oidc_payloads rows by model after the run (sessions, tokens, grants… left by the load). */
  artifacts: Record<string, number>;
  tableSizes?: TableSizes;
  explained?: ExplainedQuery[];
  idpWarnings: number;
  /** Wall-clock seconds of the whole bench. */
  totalSeconds?: number;
}

/** The machine the run measured, with how busy it was when the run started. */
export function machineInfo(): RunReport['machine'] {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg(),
    node: process.versions.node,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/**
 * One figure out of several runs: the median of throughput and of each latency percentile, and
 * the sum of the errors (a target wants zero errors in every run).
 */
export function medianResult(runs: LoadResult[]): LoadResult {
  if (runs.length === 1) return runs[0];
  const statuses: Record<string, number> = {};
  for (const run of runs) for (const [code, n] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return {
    opsPerSecond: median(runs.map((r) => r.opsPerSecond)),
    ok: runs.reduce((n, r) => n + r.ok, 0),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    socketErrors: runs.reduce((n, r) => n + r.socketErrors, 0),
    latencyMs: {
      p50: median(runs.map((r) => r.latencyMs.p50)),
      p95: median(runs.map((r) => r.latencyMs.p95)),
      p99: median(runs.map((r) => r.latencyMs.p99)),
      max: Math.max(...runs.map((r) => r.latencyMs.max)),
    },
    durationSeconds: runs.reduce((n, r) => n + r.durationSeconds, 0),
    statuses,
    failures: [...new Set(runs.flatMap((r) => r.failures))].slice(0, 5),
  };
}

/**
 * a ÷ b run by run (each pair was measured back to back, so a busy moment of the machine weighs on
 * both), then the median of those ratios — steadier on a shared machine than a ratio of medians.
 */
export function pairedRatio(a: LoadResult[], b: LoadResult[]): number {
  const ratios = a.slice(0, b.length).map((run, i) => (b[i].opsPerSecond > 0 ? run.opsPerSecond / b[i].opsPerSecond : 0));
  return ratios.length ? median(ratios) : 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function judge(
  scenario: Scenario,
  ours: LoadResult[],
  limits: Limit[],
  connections: number,
  others: { baseline?: LoadResult[]; workers2?: LoadResult[]; baselineSkipped?: string },
): ScenarioOutcome {
  const { target } = scenario;
  const result = medianResult(ours);
  const baseline = others.baseline && { result: medianResult(others.baseline), runs: others.baseline };
  const workers2 = others.workers2 && { result: medianResult(others.workers2), runs: others.workers2 };
  const criteria: string[] = [];
  const misses: string[] = [];
  const pending: string[] = [];
  if (target.minOpsPerSecond !== undefined) {
    criteria.push(`≥ ${target.minOpsPerSecond} /s`);
    if (result.opsPerSecond < target.minOpsPerSecond) misses.push(`${fmt(result.opsPerSecond)} /s < ${target.minOpsPerSecond}`);
  }
  const baselineRatio = baseline ? pairedRatio(ours, baseline.runs) : 0;
  if (target.baselineRatio !== undefined) {
    criteria.push(`≥ ${target.baselineRatio}× baseline`);
    if (!baseline) pending.push(`baseline: ${others.baselineSkipped ?? 'not measured'}`);
    else if (baselineRatio < target.baselineRatio) misses.push(`${baselineRatio.toFixed(2)}× baseline < ${target.baselineRatio}`);
  }
  if (target.p99Ms !== undefined) {
    criteria.push(`p99 < ${target.p99Ms} ms @${TARGET_CONNECTIONS}`);
    if (connections !== TARGET_CONNECTIONS) pending.push(`p99 not judged at ${connections} connections`);
    else if (result.latencyMs.p99 >= target.p99Ms) misses.push(`p99 ${fmt(result.latencyMs.p99)} ms`);
  }
  criteria.push('0 errors');
  const errors = result.failed + result.socketErrors;
  if (errors > 0) misses.push(`${errors} errors`);

  const limit = scenario.bound && limits.find((l) => l.name === scenario.bound!.limit);
  const bound = scenario.bound && limit
    ? { ...scenario.bound, limitOpsPerSecond: limit.opsPerSecond, ratio: limit.opsPerSecond > 0 ? result.opsPerSecond / limit.opsPerSecond : 0 }
    : undefined;
  const met = misses.length ? false : pending.some((p) => p.startsWith('baseline')) ? null : true;
  const verdict = [met === false ? `NOT MET: ${misses.join(', ')}` : met === true ? 'met' : 'n/a', ...pending].join('; ');
  return {
    name: scenario.name,
    what: scenario.what,
    result,
    runs: ours,
    baseline: baseline && { ...baseline, ratio: baselineRatio },
    workers2: workers2 && { ...workers2, ratio: pairedRatio(workers2.runs, ours) },
    bound,
    target: criteria.join(', '),
    met,
    verdict,
  };
}

const errorsOf = (r: LoadResult) => r.failed + r.socketErrors;

export function markdownReport(report: RunReport): string {
  const runs = report.settings.runs;
  const rows = report.scenarios.map((s) => [
    s.name,
    fmt(s.result.opsPerSecond),
    ms(s.result.latencyMs.p50),
    ms(s.result.latencyMs.p95),
    ms(s.result.latencyMs.p99),
    String(errorsOf(s.result)),
    s.baseline ? fmt(s.baseline.result.opsPerSecond) : '—',
    s.baseline ? `${s.baseline.ratio.toFixed(2)}×` : '—',
    s.bound ? `${s.bound.limit} (${fmt(s.bound.limitOpsPerSecond)} /s)` : '—',
    s.bound ? `${s.bound.ratio.toFixed(2)}×` : '—',
    s.target,
    s.verdict,
  ]);
  const lines = [
    `### ${report.smoke ? 'Smoke run' : 'Bench run'} ${report.date}`,
    '',
    `${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}, load average at start ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}; ` +
      `${report.settings.database}; ${report.settings.citizens} citizens; ${report.settings.seconds} s per scenario at ${report.settings.connections} connections` +
      `${runs > 1 ? `; every figure is the median of ${runs} runs (errors: the sum; ratios: the median of each run's ratio)` : '; one run'}${report.totalSeconds ? `; the bench took ${Math.round(report.totalSeconds)} s` : ''}.`,
    '',
    table(['scenario', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'baseline ops/s', 'vs baseline', 'bounded by', 'vs limit', 'target', 'verdict'], rows, [1, 2, 3, 4, 5, 6, 7, 9]),
  ];

  const withBaseline = report.scenarios.filter((s) => s.baseline);
  if (withBaseline.length) {
    lines.push('', 'Baseline (bare oidc-provider 9, in-memory adapter, same clients, key, argon2id and load):', '',
      table(['scenario', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors'], withBaseline.map((s) => {
        const b = s.baseline!.result;
        return [s.name, fmt(b.opsPerSecond), ms(b.latencyMs.p50), ms(b.latencyMs.p95), ms(b.latencyMs.p99), String(errorsOf(b))];
      }), [1, 2, 3, 4, 5]));
  }
  const withWorkers = report.scenarios.filter((s) => s.workers2);
  if (withWorkers.length) {
    lines.push('', 'One IdP process and IDP_WORKERS=2 (node:cluster, one port), the same database and load:', '',
      table(['scenario', '1 worker ops/s', '2 workers ops/s', '2 ÷ 1', '1 worker p99 ms', '2 workers p99 ms', '2 workers errors'], withWorkers.map((s) => {
        const w = s.workers2!;
        return [s.name, fmt(s.result.opsPerSecond), fmt(w.result.opsPerSecond), `${w.ratio.toFixed(2)}×`, ms(s.result.latencyMs.p99), ms(w.result.latencyMs.p99), String(errorsOf(w.result))];
      }), [1, 2, 3, 4, 5, 6]));
  }
  if (runs > 1) {
    lines.push('', `ops/s in each of the ${runs} runs (ours${withBaseline.length ? ' | baseline' : ''}${withWorkers.length ? ' | 2 workers' : ''}): ` +
      report.scenarios.map((s) => `${s.name} ${[s.runs, s.baseline?.runs, s.workers2?.runs].filter(Boolean).map((r) => r!.map((x) => fmt(x.opsPerSecond)).join('/')).join(' | ')}`).join('; ') + '.');
  }

  lines.push('', table(['limit', 'ops/s', 'how'], report.limits.map((l) => [l.name, fmt(l.opsPerSecond), l.detail]), [1]), '',
    `Seeded ${report.seed.citizens} citizens (with a passport and two addresses each) in ${report.seed.seconds.toFixed(1)} s (${fmt(report.seed.rowsPerSecond)} citizens/s). ` +
      `oidc_payloads at the end: ${Object.entries(report.artifacts).map(([model, n]) => `${model} ${n}`).join(', ') || 'empty'}. IdP warnings logged: ${report.idpWarnings}.`);

  if (report.tableSizes) lines.push('', tableSizesMarkdown(report.tableSizes));
  const counted = report.scenarios.filter((s) => s.statements);
  if (counted.length) {
    lines.push('', 'SQL statements the IdP ran per operation (first run, --explain):', '',
      table(['scenario', 'statements / op', 'the most frequent'], counted.map((s) => [
        s.name, s.statements!.perOperation.toFixed(1), s.statements!.top.map((t) => `${t.statement} ×${t.perOperation.toFixed(1)}`).join('; '),
      ]), [1]));
  }
  if (report.explained) {
    const unindexed = report.explained.filter(lacksIndex);
    const small = report.explained.filter((e) => e.seqScans.length && !lacksIndex(e));
    lines.push('', `EXPLAIN (ANALYZE, BUFFERS) of ${report.explained.length} statements (hot-path probes and what the IdP ran during the scenarios): ` +
      (unindexed.length ? `no index serves ${unindexed.map((e) => `${e.label} (${[...e.noIndex, ...e.wholeIndex].join(', ')})`).join('; ')}` : 'an index serves every one') +
      (small.length ? `; ${small.length} more read a small table whole although an index exists` : '') + ' — the plans are in the explain file.');
  }

  for (const s of report.scenarios) {
    for (const [suffix, r] of [['', s.result], [' (baseline)', s.baseline?.result], [' (2 workers)', s.workers2?.result]] as const) {
      if (!r) continue;
      const statuses = Object.entries(r.statuses).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${n}× ${code}`);
      if (statuses.length || r.failures.length) lines.push('', `Errors in ${s.name}${suffix}: ${[...statuses, ...r.failures].join('; ')}`);
    }
  }
  if (report.tableSizes) {
    for (const [name, r] of Object.entries({ logins: report.tableSizes.sustained.login, refreshes: report.tableSizes.sustained.refresh })) {
      const statuses = Object.entries(r.statuses).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${n}× ${code}`);
      if (statuses.length || r.failures.length) lines.push('', `Errors in the sustained phase's ${name}: ${[...statuses, ...r.failures].join('; ')}`);
    }
  }
  for (const note of report.notes) lines.push('', `Note: ${note}`);
  return `${lines.join('\n')}\n`;
}

function tableSizesMarkdown(sizes: TableSizes): string {
  const after = new Map(sizes.after.map((s) => [s.table, s]));
  const rows = sizes.before.map((before) => {
    const a = after.get(before.table)!;
    const rule = TRACKED_TABLES.find((t) => t.table === before.table)!.rule;
    const verdict = a.expiredRows === 0 ? 'pruned' : `NOT PRUNED: ${a.expiredRows} expired rows left`;
    return [before.table, rule, String(before.rows), String(before.expiredRows), bytes(before.bytes), String(a.rows), String(a.expiredRows), bytes(a.bytes), verdict];
  });
  const { login, refresh } = sizes.sustained;
  return [
    `Table sizes before the scenarios (${sizes.planted} expired rows planted in each table) and after a sustained phase of ${sizes.sustained.seconds} s ` +
      `(logins ${fmt(login.opsPerSecond)} /s and refreshes ${fmt(refresh.opsPerSecond)} /s at once, ${errorsOf(login) + errorsOf(refresh)} errors), ` +
      `with the IdP pruning every ${sizes.pruneIntervalSeconds} s (LOGIN_HISTORY_DAYS ${sizes.loginHistoryDays}):`,
    '',
    table(['table', 'expired means', 'rows before', 'expired before', 'size before', 'rows after', 'expired after', 'size after', 'verdict'], rows, [2, 3, 4, 5, 6, 7]),
  ].join('\n');
}

function table(header: string[], rows: string[][], rightAligned: number[]): string {
  const rule = header.map((_, i) => (rightAligned.includes(i) ? '---:' : '---'));
  return [header, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Numbers people read: whole above 100, one decimal below. */
export function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US').replace(/,/g, ' ') : n.toFixed(1);
}

function ms(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

function bytes(n: number): string {
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}
