/**
 * `npm run bench`: starts the IdP as a child process in production-like settings over a fresh
 * database, seeds it, starts the baseline (bare oidc-provider) and a second IdP at IDP_WORKERS=2,
 * measures the limits the work is bounded by (argon2id verify, RS256 sign), drives each scenario
 * for a fixed time against each of them (--runs times), shows the table sizes before and after a
 * sustained phase, and prints (and keeps) a table with every target judged. See bench/README.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../src/db/database.ts';
import { DEFAULT_LOGIN_HISTORY_DAYS } from '../src/security/prune.ts';
import { startBaselineProcess } from './baseline-process.ts';
import { createCleanup } from './cleanup.ts';
import { startBenchEnvironment, startWorkersIdp, type BenchEnvironment } from './environment.ts';
import { capturedBetween, describeStatement, explainHotPaths, explainMarkdown, isDataStatement, readCapturedStatements } from './explain.ts';
import { ROOT, type IdpProcess } from './idp-process.ts';
import { measureArgon2Verify, measurePostgres, measureRs256Sign, type Limit } from './limits.ts';
import type { LoadResult } from './load.ts';
import { endpointsAt, loginRoundTrip, mapConcurrently, readEndpoints, type Endpoints } from './login-flow.ts';
import { parseBenchOptions, type BenchOptions } from './options.ts';
import { fmt, judge, markdownReport, machineInfo, type RunReport, type ScenarioOutcome, type TableSizes } from './report.ts';
import { SCENARIOS, type BenchContext, type Scenario } from './scenarios.ts';
import { cloneBenchClients, hashBenchPassword, pickCitizens, registerBenchClient, seedCitizens, type BenchCitizen, type BenchClient } from './seed.ts';
import { plantExpiredRows, snapshotTables } from './table-sizes.ts';

/**
 * Relying parties the load comes from. Production traffic comes from many RPs; one RP sending
 * everything would measure a per-client limit on the token endpoints instead of the IdP.
 */
const RELYING_PARTIES = 64;
/** Expired rows planted in each tracked table before the scenarios (the pruner must remove them). */
const PLANTED_EXPIRED_ROWS = 500;

const options = parseBenchOptions(process.argv.slice(2));
const cleanup = createCleanup((error) => progress(`cleanup step failed: ${error.message}`));

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

type Pair = { citizen: BenchCitizen; client: BenchClient };

/** Something the scenarios are driven against: the IdP, the IdP with 2 workers, or the baseline. */
interface Target {
  label: string;
  context: BenchContext;
  /** Before a scenario: restore what it needs stored (the baseline's in-memory adapter forgets). */
  prepare?: (scenario: Scenario) => Promise<void>;
}

