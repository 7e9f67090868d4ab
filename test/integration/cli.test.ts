import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { openDatabase, type DatabaseSettings } from '../../src/db/create-db.ts';
import type { Db } from '../../src/db/database.ts';
import { generateSigningKey } from '../../src/oidc/keys.ts';
import { createIdpRuntime } from '../../src/runtime.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, testEngine } from '../support/database.ts';

/**
 * The operator CLI as operators run it: a separate node process, against a real database —
 * a fresh PostgreSQL database when DATABASE_URL is set, otherwise an embedded PGlite directory.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = path.join(ROOT, 'node_modules/.bin/node');

interface Target {
  /** What the CLI process gets to find the database. */
  env: Record<string, string>;
  /** The same database, for the test to look at or prepare directly. */
  settings: DatabaseSettings;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A database of its own for one test, removed when the test ends. */
async function freshDatabase(): Promise<Target> {
  if (testEngine() === 'postgres') {
    const database = await createTestDatabase();
    onTestFinished(() => database.drop());
    return { env: { DATABASE_URL: database.url! }, settings: database.settings };
  }
  const dataDir = tempDir('esia-cli-');
  return { env: { DATA_DIR: dataDir }, settings: { embedded: true, dataDir } };
}

async function migratedDatabase(): Promise<Target> {
  if (testEngine() === 'pglite') {
    // Creating and migrating a PGlite directory takes seconds; a copy of a migrated one is as fresh.
    const dataDir = tempDir('esia-cli-');
    cpSync(await migratedTemplate(), dataDir, { recursive: true });
    return { env: { DATA_DIR: dataDir }, settings: { embedded: true, dataDir } };
  }
  const target = await freshDatabase();
  ok(await cli(target, 'migrate'));
  return target;
}

