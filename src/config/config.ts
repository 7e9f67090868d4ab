import { z } from 'zod';
import { defaults } from '../../config/defaults.ts';

/**
 * The whole configuration, read once from the environment. Only this module reads `process.env`
 * (through the `env` argument), and it reports every problem at once.
 */

const bool = (fallback: boolean) =>
  z.enum(['1', '0', 'true', 'false', 'yes', 'no']).optional().transform((v) => (v === undefined ? fallback : ['1', 'true', 'yes'].includes(v)));
const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).optional().transform((v) => v ?? fallback);

const jwkSchema = z.looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']), d: z.string({ error: 'must be a private key (has no "d")' }) });
const jwksSchema = z.object({ keys: z.array(jwkSchema).min(1) });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).optional().default('development'),
  PORT: int(defaults.port, 0, 65535),
  HOST: z.string().min(1).optional().default(defaults.host),
  ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  DATABASE_POOL_SIZE: int(defaults.databasePoolSize, 1, 200),
  IDP_WORKERS: int(defaults.workers, 1, 256),
  DATA_DIR: z.string().min(1).optional().default(defaults.dataDir),
  DEMO: z.enum(['0', '1']).optional(),
  MOSRU_PORT: int(defaults.mosruPort, 0, 65535),
  MOSRU_URL: z.url().optional(),
  COOKIE_KEYS: z.string().optional().transform((v) => v?.split(',').map((k) => k.trim()).filter(Boolean)),
  ENCRYPTION_KEY: z.string().optional(),
  SIGNING_KEYS: z.string().optional(),
  SIGNING_KEYS_FILE: z.string().optional(),
  ARGON2_MEMORY_KIB: int(defaults.argon2.memoryKib, 1024, 4 * 1024 * 1024),
  ARGON2_TIME_COST: int(defaults.argon2.timeCost, 1, 20),
  ARGON2_PARALLELISM: int(defaults.argon2.parallelism, 1, 16),
  ACCESS_TOKEN_TTL: int(defaults.ttl.accessToken, 60),
  ID_TOKEN_TTL: int(defaults.ttl.idToken, 60),
  AUTHORIZATION_CODE_TTL: int(defaults.ttl.authorizationCode, 10, 600),
  REFRESH_TOKEN_TTL: int(defaults.ttl.refreshToken, 60),
  SESSION_TTL: int(defaults.ttl.session, 60),
  SESSION_IDLE_TTL: int(defaults.ttl.sessionIdle, 60),
  INTERACTION_TTL: int(defaults.ttl.interaction, 60),
  GRANT_TTL: int(defaults.ttl.grant, 60),
  MIGRATE_ON_START: bool(defaults.migrateOnStart),
  TRUST_PROXY: bool(defaults.trustProxy),
  PRUNE_INTERVAL_SECONDS: int(defaults.pruneIntervalSeconds, 0),
  LOGIN_HISTORY_DAYS: int(180, 1, 36_500),
  REFRESH_REUSE_WINDOW_SECONDS: int(86_400, 0, 365 * 86_400),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  SMTP_FROM: z.string().min(3).optional().default('Госуслуги <no-reply@esia.localhost>'),
  SMS_GATEWAY_URL: z.url({ protocol: /^https?$/ }).optional(),
  SMS_GATEWAY_TOKEN: z.string().min(1).optional(),
  OUTBOX_POLL_MS: int(1000, 50, 600_000),
  RUN_WORKERS: bool(true),
  REGISTRY_LATENCY_MS: int(300, 0, 600_000),
  REGISTRY_FAILURE_RATE: z.coerce.number().min(0).max(1).optional().transform((v) => v ?? 0),
  REGISTRY_POLL_MS: int(1000, 50, 600_000),
  PRIVATE_NETWORK_HOSTS: z.string().optional().transform((v) => v?.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  METRICS_TOKEN: z.string().min(16).optional(),
  IP_RATE_LIMIT_MULTIPLIER: int(1, 1, 1000),
  KEYS_REFRESH_SECONDS: int(30, 0, 3600),
  KEY_PUBLISH_SECONDS: int(600, 0, 7 * 24 * 3600),
  MERGE_UNDO_DAYS: int(30, 0, 3650),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default(defaults.logLevel),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  production: boolean;
  port: number;
  host: string;
  issuer: string;
  database: { url: string; poolSize: number } | { embedded: true; dataDir: string };
  demo: boolean;
  /** IdP processes serving one port (node:cluster); each has its own database pool. */
  workers: number;
  mosru: { port: number; url: string };
  /** Absent outside production means: generate once and keep in the database (dev only). */
  cookieKeys: string[] | undefined;
  encryptionKey: Buffer | undefined;
  signingKeys: Array<Record<string, unknown>> | undefined;
  argon2: { memoryKib: number; timeCost: number; parallelism: number };
  ttl: {
    accessToken: number; idToken: number; authorizationCode: number; refreshToken: number;
    session: number; interaction: number; grant: number;
    /** A session unused this long ends (sliding); never longer than `session`, which counts from sign-in. */
    sessionIdle: number;
  };
  migrateOnStart: boolean;
  trustProxy: boolean;
  pruneIntervalSeconds: number;
  /** «История входов»: attempts older than this many days are pruned. */
  loginHistoryDays: number;
  /**
   * How long a consumed (rotated) refresh token or authorization code is kept so that its replay is
   * recognised and revokes the grant; afterwards the prune run deletes it and a replay is merely unknown.
   */
  refreshReuseWindowSeconds: number;
  /**
   * Hosts on loopback or private networks that the IdP may call (back-channel logout). oidc-provider
   * refuses such addresses by default against SSRF; RPs inside a private network must be listed.
   */
  privateNetworkHosts: string[];
  /** Delivery channels: SMTP and an HTTP SMS gateway when configured; otherwise (dev only) the log and /dev/outbox. */
  notifications: { smtpUrl?: string; smtpFrom: string; smsGatewayUrl?: string; smsGatewayToken?: string; pollMs: number; devOutbox: boolean };
  /** Run the background workers (outbox delivery, registry checks) in this process. */
  runWorkers: boolean;
  /** The mock state registries' behaviour (latency, share of failed calls) and the check worker's pace. */
  registry: { latencyMs: number; failureRate: number; pollMs: number };
  /** Signing keys: how often each instance looks for rotated keys, and how long a staged key is published before it may sign. */
  keys: { refreshSeconds: number; publishSeconds: number };
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** Scales the per-IP budgets (registration, recovery, codes): raise it where many citizens share one address (carrier NAT). */
  ipRateLimitMultiplier: number;
  /** Days after linking two accounts during which «Отвязать» restores the linked one (src/merge). */
  mergeUndoDays: number;
  logLevel: string;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type ReadFile = (path: string) => string;

export function loadConfig(env: Record<string, string | undefined>, readFile?: ReadFile): Config {
  // Empty strings mean "not set": that is what `FOO= npm start` gives.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const problems = productionProblems(cleaned);
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    problems.unshift(...parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';

  const encryptionKey = e.ENCRYPTION_KEY === undefined ? undefined : Buffer.from(e.ENCRYPTION_KEY, 'base64');
  if (encryptionKey && encryptionKey.length !== 32) problems.push('ENCRYPTION_KEY: must be 32 bytes, base64-encoded (openssl rand -base64 32)');
  if (e.COOKIE_KEYS?.some((k) => k.length < 32)) problems.push('COOKIE_KEYS: each key must be at least 32 characters');

  let signingKeys: Config['signingKeys'];
  if (e.SIGNING_KEYS && e.SIGNING_KEYS_FILE) problems.push('SIGNING_KEYS and SIGNING_KEYS_FILE: set only one of them');
  // SIGNING_KEYS=database: keys generated into the database (sealed with ENCRYPTION_KEY) and rotated with the CLI.
  const keysInDatabase = e.SIGNING_KEYS === 'database';
  const signingKeysText = keysInDatabase ? undefined : e.SIGNING_KEYS ?? (e.SIGNING_KEYS_FILE && readFile ? safeRead(readFile, e.SIGNING_KEYS_FILE, problems) : undefined);
  if (signingKeysText !== undefined) {
    try {
      const jwks = jwksSchema.safeParse(JSON.parse(signingKeysText));
      if (jwks.success) signingKeys = jwks.data.keys;
      else problems.push(`SIGNING_KEYS: must be a JWKS of private keys (${jwks.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
    } catch {
      problems.push('SIGNING_KEYS: is not valid JSON');
    }
  }

  // Each worker is a process of its own, and the embedded PGlite lives inside the one process that opened it.
  if (e.IDP_WORKERS > 1 && !e.DATABASE_URL) problems.push('IDP_WORKERS > 1 needs DATABASE_URL (PostgreSQL): the embedded database serves one process');
  const demo = e.DEMO === undefined ? !production && e.NODE_ENV !== 'test' : e.DEMO === '1';
  if (problems.length) throw new ConfigError(problems);

  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  return {
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    issuer,
    database: e.DATABASE_URL ? { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE } : { embedded: true, dataDir: e.DATA_DIR },
    demo,
    workers: e.IDP_WORKERS,
    mosru: { port: e.MOSRU_PORT, url: (e.MOSRU_URL ?? `http://localhost:${e.MOSRU_PORT}`).replace(/\/$/, '') },
    cookieKeys: e.COOKIE_KEYS,
    encryptionKey,
    signingKeys,
    argon2: { memoryKib: e.ARGON2_MEMORY_KIB, timeCost: e.ARGON2_TIME_COST, parallelism: e.ARGON2_PARALLELISM },
    ttl: {
      accessToken: e.ACCESS_TOKEN_TTL,
      idToken: e.ID_TOKEN_TTL,
      authorizationCode: e.AUTHORIZATION_CODE_TTL,
      refreshToken: e.REFRESH_TOKEN_TTL,
      session: e.SESSION_TTL,
      interaction: e.INTERACTION_TTL,
      grant: e.GRANT_TTL,
      // Sliding idle limit, never longer than the absolute lifetime counted from sign-in.
      sessionIdle: Math.min(e.SESSION_IDLE_TTL, e.SESSION_TTL),
    },
    migrateOnStart: e.MIGRATE_ON_START,
    trustProxy: e.TRUST_PROXY,
    pruneIntervalSeconds: e.PRUNE_INTERVAL_SECONDS,
    loginHistoryDays: e.LOGIN_HISTORY_DAYS,
    refreshReuseWindowSeconds: e.REFRESH_REUSE_WINDOW_SECONDS,
    privateNetworkHosts: e.PRIVATE_NETWORK_HOSTS ?? (production ? [] : ['localhost', '127.0.0.1', '[::1]']),
    notifications: {
      smtpUrl: e.SMTP_URL,
      smtpFrom: e.SMTP_FROM,
      smsGatewayUrl: e.SMS_GATEWAY_URL,
      smsGatewayToken: e.SMS_GATEWAY_TOKEN,
      pollMs: e.OUTBOX_POLL_MS,
      devOutbox: !production,
    },
    runWorkers: e.RUN_WORKERS,
    registry: { latencyMs: e.REGISTRY_LATENCY_MS, failureRate: e.REGISTRY_FAILURE_RATE, pollMs: e.REGISTRY_POLL_MS },
    keys: { refreshSeconds: e.KEYS_REFRESH_SECONDS, publishSeconds: e.KEY_PUBLISH_SECONDS },
    metricsToken: e.METRICS_TOKEN,
    ipRateLimitMultiplier: e.IP_RATE_LIMIT_MULTIPLIER,
    mergeUndoDays: e.MERGE_UNDO_DAYS,
    logLevel: e.LOG_LEVEL,
  };
}

/** What production refuses to start without; checked on the raw environment so it is reported with any other problem. */
function productionProblems(env: Record<string, string | undefined>): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const problems: string[] = [];
  if (!env.ISSUER) problems.push('ISSUER: required in production (the public https URL of this IdP)');
  else if (!env.ISSUER.startsWith('https://')) problems.push('ISSUER: must be https in production');
  if (!env.DATABASE_URL) problems.push('DATABASE_URL: required in production (the embedded database is for development)');
  if (!env.COOKIE_KEYS) problems.push('COOKIE_KEYS: required in production (comma-separated, each at least 32 random characters)');
  if (!env.SIGNING_KEYS && !env.SIGNING_KEYS_FILE) problems.push('SIGNING_KEYS or SIGNING_KEYS_FILE: required in production (a JWKS with private keys, or SIGNING_KEYS=database for rotatable keys kept in the database)');
  if (!env.ENCRYPTION_KEY) problems.push('ENCRYPTION_KEY: required in production (32 random bytes, base64)');
  if (env.DEMO === '1') problems.push('DEMO: demo data cannot be enabled in production');
  if (!env.SMTP_URL && !env.SMS_GATEWAY_URL) problems.push('SMTP_URL or SMS_GATEWAY_URL: required in production (codes must reach citizens; the development outbox is off)');
  if (env.SMS_GATEWAY_URL && !env.SMS_GATEWAY_TOKEN) problems.push('SMS_GATEWAY_TOKEN: required with SMS_GATEWAY_URL');
  return problems;
}

function safeRead(readFile: ReadFile, path: string, problems: string[]): string | undefined {
  try {
    return readFile(path);
  } catch {
    problems.push(`SIGNING_KEYS_FILE: cannot read ${path}`);
    return undefined;
  }
}