async function main(): Promise<void> {
  const started = performance.now();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const machine = machineInfo();
  const scenarios = selectScenarios(options);
  // Refresh chains need one token per connection plus spares for failures; the login scenario
  // signs in other citizens, so a revoked grant in one cannot disturb the other.
  const poolSize = options.connections + Math.max(4, Math.ceil(options.connections / 2));
  if (options.citizens < 2 * poolSize + 1) throw new Error(`--citizens must be at least ${2 * poolSize + 1} for ${options.connections} connections`);

  progress(`database: ${options.database}`);
  const env = await startBenchEnvironment(options, cleanup, progress);
  const { clients, seed, passwordHash } = await seedData(env);
  // The IdP runs with the default retention (the bench does not set LOGIN_HISTORY_DAYS).
  const loginHistoryDays = DEFAULT_LOGIN_HISTORY_DAYS;

  let sizesBefore;
  if (options.sustainSeconds > 0) {
    const { rows: [last] } = await sql<{ oid: string }>`SELECT max(oid)::text AS oid FROM citizens`.execute(env.handle.db);
    progress(`planting ${PLANTED_EXPIRED_ROWS} expired rows in each tracked table; table sizes before the scenarios`);
    sizesBefore = await plantExpiredRows(env.handle.db, PLANTED_EXPIRED_ROWS, last.oid, loginHistoryDays);
  }

  const citizens = await pickCitizens(env.handle.db, 2 * poolSize);
  const pairs = citizens.map((citizen, i) => ({ citizen, client: clients[i % clients.length] }));
  const tokenPairs = pairs.slice(0, poolSize);
  const loginPairs = pairs.slice(poolSize);
  const oursContext = await signIn('the IdP', await readEndpoints(env.idp.issuer), tokenPairs, loginPairs);
  const ours: Target = { label: 'the IdP', context: oursContext, prepare: (scenario) => topUpRefreshTokens(oursContext, scenario, tokenPairs) };
  const workers2 = await startWorkers2(env, ours, scenarios);
  const baseline = await startBaseline(env, scenarios, clients, citizens, passwordHash, tokenPairs, loginPairs);

  progress(`measuring the limits (${options.limitSeconds} s each)`);
  const limits = [await measureArgon2Verify(env.argon2, options.limitSeconds), await measureRs256Sign(env.signingKey, options.limitSeconds)];
  if (env.database.engine === 'postgres') {
    const { rows: [range] } = await sql<{ first: string }>`SELECT min(oid)::text AS first FROM citizens`.execute(env.handle.db);
    limits.push(...await measurePostgres(env.database.env.DATABASE_URL, Number(env.publicSettings.DATABASE_POOL_SIZE), options.connections, options.limitSeconds, { first: range.first, count: options.citizens }));
  }
  for (const limit of limits) progress(`  ${limit.name}: ${fmt(limit.opsPerSecond)} /s`);

  // --explain: only what the IdP runs from here on (not its start-up and migrations) is explained.
  const capturedAtStart = env.queryLog ? await readCapturedStatements(env.idp.pid, env.queryLog) : [];
  const outcomes = await runAll(scenarios, { ours, workers2: workers2.target, baseline: baseline.target }, limits, env);

  let tableSizes: TableSizes | undefined;
  if (sizesBefore) {
    await topUpRefreshTokens(oursContext, SCENARIOS.find((s) => s.name === 'refresh_token')!, tokenPairs);
    tableSizes = await sustainedPhase(env, ours, sizesBefore, loginHistoryDays);
  }

  let explained;
  if (options.explain) {
    progress('EXPLAIN (ANALYZE, BUFFERS) of the hot paths');
    const captured = env.queryLog ? capturedBetween(capturedAtStart, await readCapturedStatements(env.idp.pid, env.queryLog)) : [];
    explained = await explainHotPaths(env.handle.db, env.handle.pool, captured.filter((s) => isDataStatement(s.text)));
  }

  const warnings = env.idp.warnings();
  if (warnings.length) progress(`the IdP logged ${warnings.length} warnings, the first: ${warnings[0].slice(0, 300)}`);
  const notes = [...env.notes, ...workers2.notes, ...baseline.notes];
  const report: RunReport = {
    date,
    smoke: options.smoke,
    machine,
    settings: {
      seconds: options.duration, connections: options.connections, citizens: options.citizens, runs: options.runs,
      database: env.databaseLabel, engine: env.database.engine, idp: env.publicSettings,
    },
    notes,
    seed,
    limits,
    scenarios: outcomes,
    artifacts: await artifactCounts(env.handle.db),
    tableSizes,
    explained,
    idpWarnings: warnings.length,
    totalSeconds: (performance.now() - started) / 1000,
  };
  const markdown = markdownReport(report);
  process.stdout.write(`\n${markdown}`);
  if (explained && !options.write) process.stdout.write(`\n${explainMarkdown(explained, options.citizens)}`);
  if (options.write) writeResults(report, markdown);
}

function selectScenarios(options: BenchOptions): Scenario[] {
  if (!options.only) return SCENARIOS;
  const unknown = options.only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  return SCENARIOS.filter((s) => options.only!.includes(s.name));
}

