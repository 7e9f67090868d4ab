/**
 * `npm run bench`: starts the IdP as a child process in production-like settings over a fresh
 * database, seeds it, measures the limits its work is bounded by (argon2id verify, RS256 sign),
 * drives each scenario for a fixed time, and prints (and keeps) a table with every target judged.
 * See bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { createCleanup } from './cleanup.ts';
import { startBenchEnvironment, type BenchEnvironment } from './environment.ts';
import { ROOT } from './idp-process.ts';
import { measureArgon2Verify, measureRs256Sign, type Limit } from './limits.ts';
import { loginRoundTrip, mapConcurrently, readEndpoints } from './login-flow.ts';
import { parseBenchOptions, type BenchOptions } from './options.ts';
import { fmt, judge, markdownReport, machineInfo, type RunReport, type ScenarioOutcome } from './report.ts';
import { SCENARIOS, type BenchContext, type Scenario } from './scenarios.ts';
import { cloneBenchClients, hashBenchPassword, pickCitizens, registerBenchClient, seedCitizens, type BenchClient } from './seed.ts';

/**
 * Relying parties the load comes from. Production traffic comes from many RPs; one RP sending
 * everything would measure a per-client limit on the token endpoints instead of the IdP.
 */
const RELYING_PARTIES = 64;

const options = parseBenchOptions(process.argv.slice(2));
const cleanup = createCleanup((error) => progress(`cleanup step failed: ${error.message}`));

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function main(): Promise<void> {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const machine = machineInfo();
  const scenarios = selectScenarios(options);
  // Refresh chains need one token per connection plus spares for failures; the login scenario
  // signs in other citizens, so a revoked grant in one cannot disturb the other.
  const poolSize = options.connections + Math.max(4, Math.ceil(options.connections / 2));
  if (options.citizens < 2 * poolSize) throw new Error(`--citizens must be at least ${2 * poolSize} for ${options.connections} connections`);

  progress(`database: ${options.database}`);
  const env = await startBenchEnvironment(options, cleanup, progress);
  const { clients, seed } = await seedData(env);
  const context = await signInOnce(env, clients, poolSize);

  progress(`measuring the limits (${options.limitSeconds} s each)`);
  const limits = [await measureArgon2Verify(env.argon2, options.limitSeconds), await measureRs256Sign(env.signingKey, options.limitSeconds)];
  for (const limit of limits) progress(`  ${limit.name}: ${fmt(limit.opsPerSecond)} /s`);

  const outcomes = await runScenarios(scenarios, context, limits);
  const warnings = env.idp.warnings();
  if (warnings.length) progress(`the IdP logged ${warnings.length} warnings, the first: ${warnings[0].slice(0, 300)}`);
  const report: RunReport = {
    date,
    smoke: options.smoke,
    machine,
    settings: {
      seconds: options.duration, connections: options.connections, citizens: options.citizens,
      database: env.databaseLabel, engine: env.database.engine, idp: env.publicSettings,
    },
    notes: env.notes,
    seed,
    limits,
    scenarios: outcomes,
    tableSizes: await artifactCounts(env.handle.db),
    idpWarnings: warnings.length,
  };
  const markdown = markdownReport(report);
  process.stdout.write(`\n${markdown}`);
  if (options.write) writeResults(report, markdown);
}

function selectScenarios(options: BenchOptions): Scenario[] {
  if (!options.only) return SCENARIOS;
  const unknown = options.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  return SCENARIOS.filter((s) => options.only!.includes(s.name));
}

