import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const NODE = path.join(ROOT, 'node_modules/.bin/node');

/**
 * Settings the IdP reads from the environment (src/config/config.ts). The bench clears them all
 * before setting its own, so a developer's shell cannot change what is measured.
 */
const IDP_SETTINGS = [
  'NODE_ENV', 'PORT', 'HOST', 'ISSUER', 'DATABASE_URL', 'DATABASE_POOL_SIZE', 'DATA_DIR', 'DEMO', 'MOSRU_PORT', 'MOSRU_URL',
  'COOKIE_KEYS', 'ENCRYPTION_KEY', 'SIGNING_KEYS', 'SIGNING_KEYS_FILE', 'ARGON2_MEMORY_KIB', 'ARGON2_TIME_COST', 'ARGON2_PARALLELISM',
  'ACCESS_TOKEN_TTL', 'ID_TOKEN_TTL', 'AUTHORIZATION_CODE_TTL', 'REFRESH_TOKEN_TTL', 'SESSION_TTL', 'INTERACTION_TTL', 'GRANT_TTL',
  'MIGRATE_ON_START', 'TRUST_PROXY', 'PRUNE_INTERVAL_SECONDS', 'SMTP_URL', 'SMTP_FROM', 'SMS_GATEWAY_URL', 'SMS_GATEWAY_TOKEN',
  'OUTBOX_POLL_MS', 'RUN_WORKERS', 'REGISTRY_LATENCY_MS', 'REGISTRY_FAILURE_RATE', 'REGISTRY_POLL_MS', 'PRIVATE_NETWORK_HOSTS',
  'METRICS_TOKEN', 'KEYS_REFRESH_SECONDS', 'KEY_PUBLISH_SECONDS', 'LOG_LEVEL', 'TEST_DB', 'IDP_WORKERS', 'SESSION_IDLE_TTL',
  'IP_RATE_LIMIT_MULTIPLIER', 'LOGIN_HISTORY_DAYS',
];

/** The parent's environment without any IdP setting, plus `settings`. */
export function childEnvironment(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of IDP_SETTINGS) delete env[name];
  return { ...env, ...settings };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface IdpProcess {
  issuer: string;
  pid: number;
  /** Log lines at warn level or above the IdP wrote so far (it runs with LOG_LEVEL=warn). */
  warnings(): string[];
  /** The last lines it printed, for a failure report. */
  tail(): string;
  stop(): Promise<void>;
  /** Last resort from a synchronous `exit` handler: SIGKILL if still running. */
  killNow(): void;
}

/**
 * Starts `node src/main.ts` as a child process, exactly as `npm start` would, and waits until
 * /readyz answers (migrations done, database reachable). `issuer`: another instance of an IdP
 * already running (same ISSUER, its own port), as behind a load balancer.
 */
export async function startIdpProcess(settings: Record<string, string>, options: { readyTimeoutMs?: number; nodeArgs?: string[]; issuer?: string } = {}): Promise<IdpProcess> {
  const { issuer: sharedIssuer, ...rest } = options;
  return startServerProcess({
    script: 'src/main.ts',
    readyPath: '/readyz',
    env: (port, issuer) => childEnvironment({ ...settings, HOST: '127.0.0.1', PORT: String(port), ISSUER: sharedIssuer ?? issuer }),
    ...rest,
  });
}

/**
 * Starts a Node server script as a child process on a free loopback port (`env` gets the port and
 * the issuer URL built from it) and waits until `readyPath` answers 2xx.
 */
export async function startServerProcess(options: {
  script: string;
  readyPath: string;
  env: (port: number, issuer: string) => NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  nodeArgs?: string[];
}): Promise<IdpProcess> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const child = spawn(NODE, [...(options.nodeArgs ?? []), options.script], {
    cwd: ROOT,
    env: options.env(port, issuer),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const warnings: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      if (/"level":(40|50|60)/.test(line) && warnings.length < 1000) warnings.push(line);
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = once(child, 'exit');

  const process_: IdpProcess = {
    issuer,
    pid: child.pid!,
    warnings: () => [...warnings],
    tail: () => lines.slice(-40).join('\n'),
    stop: () => stopChild(child, exited),
    killNow: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  try {
    await waitUntilReady(`${issuer}${options.readyPath}`, child, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    await process_.stop();
    throw new Error(`${(error as Error).message}\n--- ${options.script} output ---\n${process_.tail()}`);
  }
  return process_;
}

async function waitUntilReady(readyUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited during start (code ${child.exitCode ?? child.signalCode})`);
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(200);
  }
  throw new Error(`the server was not ready within ${timeoutMs / 1000} s`);
}

/** SIGTERM (graceful: the IdP closes its database), then SIGKILL after 10 s. */
async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