/** The RPs (one through the CLI, the rest copied) and the citizens. */
async function seedData(env: BenchEnvironment): Promise<{ clients: BenchClient[]; seed: RunReport['seed']; passwordHash: string }> {
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
  return { clients, passwordHash, seed: { citizens: options.citizens, seconds, rowsPerSecond: options.citizens / seconds } };
}

/**
 * Signs citizens in once through the real pages, each to its RP, giving consent: the token pairs'
 * tokens feed the token scenarios, the login pairs are the login scenario's citizens, whose
 * consent is then remembered.
 */
async function signIn(label: string, endpoints: Endpoints, tokenPairs: Pair[], loginPairs: Pair[]): Promise<BenchContext> {
  progress(`signing in ${tokenPairs.length + loginPairs.length} citizens once at ${label} (consent given; tokens for the token scenarios)`);
  const context: BenchContext = {
    endpoints,
    clients: [...new Set([...tokenPairs, ...loginPairs].map((p) => p.client))],
    sessions: [],
    refreshTokens: [],
    logins: loginPairs,
    seconds: options.duration,
    connections: options.connections,
  };
  await refreshTokensOf(context, tokenPairs);
  await mapConcurrently(loginPairs, 4, ({ citizen, client }) => loginRoundTrip(endpoints, client, citizen, { allowConsent: true }));
  return context;
}

/** Fresh sign-ins of the token pairs: new access and refresh tokens in `context`. */
async function refreshTokensOf(context: BenchContext, tokenPairs: Pair[]): Promise<void> {
  const tokens = await mapConcurrently(tokenPairs, 4, ({ citizen, client }) => loginRoundTrip(context.endpoints, client, citizen, { allowConsent: true }));
  context.sessions = tokens.map((t, i) => ({ oid: tokenPairs[i].citizen.oid, accessToken: t.accessToken, client: tokenPairs[i].client }));
  context.refreshTokens = tokens.map((t, i) => ({ token: t.refreshToken, client: tokenPairs[i].client }));
}

/**
 * A refresh scenario ends with a request in flight on every connection: those tokens are spent at
 * the IdP but their successors never reach the pool. Before the next refresh scenario the pool is
 * filled up again with fresh sign-ins (untimed), so it never runs dry however many runs there are.
 */
async function topUpRefreshTokens(context: BenchContext, scenario: Scenario, tokenPairs: Pair[]): Promise<void> {
  if (scenario.name !== 'refresh_token') return;
  const missing = tokenPairs.slice(0, Math.max(0, tokenPairs.length - context.refreshTokens.length));
  if (!missing.length) return;
  const tokens = await mapConcurrently(missing, 4, ({ citizen, client }) => loginRoundTrip(context.endpoints, client, citizen, { allowConsent: true }));
  context.refreshTokens.push(...tokens.map((t, i) => ({ token: t.refreshToken, client: missing[i].client })));
}

/** The IdP again with IDP_WORKERS=2, the same issuer and database; the token pools are shared with the first. */
async function startWorkers2(env: BenchEnvironment, ours: Target, scenarios: Scenario[]): Promise<{ target?: Target; notes: string[] }> {
  if (!options.workersCompare || !scenarios.some((s) => s.api)) return { notes: [] };
  if (env.database.engine !== 'postgres') return { notes: ['the IDP_WORKERS=2 comparison needs PostgreSQL (PGlite serves one process): skipped'] };
  progress('starting the IdP again with IDP_WORKERS=2 (same database and issuer, another port)');
  const idp = await startWorkersIdp(env, 2, cleanup);
  progress(`IdP with 2 workers ready at ${idp.issuer} (pid ${idp.pid})`);
  // The same context object's pools: a refresh token rotated by one is spent by the other next.
  const context = Object.create(ours.context) as BenchContext;
  context.endpoints = endpointsAt(ours.context.endpoints, idp.issuer);
  return {
    target: { label: 'the IdP with 2 workers', context, prepare: ours.prepare },
    notes: ['the IDP_WORKERS=2 IdP ran beside the single-process one (idle while the other was measured), on the same database'],
  };
}