/** The RPs (one through the CLI, the rest copied) and the citizens. */
async function seedData(env: BenchEnvironment): Promise<{ clients: BenchClient[]; seed: RunReport['seed'] }> {
  progress(`registering the bench client (npm run cli -- clients add) and ${RELYING_PARTIES - 1} copies of it`);
  const clients = await cloneBenchClients(env.handle.db, await registerBenchClient(env.settings), RELYING_PARTIES);

  progress(`seeding ${options.citizens} citizens`);
  const started = performance.now();
  const passwordHash = await hashBenchPassword(env.argon2);
  const step = Math.max(50_000, Math.ceil(options.citizens / 10));
  let reported = 0;
  await seedCitizens(env.handle.db, options.citizens, passwordHash, (done) => {
    if (done - reported >= step && done < options.citizens) {
      reported = done;
      progress(`  ${done} citizens`);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  progress(`seeded in ${seconds.toFixed(1)} s`);
  return { clients, seed: { citizens: options.citizens, seconds, rowsPerSecond: options.citizens / seconds } };
}

/**
 * Signs `2 × poolSize` citizens in once through the real pages, each to one RP (round-robin),
 * giving consent: the first half's tokens feed the token scenarios, the second half are the login
 * scenario's citizens, whose consent is then remembered.
 */
async function signInOnce(env: BenchEnvironment, clients: BenchClient[], poolSize: number): Promise<BenchContext> {
  const endpoints = await readEndpoints(env.idp.issuer);
  const citizens = await pickCitizens(env.handle.db, 2 * poolSize);
  const pairs = citizens.map((citizen, i) => ({ citizen, client: clients[i % clients.length] }));
  const tokenPairs = pairs.slice(0, poolSize);
  const logins = pairs.slice(poolSize);
  progress(`signing in ${citizens.length} citizens once (consent given; tokens for the token scenarios)`);
  const signIn = ({ citizen, client }: (typeof pairs)[number]) => loginRoundTrip(endpoints, client, citizen, { allowConsent: true });
  const tokens = await mapConcurrently(tokenPairs, 4, signIn);
  await mapConcurrently(logins, 4, signIn);
  return {
    endpoints,
    clients,
    sessions: tokens.map((t, i) => ({ oid: tokenPairs[i].citizen.oid, accessToken: t.accessToken, client: tokenPairs[i].client })),
    refreshTokens: tokens.map((t, i) => ({ token: t.refreshToken, client: tokenPairs[i].client })),
    logins,
    seconds: options.duration,
    connections: options.connections,
  };
}

async function runScenarios(scenarios: Scenario[], context: BenchContext, limits: Limit[]): Promise<ScenarioOutcome[]> {
  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of scenarios) {
    progress(`${scenario.name}: ${options.duration} s at ${options.connections} connections`);
    const outcome = judge(scenario, await scenario.run(context), limits, options.connections);
    outcomes.push(outcome);
    const r = outcome.result;
    progress(`  ${fmt(r.opsPerSecond)} /s, p99 ${r.latencyMs.p99.toFixed(1)} ms, ${r.failed + r.socketErrors} errors — ${outcome.verdict}`);
  }
  return outcomes;
}

/** oidc_payloads rows by model after the run: what the load left behind. */
async function artifactCounts(db: Db): Promise<Record<string, number>> {
  const { rows } = await sql<{ model: string; n: string }>`SELECT model, count(*) AS n FROM oidc_payloads GROUP BY model ORDER BY model`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.model, Number(r.n)]));
}

function writeResults(report: RunReport, markdown: string): void {
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.date.replace(/:/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), markdown);
  progress(`wrote ${path.relative(ROOT, file)} and bench/results/latest.md`);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    progress(`${signal}: stopping the IdP and removing the bench database`);
    void cleanup.run().finally(() => process.exit(130));
  });
}
process.on('exit', () => cleanup.killNow());

let exitCode = 0;
try {
  await main();
} catch (error) {
  exitCode = 1;
  // After Ctrl-C the IdP is being stopped under the running scenario: its failures are expected.
  if (!interrupted) process.stderr.write(`[bench] FAILED: ${(error as Error).stack ?? String(error)}\n`);
} finally {
  await cleanup.run();
}
process.exit(interrupted ? 130 : exitCode);
