import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../bench/scenarios.ts';
import { TRACKED_TABLES } from '../../bench/table-sizes.ts';
import { testEngine } from '../support/database.ts';

/**
 * Keeps `npm run bench` working: its smoke mode starts the real IdP, the baseline (bare
 * oidc-provider) and, on PostgreSQL, the IdP at IDP_WORKERS=2 as child processes, seeds them, runs
 * every scenario for about a second, a short sustained phase with the pruner every 2 s, and prints
 * the tables. No timings are asserted (they depend on the machine); only that every scenario ran
 * everywhere without a single error, and that the expired rows planted in the pruned tables went.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const RESULTS = path.join(ROOT, 'bench/results');

/** The rows of the first Markdown table whose header has these columns, by their first cell, as column name → cell. */
function tableRows(stdout: string, columns: string[]): Map<string, Record<string, string>> {
  const lines = stdout.split('\n');
  const headerLine = `| ${columns.join(' | ')} |`;
  const headerIndex = lines.indexOf(headerLine);
  expect(headerIndex, `no table ${headerLine} in:\n${stdout}`).toBeGreaterThanOrEqual(0);
  const cells = (line: string) => line.split('|').slice(1, -1).map((cell) => cell.trim());
  const header = cells(lines[headerIndex]);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(headerIndex + 2)) {
    if (!line.startsWith('| ')) break;
    const values = cells(line);
    rows.set(values[0], Object.fromEntries(header.map((name, i) => [name, values[i]])));
  }
  return rows;
}

const number = (cell: string) => Number(cell.replace(/[\s×]/g, ''));

describe('the bench in smoke mode', () => {
  it('runs every scenario against the IdP, the baseline and (on PostgreSQL) two workers, with zero errors, and shows the pruner at work', async () => {
    const resultsBefore = existsSync(RESULTS) ? readdirSync(RESULTS).sort() : [];
    const run = await promisify(execFile)(NODE, ['bench/run.ts', '--smoke', '--no-write', '--db', testEngine()], {
      cwd: ROOT,
      env: process.env,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
    );
    expect(run.code, run.stderr).toBe(0);

    const rows = tableRows(run.stdout, ['scenario', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'baseline ops/s', 'vs baseline', 'bounded by', 'vs limit', 'target', 'verdict']);
    expect([...rows.keys()]).toEqual(SCENARIOS.map((s) => s.name));
    for (const [name, row] of rows) {
      expect(row.errors, `${name}: ${run.stdout}`).toBe('0');
      expect(number(row['ops/s']), name).toBeGreaterThan(0);
      // The baseline ran every scenario it can (the person API is ours alone) and the ratio was judged.
      const hasBaseline = SCENARIOS.find((s) => s.name === name)!.baseline;
      expect(number(row['baseline ops/s']) > 0, name).toBe(hasBaseline);
      expect(row.verdict, name).not.toContain('baseline: not');
    }
    const baseline = tableRows(run.stdout, ['scenario', 'ops/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors']);
    for (const name of SCENARIOS.filter((s) => s.baseline).map((s) => s.name)) expect(baseline.get(name)?.errors, `baseline ${name}`).toBe('0');

    if (testEngine() === 'postgres') {
      const workers = tableRows(run.stdout, ['scenario', '1 worker ops/s', '2 workers ops/s', '2 ÷ 1', '1 worker p99 ms', '2 workers p99 ms', '2 workers errors']);
      expect([...workers.keys()]).toEqual(SCENARIOS.filter((s) => s.api).map((s) => s.name));
      for (const [name, row] of workers) {
        expect(number(row['2 workers ops/s']), name).toBeGreaterThan(0);
        expect(row['2 workers errors'], name).toBe('0');
      }
    }

    // Expired rows planted before the scenarios: the tables the pruner covers have none left.
    const sizes = tableRows(run.stdout, ['table', 'expired means', 'rows before', 'expired before', 'size before', 'rows after', 'expired after', 'size after', 'verdict']);
    expect([...sizes.keys()]).toEqual(TRACKED_TABLES.map((t) => t.table));
    for (const table of ['oidc_payloads', 'outbox_messages', 'rate_limits', 'login_attempts', 'pending_logins']) {
      expect(number(sizes.get(table)!['expired before']), table).toBeGreaterThan(0);
      expect(sizes.get(table)!['expired after'], table).toBe('0');
    }
    expect(existsSync(RESULTS) ? readdirSync(RESULTS).sort() : []).toEqual(resultsBefore);
  }, 270_000);
});