/** bench/baseline.ts with the same RPs, citizens, password hash and key; its own sign-ins. */
async function startBaseline(
  env: BenchEnvironment, scenarios: Scenario[], clients: BenchClient[], citizens: BenchCitizen[], passwordHash: string, tokenPairs: Pair[], loginPairs: Pair[],
): Promise<{ target?: Target; notes: string[] }> {
  if (!options.baseline) return { notes: ['--no-baseline: the baseline was not run'] };
  if (!scenarios.some((s) => s.baseline)) return { notes: [] };
  progress('starting the baseline (bare oidc-provider, in-memory adapter: bench/baseline.ts)');
  const process_: IdpProcess = await startBaselineProcess({ clients, citizens, passwordHash, signingKey: env.signingKey });
  cleanup.add(() => process_.stop(), () => process_.killNow());
  progress(`baseline ready at ${process_.issuer} (pid ${process_.pid})`);
  const context = await signIn('the baseline', await readEndpoints(process_.issuer), tokenPairs, loginPairs);
  const prepare = async (scenario: Scenario) => {
    if (scenario.needs === 'tokens') await refreshTokensOf(context, tokenPairs);
    if (scenario.needs === 'consents') await mapConcurrently(loginPairs, 4, ({ citizen, client }) => loginRoundTrip(context.endpoints, client, citizen, { allowConsent: true }));
  };
  return {
    target: { label: 'the baseline', context, prepare },
    notes: ['the baseline\'s in-memory adapter keeps about 1 000 entries: before each of its token and login scenarios the bench signs its citizens in again (untimed), so they find their tokens and consent'],
  };
}

/**
 * Every scenario against every target, `--runs` times: within a run each scenario goes to the
 * IdP, then the IdP with 2 workers, then the baseline, one right after another, so a busy moment
 * of the machine weighs on all three alike.
 */
async function runAll(
  scenarios: Scenario[], targets: { ours: Target; workers2?: Target; baseline?: Target }, limits: Limit[], env: BenchEnvironment,
): Promise<ScenarioOutcome[]> {
  const results = new Map(scenarios.map((s) => [s.name, { ours: [] as LoadResult[], workers2: [] as LoadResult[], baseline: [] as LoadResult[] }]));
  const statements = new Map<string, ScenarioOutcome['statements']>();
  for (let run = 1; run <= options.runs; run++) {
    for (const scenario of scenarios) {
      const r = results.get(scenario.name)!;
      const prefix = `${options.runs > 1 ? `run ${run}/${options.runs} ` : ''}${scenario.name}`;
      // --explain: what the IdP ran during the first run of each scenario (after its preparation).
      const queryLog = run === 1 ? env.queryLog : undefined;
      let before: Awaited<ReturnType<typeof readCapturedStatements>> | undefined;
      r.ours.push(await drive(prefix, targets.ours, scenario, async () => {
        if (queryLog) before = await readCapturedStatements(env.idp.pid, queryLog);
      }));
      if (queryLog && before) statements.set(scenario.name, statementsPerOperation(before, await readCapturedStatements(env.idp.pid, queryLog), r.ours[0]));
      if (targets.workers2 && scenario.api) r.workers2.push(await drive(prefix, targets.workers2, scenario));
      if (targets.baseline && scenario.baseline) r.baseline.push(await drive(prefix, targets.baseline, scenario));
    }
  }
  return scenarios.map((scenario) => {
    const r = results.get(scenario.name)!;
    const outcome = judge(scenario, r.ours, limits, options.connections, {
      baseline: r.baseline.length ? r.baseline : undefined,
      workers2: r.workers2.length ? r.workers2 : undefined,
      baselineSkipped: options.baseline ? undefined : 'not run (--no-baseline)',
    });
    outcome.statements = statements.get(scenario.name);
    progress(`${scenario.name}: ${outcome.verdict}`);
    return outcome;
  });
}

