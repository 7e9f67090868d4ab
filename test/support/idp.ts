import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/config.ts';
import { createIdpRuntime, type IdpRuntime } from '../../src/runtime.ts';
import { connectToRunningServer, openDatabase } from '../../src/db/create-db.ts';
import { createCitizen, type CreateCitizenInput } from '../../src/citizens/citizens.service.ts';
import { registerClient, type RegisterClientInput } from '../../src/oidc/clients.service.ts';
import { createLogger, type Logger } from '../../src/shared/logger.ts';
import type { Clock } from '../../src/shared/clock.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface TestIdp {
  issuer: string;
  runtime: IdpRuntime;
  server: http.Server;
  testDatabase: TestDatabase;
  makeCitizen(input?: Partial<CreateCitizenInput>): Promise<{ oid: string; login: string; password: string }>;
  makeClient(input?: Partial<RegisterClientInput>): Promise<{ clientId: string; clientSecret?: string; redirectUri: string }>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * A real IdP on a random loopback port over a fresh database. The port is bound first, so the
 * issuer in every token is the URL tests actually call.
 */
export async function startTestIdp(options: { env?: Record<string, string>; clock?: Clock; logger?: Logger } = {}): Promise<TestIdp> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const testDatabase = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', ISSUER: issuer, PORT: String(port), PRUNE_INTERVAL_SECONDS: '0', ...options.env });
  const database = await openDatabase(testDatabase.settings);
  const runtime = await createIdpRuntime(config, { logger: options.logger ?? createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), clock: options.clock, database });
  server.on('request', runtime.handle);

  return {
    issuer,
    runtime,
    server,
    testDatabase,
    async makeCitizen(input = {}) {
      const n = ++counter;
      const password = input.password ?? `Test-Password-${n}!`;
      const phone = input.phone ?? (input.email ? undefined : `7999${String(Date.now() % 1e4).padStart(4, '0')}${String(n % 1000).padStart(3, '0')}`);
      const citizen = await createCitizen(runtime.database.db, runtime.hasher, {
        lastName: 'Тестов', firstName: 'Тест', middleName: 'Тестович', ...input, phone, password,
      });
      return { oid: citizen.oid, login: citizen.phone ? `+${citizen.phone}` : citizen.email!, password };
    },
    async makeClient(input = {}) {
      const redirectUri = input.redirectUris?.[0] ?? 'http://127.0.0.1:9/callback';
      const client = await registerClient(runtime.database.db, runtime.secrets.secretBox, runtime.validateClient, {
        name: 'Тестовый сервис', redirectUris: [redirectUri], postLogoutRedirectUris: ['http://127.0.0.1:9/'], ...input,
      });
      return { clientId: client.clientId, clientSecret: client.clientSecret, redirectUri };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
      await testDatabase.drop();
    },
  };
}

/**
 * A second IdP process's worth of state on the same database and the same issuer, as behind a
 * load balancer: its own runtime (own oidc-provider app, caches, keys in memory) and its own port.
 * PGlite: through the first instance's socket; PostgreSQL: the same database URL.
 */
export async function startSecondInstance(first: TestIdp): Promise<{ url: string; runtime: IdpRuntime; close(): Promise<void> }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const config = loadConfig({ NODE_ENV: 'test', ISSUER: first.issuer, PORT: String(port), PRUNE_INTERVAL_SECONDS: '0' });
  const database = first.testDatabase.url ? await openDatabase({ url: first.testDatabase.url, poolSize: 4 }) : connectToRunningServer(first.runtime.database.socketDir!);
  const runtime = await createIdpRuntime(config, { database, clock: first.runtime.clock, logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  server.on('request', runtime.handle);
  return {
    url: `http://127.0.0.1:${port}`,
    runtime,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
    },
  };
}
