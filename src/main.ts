import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ConfigError, loadConfig, type Config } from './config/config.ts';
import { Kysely, PostgresDialect } from 'kysely';
import type { MosruDatabase } from './mosru/mosru.tables.ts';
import type { Logger } from './shared/logger.ts';
import { createIdpRuntime } from './runtime.ts';
import { seedDemoData } from './demo/seed.ts';
import { startPruning } from './oidc/prune.ts';
import { createLogger } from './shared/logger.ts';
import { listen, shutdownGracefully } from './http/server.ts';
import { startOutboxWorker } from './notifications/outbox.worker.ts';
import { createChannels } from './notifications/channels.ts';
import { startRegistryCheckWorker } from './verification/registry-check.worker.ts';
import { createMockRegistries, loadMockRegistrySeed } from './verification/mock-registries.ts';
import { startChildCheckWorker } from './family/child-check.worker.ts';
import { createMockCivilRegistry, loadMockCivilRegistrySeed } from './family/mock-civil-registry.ts';
import { fileURLToPath } from 'node:url';
import cluster from 'node:cluster';
import { followPrimary, isClusterPrimary, superviseWorkers, withWorkersArgument } from './cluster.ts';

/**
 * Reads config → opens the database → migrates → serves the IdP (and the mock Mos.ru in demo mode).
 * With IDP_WORKERS > 1 this process only supervises; each worker it forks runs this same flow.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(withWorkersArgument(process.env, process.argv.slice(2)), (path) => readFileSync(path, 'utf8'));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  if (isClusterPrimary(config)) return superviseWorkers(config, logger);
  if (cluster.isWorker) followPrimary();
  const runtime = await createIdpRuntime(config, { logger });
  const servers: http.Server[] = [];

  const idpServer = await listen(runtime.handle, config.port, config.host);
  servers.push(idpServer);
  logger.info({ issuer: config.issuer, database: runtime.database.engine }, `IdP listening on ${config.issuer}`);
  logger.info(`Discovery: ${config.issuer}/.well-known/openid-configuration`);

  const stopPruning = startPruning(runtime.database.db, runtime.clock, logger, config.pruneIntervalSeconds, { loginHistoryDays: config.loginHistoryDays, refreshReuseWindowSeconds: config.refreshReuseWindowSeconds });
  const stopKeyRefresh = startKeyRefresh(runtime, config.keys.refreshSeconds);
  const outbox = config.runWorkers
    ? startOutboxWorker({ db: runtime.database.db, clock: runtime.clock, logger: logger.child({ worker: 'outbox' }), channels: createChannels(config.notifications, logger), pollMs: config.notifications.pollMs })
    : undefined;
  const registryWorker = config.runWorkers
    ? startRegistryCheckWorker({
        db: runtime.database.db, clock: runtime.clock, logger: logger.child({ worker: 'registry-checks' }), pollMs: config.registry.pollMs,
        // The only StateRegistries implementation is the mock; a real МВД/СФР client would plug in here.
        registries: createMockRegistries({ db: runtime.database.db, latencyMs: config.registry.latencyMs, failureRate: config.registry.failureRate }),
      })
    : undefined;
  // The civil registry (ЗАГС) check of children, on the same registry knobs; a real ЗАГС client would plug in here.
  const childCheckWorker = config.runWorkers
    ? startChildCheckWorker({
        db: runtime.database.db, clock: runtime.clock, logger: logger.child({ worker: 'child-checks' }), pollMs: config.registry.pollMs,
        registry: createMockCivilRegistry({ db: runtime.database.db, latencyMs: config.registry.latencyMs, failureRate: config.registry.failureRate }),
      })
    : undefined;

  if (config.demo) {
    await loadMockRegistrySeed(runtime.database.db, fileURLToPath(new URL('../config/mock-registry.json', import.meta.url)));
    await loadMockCivilRegistrySeed(runtime.database.db, fileURLToPath(new URL('../config/mock-civil-registry.json', import.meta.url)));
    const demo = await seedDemoData(runtime.database.db, runtime.hasher, runtime.secrets.secretBox, runtime.validateClient, config.mosru.url);
    const mosruAccounts = await startMosru(runtime, config, demo.mosruClient, logger, servers);
    printDemo(config.issuer, config.mosru.url, demo.citizens, mosruAccounts);
  }

  shutdownGracefully(servers, async () => {
    stopPruning();
    stopKeyRefresh();
    await outbox?.stop();
    await registryWorker?.stop();
    await childCheckWorker?.stop();
    await runtime.close();
  }, logger);
}

/**
 * The mock Mos.ru beside the IdP (demo mode): its own app, port and schema (`mosru`) on the same
 * database pool. It talks to the IdP only over HTTP, like any relying party.
 */
async function startMosru(
  runtime: Awaited<ReturnType<typeof createIdpRuntime>>,
  config: Config,
  client: { clientId: string; clientSecret: string },
  logger: Logger,
  servers: http.Server[],
) {
  const [{ createMosruApp }, { migrateMosru }, { seedMosruDemo }] = await Promise.all([
    import('./mosru/app.ts'),
    import('./mosru/migrate.ts'),
    import('./mosru/demo.ts'),
  ]);
  // Never destroyed on its own: runtime.close() ends the shared pool.
  const mosruDb = new Kysely<MosruDatabase>({ dialect: new PostgresDialect({ pool: runtime.database.pool }) });
  await migrateMosru(mosruDb);
  const accounts = await seedMosruDemo(mosruDb);
  const mosru = createMosruApp({
    baseUrl: config.mosru.url,
    idpIssuer: config.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    logger: logger.child({ app: 'mosru' }),
    db: mosruDb,
    minTrustLevel: 'standard',
  });
  servers.push(await listen(mosru.callback(), config.mosru.port, config.host));
  return accounts;
}

/** Notices keys rotated through another instance or the CLI. */
function startKeyRefresh(runtime: Awaited<ReturnType<typeof createIdpRuntime>>, seconds: number): () => void {
  if (seconds <= 0) return () => {};
  const timer = setInterval(() => {
    runtime.refreshSigningKeys().catch((error: unknown) => runtime.logger.warn({ err: error }, 'could not refresh signing keys; will retry'));
  }, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

function printDemo(
  issuer: string,
  mosruUrl: string,
  citizens: Array<{ lastName: string; firstName: string; phone: string; email: string; password: string; trustLevel: string }>,
  mosruAccounts: Array<{ email: string; lastName: string; firstName: string; password: string; journey: string }>,
) {
  const lines = [
    '',
    'Demo mode (DEMO=0 to run the IdP alone):',
    `  IdP          ${issuer}  (discovery: ${issuer}/.well-known/openid-configuration)`,
    `  Mock Mos.ru  ${mosruUrl}`,
    '  Demo citizens (login by phone or e-mail):',
    ...citizens.map((c) => `    ${c.trustLevel.padEnd(10)} ${c.lastName} ${c.firstName}  +${c.phone} / ${c.email}  password: ${c.password}`),
    '  Mos.ru accounts:',
    ...mosruAccounts.map((a) => `    ${a.email.padEnd(22)} ${a.lastName} ${a.firstName}  password: ${a.password}  — ${a.journey}`),
    `  Development outbox (SMS and e-mail codes): ${issuer}/dev/outbox`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