async function drive(prefix: string, target: Target, scenario: Scenario, beforeStart?: () => Promise<void>): Promise<LoadResult> {
  await target.prepare?.(scenario);
  await beforeStart?.();
  progress(`${prefix} at ${target.label}: ${options.duration} s at ${options.connections} connections`);
  const result = await scenario.run(target.context);
  progress(`  ${fmt(result.opsPerSecond)} /s, p99 ${result.latencyMs.p99.toFixed(1)} ms, ${result.failed + result.socketErrors} errors`);
  return result;
}

function statementsPerOperation(before: Parameters<typeof capturedBetween>[0], after: Parameters<typeof capturedBetween>[1], result: LoadResult): ScenarioOutcome['statements'] {
  const operations = Math.max(1, result.ok + result.failed);
  const ran = capturedBetween(before, after).filter((s) => isDataStatement(s.text)).sort((a, b) => b.calls - a.calls);
  const total = ran.reduce((n, s) => n + s.calls, 0);
  return {
    perOperation: total / operations,
    // Background workers (outbox, registry checks, pruning) poll meanwhile: not part of the operation.
    top: ran.filter((s) => s.calls / operations >= 0.05).slice(0, 8).map((s) => ({ statement: describeStatement(s.text), perOperation: s.calls / operations })),
  };
}

/**
 * Logins and refreshes at once for --sustain seconds with the pruner running, then (after one
 * more prune interval) the table sizes again: nothing expired may be left.
 */
async function sustainedPhase(env: BenchEnvironment, ours: Target, before: TableSizes['before'], loginHistoryDays: number): Promise<TableSizes> {
  const seconds = options.sustainSeconds;
  const login = SCENARIOS.find((s) => s.name === 'login')!;
  const refresh = SCENARIOS.find((s) => s.name === 'refresh_token')!;
  progress(`sustained phase: logins and refreshes at once for ${seconds} s, pruning every ${options.pruneIntervalSeconds} s`);
  const context = { ...ours.context, seconds };
  const [loginResult, refreshResult] = await Promise.all([login.run(context), refresh.run(context)]);
  progress(`  logins ${fmt(loginResult.opsPerSecond)} /s, refreshes ${fmt(refreshResult.opsPerSecond)} /s`);
  await delay((options.pruneIntervalSeconds + 1) * 1000);
  const after = await snapshotTables(env.handle.db, loginHistoryDays, options.pruneIntervalSeconds + 1);
  return {
    before, after, planted: PLANTED_EXPIRED_ROWS, loginHistoryDays,
    sustained: { seconds, login: loginResult, refresh: refreshResult },
    pruneIntervalSeconds: options.pruneIntervalSeconds,
  };
}

/** oidc_payloads rows by model after the run: what the load left behind. */
async function artifactCounts(db: Db): Promise<Record<string, number>> {
  const { rows } = await sql<{ model: string; n: string }>`SELECT model, count(*) AS n FROM oidc_payloads GROUP BY model ORDER BY model`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.model, Number(r.n)]));
}

function writeResults(report: RunReport, markdown: string): void {
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stem = report.date.replace(/:/g, '-');
  const file = path.join(dir, `${stem}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(dir, 'latest.md'), markdown);
  const written = [path.relative(ROOT, file), 'bench/results/latest.md'];
  if (report.explained) {
    const explainFile = path.join(dir, `${stem}-explain.md`);
    writeFileSync(explainFile, explainMarkdown(report.explained, report.settings.citizens));
    written.push(path.relative(ROOT, explainFile));
  }
  progress(`wrote ${written.join(', ')}`);
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
