import os from 'node:os';
import type { Limit } from './limits.ts';
import type { LoadResult } from './load.ts';
import type { Scenario } from './scenarios.ts';

/** Where the target's p99 bound applies (issue #8: "p99 latency at 32 concurrent connections"). */
export const TARGET_CONNECTIONS = 32;

export interface ScenarioOutcome {
  name: string;
  what: string;
  result: LoadResult;
  bound?: { limit: Limit['name']; why: string; limitOpsPerSecond: number; ratio: number };
  target: string;
  /** true met, false not met, null cannot be judged yet (the baseline is not measured). */
  met: boolean | null;
  verdict: string;
}

export interface RunReport {
  date: string;
  smoke: boolean;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; loadAverage: number[]; node: string; platform: string };
  settings: {
    seconds: number; connections: number; citizens: number; database: string; engine: 'postgres' | 'pglite';
    idp: Record<string, string>;
  };
  notes: string[];
  seed: { citizens: number; seconds: number; rowsPerSecond: number };
  limits: Limit[];
  scenarios: ScenarioOutcome[];
  /** oidc_payloads rows by model after the run (sessions, tokens, grants… left by the load). */
  tableSizes: Record<string, number>;
  idpWarnings: number;
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

export function judge(scenario: Scenario, result: LoadResult, limits: Limit[], connections: number): ScenarioOutcome {
  const { target } = scenario;
  const criteria: string[] = [];
  const misses: string[] = [];
  const pending: string[] = [];
  if (target.minOpsPerSecond !== undefined) {
    criteria.push(`≥ ${target.minOpsPerSecond} /s`);
    if (result.opsPerSecond < target.minOpsPerSecond) misses.push(`${fmt(result.opsPerSecond)} /s < ${target.minOpsPerSecond}`);
  }
  if (target.baselineRatio !== undefined) {
    criteria.push(`≥ ${target.baselineRatio}× baseline`);
    pending.push('baseline: not yet measured');
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
  return { name: scenario.name, what: scenario.what, result, bound, target: criteria.join(', '), met, verdict };
}

export function markdownReport(report: RunReport): string {
  const rows = report.scenarios.map((s) => [
    s.name,
    fmt(s.result.opsPerSecond),
    ms(s.result.latencyMs.p50),
    ms(s.result.latencyMs.p95),
    ms(s.result.latencyMs.p99),
    String(s.result.failed + s.result.socketErrors),
    s.bound ? `${s.bound.limit} (${fmt(s.bound.limitOpsPerSecond)} /s)` : '—',
    s.bound ? `${s.bound.ratio.toFixed(2)}×` : '—',
    s.target,
    s.verdict,
  ]);
  const lines = [
    `### ${report.smoke ? 'Smoke run' : 'Bench run'} ${report.date}`,
    '',
    `${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}, load average at start ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}; ` +
      `${report.settings.database}; ${report.settings.citizens} citizens; ${report.settings.seconds} s per scenario at ${report.settings.connections} connections.`,
    '',
    table(['scenario', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'bounded by', 'ratio', 'target', 'verdict'], rows, [1, 2, 3, 4, 5, 7]),
    '',
    table(['limit', 'ops/s', 'how'], report.limits.map((l) => [l.name, fmt(l.opsPerSecond), l.detail]), [1]),
    '',
    `Seeded ${report.seed.citizens} citizens (with a passport and two addresses each) in ${report.seed.seconds.toFixed(1)} s (${fmt(report.seed.rowsPerSecond)} citizens/s). ` +
      `oidc_payloads after the run: ${Object.entries(report.tableSizes).map(([model, n]) => `${model} ${n}`).join(', ') || 'empty'}. IdP warnings logged: ${report.idpWarnings}.`,
  ];
  const failures = report.scenarios.filter((s) => s.result.failures.length || Object.keys(s.result.statuses).some((code) => !code.startsWith('2')));
  for (const s of failures) {
    const statuses = Object.entries(s.result.statuses).filter(([code]) => !code.startsWith('2')).map(([code, n]) => `${n}× ${code}`);
    lines.push('', `Errors in ${s.name}: ${[...statuses, ...s.result.failures].join('; ')}`);
  }
  for (const note of report.notes) lines.push('', `Note: ${note}`);
  return `${lines.join('\n')}\n`;
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
