import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { withWorkersArgument } from '../../src/cluster.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { createTestDatabase, testEngine, type TestDatabase } from '../support/database.ts';

/**
 * IDP_WORKERS=N: `npm start` as operators run it — a primary that migrates once and supervises N
 * worker processes on one port. Needs PostgreSQL (the embedded database serves one process).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const MAIN = path.join(ROOT, 'src/main.ts');

describe('IDP_WORKERS', () => {
  it('is read from the environment or --workers, at least 1, and needs DATABASE_URL above 1', () => {
    const pg = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/esia' };
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ ...pg, IDP_WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig(withWorkersArgument(pg, ['--workers', '2'])).workers).toBe(2);
    expect(loadConfig(withWorkersArgument(pg, ['--workers=4'])).workers).toBe(4);

    expect(problems({ ...pg, IDP_WORKERS: '0' })).toEqual([expect.stringMatching(/^IDP_WORKERS: /)]);
    expect(() => withWorkersArgument(pg, ['--workers'])).toThrow(ConfigError);
    expect(() => withWorkersArgument(pg, ['--workers', '--trace'])).toThrow('--workers: give the number of processes');
    expect(problems({ IDP_WORKERS: '2' })).toEqual(['IDP_WORKERS > 1 needs DATABASE_URL (PostgreSQL): the embedded database serves one process']);
    expect(problems(withWorkersArgument({}, ['--workers', '2']))).toHaveLength(1);
  });

  it('npm start refuses several workers on the embedded database before opening anything', async () => {
    const { DATABASE_URL: _unused, ...env } = process.env;
    const child = spawn(NODE, [MAIN], { cwd: ROOT, env: { ...env, IDP_WORKERS: '2', DEMO: '0', DATA_DIR: 'memory://' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(78);
    expect(stderr).toContain('IDP_WORKERS > 1 needs DATABASE_URL (PostgreSQL): the embedded database serves one process');
  });

  // The cluster itself needs PostgreSQL; without DATABASE_URL the tests above are what applies.
  if (testEngine() === 'postgres') {
    let database: TestDatabase | undefined;
    let primary: ChildProcess | undefined;
    afterAll(async () => {
      if (primary && primary.exitCode === null && primary.signalCode === null) primary.kill('SIGKILL');
      await database?.drop();
    });

    it('serves one port from two workers, replaces a worker that dies, and stops them all on SIGTERM', async () => {
      database = await createTestDatabase();
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      primary = spawn(NODE, [MAIN], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: database.url!, IDP_WORKERS: '2', DEMO: '0', PORT: String(port), HOST: '127.0.0.1', ISSUER: issuer, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const server = primary;
      let output = '';
      server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = once(server, 'exit');
      const logged = (msg: string) => logLines(output).filter((line) => line.msg === msg);
      const until = async (what: string, done: () => boolean) => {
        while (!done()) {
          if (server.exitCode !== null || server.signalCode !== null) throw new Error(`the IdP exited while waiting for ${what}:\n${output}`);
          await delay(100);
        }
      };

      await until('two workers', () => logged('worker listening').length === 2);
      const first = logged('worker listening').map((line) => line.pid as number);
      expect(await children(server.pid!)).toEqual(new Set(first));
      // Migrated once, by the primary, before forking.
      expect(logged('migrations applied')).toEqual([expect.objectContaining({ role: 'primary' })]);
      expect(await getStatus(`${issuer}/readyz`)).toBe(200);
      expect(await discoveryStatuses(issuer, 40)).toEqual(Array(40).fill(200));

      const [victim, survivor] = first as [number, number];
      process.kill(victim, 'SIGKILL');
      await until('a replacement worker', () => logged('worker listening').length === 3);
      expect(logged('worker died; restarting it')).toEqual([expect.objectContaining({ pid: victim, signal: 'SIGKILL' })]);
      const replacement = logged('worker listening')[2]!.pid as number;
      expect(await children(server.pid!)).toEqual(new Set([survivor, replacement]));
      expect(await discoveryStatuses(issuer, 40)).toEqual(Array(40).fill(200));

      server.kill('SIGTERM');
      const [code] = await exited;
      expect(code, output).toBe(0);
      expect(logged('all workers stopped')).toHaveLength(1);
      for (const pid of [survivor, replacement]) expect(isAlive(pid), `worker ${pid} outlived the primary`).toBe(false);
    }, 60_000);
  }
});

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

function logLines(output: string): Array<Record<string, unknown>> {
  return output.split('\n').flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/** The live child processes of `pid` (the workers of a primary). */
async function children(pid: number): Promise<Set<number>> {
  const { stdout } = await promisify(execFile)('ps', ['--ppid', String(pid), '-o', 'pid=,stat=']).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return new Set(stdout.trim().split('\n').filter((line) => line && !/\sZ/.test(line)).map((line) => Number.parseInt(line, 10)));
}

/** Each request on a connection of its own, so the primary hands them out to the workers. */
async function discoveryStatuses(issuer: string, count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, () => getStatus(`${issuer}/.well-known/openid-configuration`)));
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    }).on('error', reject);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
