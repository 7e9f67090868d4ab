import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../bench/scenarios.ts';
import { testEngine } from '../support/database.ts';

/**
 * Keeps `npm run bench` working: its smoke mode starts the real IdP as a child process, seeds it,
 * runs every scenario for about a second and prints the table. No numbers are asserted (they
 * depend on the machine); only that every scenario ran, without a single error.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const RESULTS = path.join(ROOT, 'bench/results');

/** The scenario table's rows by scenario name, as column name → cell. */
function scenarioRows(stdout: string): Map<string, Record<string, string>> {
  const lines = stdout.split('\n').filter((line) => line.startsWith('| '));
  const headerIndex = lines.findIndex((line) => line.startsWith('| scenario |'));
  expect(headerIndex, stdout).toBeGreaterThanOrEqual(0);
  const cells = (line: string) => line.split('|').slice(1, -1).map((cell) => cell.trim());
  const header = cells(lines[headerIndex]);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(headerIndex + 1)) {
    if (line.startsWith('| limit |')) break;
    const values = cells(line);
    if (values[0].startsWith('---')) continue;
    rows.set(values[0], Object.fromEntries(header.map((name, i) => [name, values[i]])));
  }
  return rows;
}

describe('the bench in smoke mode', () => {
  it('runs every scenario against a real IdP and prints a table with zero errors', async () => {
    const resultsBefore = existsSync(RESULTS) ? readdirSync(RESULTS).sort() : [];
    const run = await promisify(execFile)(NODE, ['bench/run.ts', '--smoke', '--no-write', '--db', testEngine()], {
      cwd: ROOT,
      env: process.env,
      timeout: 150_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? 1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
    );
    expect(run.code, run.stderr).toBe(0);

    const rows = scenarioRows(run.stdout);
    expect([...rows.keys()]).toEqual(SCENARIOS.map((s) => s.name));
    for (const [name, row] of rows) {
      expect(row.errors, `${name}: ${run.stdout}`).toBe('0');
      expect(Number(row['ops/s'].replace(/\s/g, '')), name).toBeGreaterThan(0);
    }
    expect(run.stdout).toContain('baseline: not yet measured');
    expect(existsSync(RESULTS) ? readdirSync(RESULTS).sort() : []).toEqual(resultsBefore);
  }, 180_000);
});