let templateDir: string | undefined;
let template: Promise<string> | undefined;
function migratedTemplate(): Promise<string> {
  return (template ??= (async () => {
    const dataDir = (templateDir = mkdtempSync(path.join(tmpdir(), 'esia-cli-template-')));
    const run = await cliWithEnv({ DATA_DIR: dataDir }, 'migrate');
    if (run.code !== 0) throw new Error(`migrating the template database failed: ${run.stderr}`);
    return dataDir;
  })());
}
afterAll(() => {
  if (templateDir) rmSync(templateDir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Only what the CLI needs: nothing from the developer's shell (DATABASE_URL, SIGNING_KEYS…) leaks in. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    TMPDIR: tmpdir(),
    NODE_ENV: 'test',
    // The cheapest argon2 the configuration accepts: these tests are about the CLI, not hashing.
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    ...extra,
  };
}

function cli(target: Target | undefined, ...args: string[]): Promise<Run> {
  return cliWithEnv(target?.env ?? {}, ...args);
}

function cliWithEnv(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(NODE, ['src/cli/main.ts', ...args], { cwd: ROOT, env: childEnv(env) }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The output of a run that must succeed (its stderr explains it when not). */
function ok(run: Run): string {
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

function json(run: Run): any {
  return JSON.parse(ok(run));
}

/** An expected failure: the given exit code and exactly one line on stderr, without a stack trace. */
function expectFailure(run: Run, code: 1 | 2, message: RegExp | string): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

async function withDatabase<T>(target: Target, use: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDatabase(target.settings);
  try {
    return await use(database.db);
  } finally {
    await database.close();
  }
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

const CONFIDENTIAL = ['clients', 'add', '--name', 'Сервис «Проверка»', '--redirect-uri', 'https://rp.example.ru/callback'];
const CITIZEN = ['citizens', 'add', '--last-name', 'Иванова', '--first-name', 'Мария', '--password', 'Secret-Pass-1'];

// Each test starts several node processes (and PGlite opens its directory in each): more than the default allowance.
describe('operator CLI', { timeout: 120_000 }, () => {
  describe('help and usage', () => {
    it('--help lists every command and exits 0', async () => {
      const run = await cli(undefined, '--help');
      expect(run.code).toBe(0);
      for (const command of ['migrate', 'clients add', 'clients list', 'clients remove <id>', 'citizens add', 'keys list', 'operators add', 'prune']) {
        expect(run.stdout).toContain(`  ${command} `);
      }
      expect(run.stdout).toContain('--json');
    });

    it('each command explains its options', async () => {
      const add = await cli(undefined, 'clients', 'add', '--help');
      expect(add.code).toBe(0);
      for (const option of ['--name', '--redirect-uri', '--post-logout-redirect-uri', '--backchannel-logout-uri', '--public', '--id', '--secret', '--scopes', '--auth-method', '--json']) {
        expect(add.stdout).toContain(option);
      }
      const citizens = await cli(undefined, 'citizens', 'add', '-h');
      expect(citizens.code).toBe(0);
      expect(citizens.stdout).toContain('--trust-level <level>');
      const group = await cli(undefined, 'clients', '--help');
      expect(group.code).toBe(0);
      expect(group.stdout).toMatch(/clients add[\s\S]*clients list[\s\S]*clients remove/);
    });

    it('answers a wrong invocation with exit code 2 and a pointer to the help', async () => {
      expectFailure(await cli(undefined), 2, 'missing command');
      expectFailure(await cli(undefined, 'frobnicate'), 2, /unknown command "frobnicate".*--help/);
      expectFailure(await cli(undefined, 'clients'), 2, /needs a subcommand: add, list, remove/);
      expectFailure(await cli(undefined, 'clients', 'add', '--nmae', 'x'), 2, /unknown option --nmae.*clients add --help/);
      expectFailure(await cli(undefined, 'clients', 'add', '--name', 'x'), 2, '--redirect-uri is required');
      expectFailure(await cli(undefined, 'citizens', 'add', '--last-name', 'Иванов', '--first-name', 'Иван', '--password', 'Secret-Pass-1'), 2, 'give --phone or --email');
      expectFailure(await cli(undefined, 'citizens', 'add', ...CITIZEN.slice(2), '--phone', '+79990000000', '--trust-level', 'super'), 2, /--trust-level must be one of: simplified, standard, confirmed/);
      expectFailure(await cli(undefined, 'clients', 'remove'), 2, /missing the client <id>/);
    });

    it('reports configuration problems and an unreachable database on one line', async () => {
      expectFailure(await cliWithEnv({ DATABASE_URL: 'mysql://localhost/x' }, 'clients', 'list'), 1, /^error: invalid configuration: DATABASE_URL: must be a postgres:\/\/ URL$/);
      const port = await freePort();
      const unreachable = await cliWithEnv({ DATABASE_URL: `postgres://postgres:db-password-1@127.0.0.1:${port}/esia` }, 'clients', 'list');
      expectFailure(unreachable, 1, `error: cannot reach PostgreSQL at 127.0.0.1:${port}/esia: connect ECONNREFUSED`);
      expect(unreachable.stderr).not.toContain('db-password-1');
    });

    it('--json turns errors into one JSON line', async () => {
      const run = await cli(undefined, 'clients', 'nonsense', '--json');
      expect(run.code).toBe(2);
      expect(JSON.parse(run.stderr)).toMatchObject({ error: 'usage', message: expect.stringContaining('clients nonsense') });
    });
  });

  describe('migrate', () => {
    it('applies the migrations once and lists them', async () => {
      const target = await freshDatabase();
      const first = await cli(target, 'migrate');
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^Applied \d+ migration\(s\):\n {2}2026_11_23_0000_foundation/);
      expect(json(await cli(target, 'migrate', '--json'))).toEqual({ applied: [] });
      expect(ok(await cli(target, 'migrate'))).toContain('up to date');
    });

    it('is the only command that touches the schema: the others ask for it first', async () => {
      const target = await freshDatabase();
      for (const command of [['clients', 'list'], [...CONFIDENTIAL], ['prune']]) {
        expectFailure(await cli(target, ...command), 1, 'run `npm run migrate` first');
      }
      await withDatabase(target, async (db) => {
        const tables = await db.introspection.getTables();
        expect(tables.map((t) => t.name)).not.toContain('oidc_clients');
      });
    });

    it('will not invent an embedded database where there is none', async () => {
      const missing = path.join(tempDir('esia-cli-'), 'no-such-dir');
      expectFailure(await cliWithEnv({ DATA_DIR: missing }, 'clients', 'list'), 1, `there is no database in ${missing} yet`);
      expect(existsSync(missing)).toBe(false);
    });
  });

  describe('clients', () => {
    it('adds a confidential client and shows its secret once, and never again', async () => {
      const target = await migratedDatabase();
      const added = await cli(target, ...CONFIDENTIAL, '--post-logout-redirect-uri', 'https://rp.example.ru/', '--id', 'rp-proverka');
      expect(added.code, added.stderr).toBe(0);
      const secret = /Client secret[^\n]*\n {2}(\S+)/.exec(added.stdout)?.[1];
      expect(secret).toMatch(/^[\w-]{43}$/);
      expect(occurrences(added.stdout, secret!)).toBe(1);
      expect(added.stdout).toContain('rp-proverka');
      expect(added.stdout).toContain('confidential (client_secret_basic)');
      expect(added.stderr).toBe('');

      const listed = await cli(target, 'clients', 'list', '--json');
      expect(listed.stdout).not.toContain(secret);
      expect(json(listed).clients).toEqual([
        expect.objectContaining({
          clientId: 'rp-proverka',
          name: 'Сервис «Проверка»',
          type: 'confidential',
          redirectUris: ['https://rp.example.ru/callback'],
          postLogoutRedirectUris: ['https://rp.example.ru/'],
          createdAt: expect.any(String),
        }),
      ]);
      const table = await cli(target, 'clients', 'list');
      expect(table.stdout).toMatch(/rp-proverka\s+Сервис «Проверка»\s+confidential\s+\S+Z\s+https:\/\/rp\.example\.ru\/callback/);
      expect(table.stdout).not.toContain(secret);
    });

    it('adds a client with a given secret and auth method, in JSON', async () => {
      const target = await migratedDatabase();
      const secret = 'a-long-enough-secret-of-forty-characters!';
      const client = json(await cli(target, ...CONFIDENTIAL, '--secret', secret, '--auth-method', 'client_secret_post', '--scopes', 'openid fullname', '--json'));
      expect(client).toMatchObject({ clientSecret: secret, type: 'confidential', tokenEndpointAuthMethod: 'client_secret_post', scope: 'openid fullname' });
      expect(client.clientId).toMatch(/^client-[0-9a-f]{16}$/);
    });

    it('adds a public client without a secret', async () => {
      const target = await migratedDatabase();
      const text = await cli(target, 'clients', 'add', '--name', 'Мобильное приложение', '--redirect-uri', 'http://127.0.0.1:8080/cb', '--public', '--id', 'mobile-app');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('public (PKCE, no secret)');
      expect(text.stdout).not.toMatch(/secret \(/i);
      const viaJson = json(await cli(target, 'clients', 'add', '--name', 'SPA', '--redirect-uri', 'http://127.0.0.1:8081/cb', '--public', '--json'));
      expect(viaJson).toMatchObject({ type: 'public', tokenEndpointAuthMethod: 'none' });
      expect(viaJson).not.toHaveProperty('clientSecret');
      expect(json(await cli(target, 'clients', 'list', '--json')).clients.map((c: { type: string }) => c.type)).toEqual(['public', 'public']);
    });

    it('refuses metadata oidc-provider would refuse, and registers nothing', async () => {
      const target = await migratedDatabase();
      expectFailure(await cli(target, 'clients', 'add', '--name', 'Плохой', '--redirect-uri', 'not a uri'), 1, /^error: invalid client: redirect_uris/);
      expectFailure(await cli(target, 'clients', 'add', '--name', 'Плохой', '--redirect-uri', 'https://rp.example.ru/cb', '--secret', 'short'), 1, 'at least 32 characters');
      expectFailure(await cli(target, 'clients', 'add', '--name', 'Плохой', '--redirect-uri', 'https://rp.example.ru/cb', '--scopes', 'openid telepathy'), 1, 'unknown scopes: telepathy');
      expect(json(await cli(target, 'clients', 'list', '--json'))).toEqual({ clients: [] });
    });

    it('refuses a second client with the same id', async () => {
      const target = await migratedDatabase();
      ok(await cli(target, ...CONFIDENTIAL, '--id', 'twice'));
      expectFailure(await cli(target, ...CONFIDENTIAL, '--id', 'twice'), 1, 'client twice already exists');
      expect(json(await cli(target, 'clients', 'list', '--json')).clients).toHaveLength(1);
    });

    it('removes a known client and says so for an unknown one', async () => {
      const target = await migratedDatabase();
      json(await cli(target, ...CONFIDENTIAL, '--id', 'to-remove', '--json'));
      json(await cli(target, ...CONFIDENTIAL, '--id', 'to-keep', '--json'));
      const removed = await cli(target, 'clients', 'remove', 'to-remove');
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stdout).toContain('to-remove removed');
      expect(json(await cli(target, 'clients', 'list', '--json')).clients.map((c: { clientId: string }) => c.clientId)).toEqual(['to-keep']);
      expectFailure(await cli(target, 'clients', 'remove', 'to-remove'), 1, 'no client with id "to-remove"');
      const unknown = await cli(target, 'clients', 'remove', 'ghost', '--json');
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stderr)).toMatchObject({ error: 'client.not_found' });
    });
  });

  describe('citizens', () => {
    it('creates a citizen and prints the OID', async () => {
      const target = await migratedDatabase();
      const run = await cli(target, ...CITIZEN, '--middle-name', 'Сергеевна', '--phone', '+7 (916) 555-11-22');
      expect(run.code, run.stderr).toBe(0);
      const oid = Number(/OID (\d+)/.exec(run.stdout)?.[1]);
      expect(oid).toBeGreaterThanOrEqual(1_000_000_001);
      expect(run.stdout).toContain('Иванова Мария Сергеевна');
      expect(run.stdout).toContain('+79165551122');
      expect(run.stdout).not.toContain('Secret-Pass-1');

      const second = json(await cli(target, ...CITIZEN, '--email', 'Maria@Example.RU', '--trust-level', 'confirmed', '--json'));
      expect(second).toMatchObject({ lastName: 'Иванова', email: 'maria@example.ru', phone: null, trustLevel: 'confirmed' });
      expect(Number(second.oid)).toBeGreaterThan(oid);
      expect(JSON.stringify(second)).not.toMatch(/password|Secret-Pass-1/i);
    });

    it('turns each invalid field into a message naming its option', async () => {
      const target = await migratedDatabase();
      const run = await cli(target, 'citizens', 'add', '--last-name', 'Ivanova', '--first-name', 'Мария', '--phone', '12345', '--password', 'short');
      expectFailure(run, 1, /^error: invalid citizen data: /);
      expect(run.stderr).toContain('--last-name: use Cyrillic letters');
      expect(run.stderr).toContain('--phone: not a Russian mobile number');
      expect(run.stderr).toContain('--password: must be at least 8 characters');
      expect(run.stderr).not.toContain('--first-name');
    });

    it('refuses a phone that already belongs to an account, however it is written', async () => {
      const target = await migratedDatabase();
      ok(await cli(target, ...CITIZEN, '--phone', '+7 916 555-11-22'));
      expectFailure(await cli(target, ...CITIZEN, '--phone', '8 (916) 555 11 22'), 1, /^error: phone or e-mail already belongs to an account$/);
    });
  });

  describe('operators', () => {
    it('grants, lists and removes the operator role', async () => {
      const target = await migratedDatabase();
      const oid = String(json(await cli(target, ...CITIZEN, '--phone', '+7 916 555-33-44', '--json')).oid);
      expect(ok(await cli(target, 'operators', 'add', '--oid', oid, '--centre', 'МФЦ Тверской'))).toContain(`OID ${oid} is now an operator at «МФЦ Тверской»`);
      expect(json(await cli(target, 'operators', 'list', '--json'))).toEqual([expect.objectContaining({ citizenOid: oid, serviceCentre: 'МФЦ Тверской' })]);
      expectFailure(await cli(target, 'operators', 'add', '--oid', '1999999999', '--centre', 'МФЦ'), 1, 'no citizen with OID 1999999999');
      expect(ok(await cli(target, 'operators', 'remove', oid))).toContain('no longer an operator');
      expectFailure(await cli(target, 'operators', 'remove', oid), 1, `OID ${oid} is not an operator`);
    });
  });

  describe('keys', () => {
    it('lists the keys a runtime generated: kid, alg, status and created, no key material', async () => {
      const target = await migratedDatabase();
      expect(ok(await cli(target, 'keys', 'list'))).toContain('No signing keys yet');

      const config = loadConfig({ NODE_ENV: 'test', PRUNE_INTERVAL_SECONDS: '0', MIGRATE_ON_START: '0' });
      const runtime = await createIdpRuntime(config, { database: await openDatabase(target.settings), logger: createLogger({ level: 'silent' }) });
      const byKid = (a: { kid?: string }, b: { kid?: string }) => a.kid!.localeCompare(b.kid!);
      const generated = runtime.secrets.signingKeys.map((k) => ({ kid: k.kid, alg: k.alg })).sort(byKid);
      expect(generated.length).toBeGreaterThan(0);
      const privateParts = runtime.secrets.signingKeys.map((k) => k.d!);
      await runtime.close();

      const listed = await cli(target, 'keys', 'list', '--json');
      const { source, keys } = json(listed);
      expect(source).toBe('database');
      expect(keys.map((k: { kid: string; alg: string }) => ({ kid: k.kid, alg: k.alg })).sort(byKid)).toEqual(generated);
      expect(keys[0]).toMatchObject({ status: 'current', createdAt: expect.any(String) });
      const text = await cli(target, 'keys', 'list');
      for (const { kid, alg } of generated) expect(text.stdout).toMatch(new RegExp(`${kid}\\s+${alg}\\s+current\\s+\\S+Z`));
      for (const secret of privateParts) {
        expect(listed.stdout).not.toContain(secret);
        expect(text.stdout).not.toContain(secret);
      }
    });

    it('lists configured keys from SIGNING_KEYS without touching a database', async () => {
      const key = await generateSigningKey('ES256');
      const env = { SIGNING_KEYS: JSON.stringify({ keys: [key] }), DATA_DIR: path.join(tempDir('esia-cli-'), 'none') };
      const run = await cliWithEnv(env, 'keys', 'list', '--json');
      expect(json(run)).toEqual({ source: 'config', keys: [{ kid: key.kid, alg: 'ES256', kty: 'EC' }] });
      expect(run.stdout).not.toContain(key.d);
      expectFailure(await cliWithEnv(env, 'keys', 'rotate'), 1, 'the signing keys come from SIGNING_KEYS');
    });

    it('rotates in three steps: stage, activate, prune', async () => {
      const target = await migratedDatabase();
      const rs256 = async (): Promise<Record<string, string>> => Object.fromEntries(
        json(await cli(target, 'keys', 'list', '--json')).keys
          .filter((k: { alg: string }) => k.alg === 'RS256')
          .map((k: { kid: string; status: string }) => [k.kid, k.status]),
      );
      const rotated = ok(await cli(target, 'keys', 'rotate', '--alg', 'RS256'));
      expect(rotated).toContain('Staged 1 key(s)');
      const before = await rs256();
      const current = Object.keys(before).find((kid) => before[kid] === 'current')!;
      const staged = Object.keys(before).find((kid) => before[kid] === 'next')!;
      expect(Object.keys(before)).toHaveLength(2);
      expect(rotated).toContain(staged);

      expectFailure(await cli(target, 'keys', 'rotate', '--alg', 'RS256'), 1, /already staged, not yet active: RS256/);
      // KEY_PUBLISH_SECONDS (10 min by default) has not passed: relying parties may not know the key yet.
      expectFailure(await cli(target, 'keys', 'activate'), 1, /wait \d+ s more .*--force/);
      expect(json(await cli(target, 'keys', 'activate', '--force', '--json'))).toEqual({ activated: [{ alg: 'RS256', activated: staged, retired: current }] });
      expect(await rs256()).toEqual({ [current]: 'retired', [staged]: 'current' });

      // Retired just now: tokens it signed are still valid, so it stays published.
      expect(json(await cli(target, 'keys', 'prune', '--json'))).toEqual({ removed: [] });
      expect(await rs256()).toEqual({ [current]: 'retired', [staged]: 'current' });
      expectFailure(await cli(target, 'keys', 'activate'), 1, 'no staged keys to activate');
      expectFailure(await cli(target, 'keys', 'rotate', '--alg', 'HS256'), 2, '--alg must be one of: RS256, ES256, PS256');
    });
  });

  describe('prune', () => {
    it('deletes expired OIDC artifacts and keeps live ones', async () => {
      const target = await migratedDatabase();
      const hourAgo = new Date(Date.now() - 3600_000);
      const inAnHour = new Date(Date.now() + 3600_000);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
      await withDatabase(target, async (db) => {
        await db.insertInto('oidc_payloads').values([
          { model: 'Session', id: 'expired-1', payload: {}, grant_id: null, user_code: null, uid: null, expires_at: hourAgo, consumed_at: null },
          { model: 'AccessToken', id: 'expired-2', payload: {}, grant_id: null, user_code: null, uid: null, expires_at: hourAgo, consumed_at: null },
          { model: 'Session', id: 'live', payload: {}, grant_id: null, user_code: null, uid: null, expires_at: inAnHour, consumed_at: null },
          // Rotated two days ago: past the default reuse-detection window of a day.
          { model: 'RefreshToken', id: 'rotated', payload: {}, grant_id: null, user_code: null, uid: null, expires_at: inAnHour, consumed_at: twoDaysAgo },
        ]).execute();
        await db.insertInto('one_time_codes').values({
          purpose: 'registration', flow_id: '00000000-0000-4000-8000-000000000001', channel: 'sms', recipient: '79990000001',
          code_hash: 'x', attempts_left: 3, expires_at: hourAgo, created_at: twoDaysAgo,
        }).execute();
        await db.insertInto('recovery_flows').values({ contact_kind: 'phone', contact_value: '79990000001', citizen_oid: null, created_at: twoDaysAgo, expires_at: twoDaysAgo }).execute();
      });

      expect(json(await cli(target, 'prune', '--json'))).toEqual({
        deleted: 2, deletedConsumed: 1, deletedMessages: 0, deletedSecurityState: 0, deletedCodes: 1, deletedFlows: 1,
        deletedSessionDevices: 0, deletedActingChoices: 0, expiredPowers: 0,
      });
      expect(ok(await cli(target, 'prune'))).toBe([
        'Deleted 0 expired and 0 consumed OIDC artifact(s), 0 one-time code(s),',
        '0 ended flow(s), 0 session device row(s), 0 security row(s),',
        '0 role choice(s) and 0 old outbox message(s); marked 0 power(s) of attorney expired.\n',
      ].join('\n'));
      const left = await withDatabase(target, (db) => db.selectFrom('oidc_payloads').select('id').execute());
      expect(left).toEqual([{ id: 'live' }]);
    });

    it('marks active powers of attorney past their end expired and says how many', async () => {
      const target = await migratedDatabase();
      const principal = json(await cli(target, ...CITIZEN, '--phone', '+7 916 555-11-23', '--json')).oid as string;
      const representative = json(await cli(target, ...CITIZEN, '--phone', '+7 916 555-11-24', '--json')).oid as string;
      const dayAgo = new Date(Date.now() - 86_400_000);
      const power = (validTo: Date) => ({
        principal_kind: 'citizen' as const, principal_citizen_oid: principal, principal_organisation_oid: null, representative_oid: representative,
        rights: ['view' as const], client_ids: null, valid_from: new Date(Date.now() - 30 * 86_400_000), valid_to: validTo, state: 'active' as const,
        created_by_oid: principal, created_at: dayAgo, activated_at: dayAgo, ended_at: null, revoke_reason: null,
      });
      await withDatabase(target, (db) => db.insertInto('powers_of_attorney').values([power(dayAgo), power(new Date(Date.now() + 86_400_000))]).execute());

      expect(json(await cli(target, 'prune', '--json'))).toMatchObject({ deleted: 0, deletedMessages: 0, expiredPowers: 1 });
      expect(ok(await cli(target, 'prune'))).toContain('marked 0 power(s) of attorney expired.');
      const states = await withDatabase(target, (db) => db.selectFrom('powers_of_attorney').select('state').orderBy('valid_to').execute());
      expect(states).toEqual([{ state: 'expired' }, { state: 'active' }]);
    });
  });

  describe('next to a running IdP', () => {
    it('reaches the embedded database through the server’s socket', async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'esia-cli-srv-'));
      const port = await freePort();
      const issuer = `http://127.0.0.1:${port}`;
      const server = spawn(NODE, ['src/main.ts'], {
        cwd: ROOT,
        env: childEnv({ DEMO: '0', PORT: String(port), HOST: '127.0.0.1', ISSUER: issuer, DATA_DIR: dataDir, LOG_LEVEL: 'warn', PRUNE_INTERVAL_SECONDS: '0' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let serverOutput = '';
      server.stdout.on('data', (chunk) => (serverOutput += chunk));
      server.stderr.on('data', (chunk) => (serverOutput += chunk));
      const exited = once(server, 'exit');
      // The server must be gone before its directory is.
      onTestFinished(async () => {
        if (server.exitCode === null && server.signalCode === null) {
          server.kill('SIGTERM');
          await exited;
        }
        rmSync(dataDir, { recursive: true, force: true });
      });
      await waitUntilReady(issuer, server, () => serverOutput);

      // The server holds the PGlite directory; opening it a second time would fail, so a success
      // here means the CLI went through the socket.
      expect(readFileSync(path.join(dataDir, 'idp.lock'), 'utf8').trim()).toBe(String(server.pid));
      const env = { DATA_DIR: dataDir };
      expect(json(await cliWithEnv(env, 'clients', 'list', '--json'))).toEqual({ clients: [] });
      const added = json(await cliWithEnv(env, 'clients', 'add', '--name', 'Живой сервис', '--redirect-uri', 'http://127.0.0.1:9/cb', '--id', 'live-rp', '--json'));
      expect(added.clientSecret).toEqual(expect.any(String));
      expect(json(await cliWithEnv(env, 'clients', 'list', '--json')).clients.map((c: { clientId: string }) => c.clientId)).toEqual(['live-rp']);

      // What the CLI wrote is what the running IdP reads: it starts an authorization for the new client.
      const authorize = await fetch(`${issuer}/auth?client_id=live-rp&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}`, { redirect: 'manual' });
      expect(authorize.status).toBe(303);
      expect(authorize.headers.get('location')).toMatch(/\/interaction\//);

      server.kill('SIGTERM');
      const [code] = await exited;
      expect(code, serverOutput).toBe(0);
      expect(existsSync(path.join(dataDir, 'idp.lock'))).toBe(false);
    });
  });
});

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function waitUntilReady(issuer: string, server: ReturnType<typeof spawn>, output: () => string): Promise<void> {
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`the IdP exited before it was ready:\n${output()}`);
    const ready = await fetch(`${issuer}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
    await delay(200);
  }
}
