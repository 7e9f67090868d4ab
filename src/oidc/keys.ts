import { hkdfSync, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Config } from '../config/config.ts';
import type { Db, DbOrTrx } from '../db/database.ts';
import { createSecretBox, type SecretBox } from '../shared/secret-box.ts';

export interface InstanceSecrets {
  cookieKeys: string[];
  secretBox: SecretBox;
  signingKeys: JWK[];
  /** Keys one-time codes' HMACs; derived from the encryption key, so there is nothing more to configure. */
  codeHashKey: Buffer;
}

/** Algorithms with a signing key; RS256 is the default signer. */
export const SIGNING_ALGORITHMS = ['RS256', 'ES256', 'PS256'] as const;

// Serialises first-start generation when several instances start at once on one database.
const KEYGEN_LOCK = 7_300_001;

/**
 * Cookie and encryption keys come from configuration in production; outside production the ones
 * not configured are generated on first start and kept in the database, so sessions survive
 * restarts and are shared by every instance. Signing keys come from SIGNING_KEYS (a JWKS), or
 * live in the database (dev, or SIGNING_KEYS=database in production), sealed with the
 * encryption key and rotated with `npm run cli -- keys …`.
 */
export async function resolveInstanceSecrets(db: Db, config: Config): Promise<InstanceSecrets> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${KEYGEN_LOCK})`.execute(trx);
    const cookieKeys = config.cookieKeys ?? (await devSecret(trx, 'cookie_key', () => randomBytes(32).toString('base64url'))).split(',');
    const encryptionKey = config.encryptionKey ?? Buffer.from(await devSecret(trx, 'encryption_key', () => randomBytes(32).toString('base64')), 'base64');
    const secretBox = createSecretBox(encryptionKey);
    const signingKeys = (config.signingKeys as JWK[] | undefined) ?? (await databaseSigningKeys(trx, secretBox));
    return { cookieKeys, secretBox, signingKeys, codeHashKey: deriveCodeHashKey(encryptionKey) };
  });
}

/** The keys oidc-provider should hold now: from config, or the database's published keys. */
export async function loadSigningKeys(db: Db, config: Config, secretBox: SecretBox): Promise<JWK[]> {
  if (config.signingKeys) return config.signingKeys as JWK[];
  return orderForProvider(await readPublishedKeys(db, secretBox));
}

function deriveCodeHashKey(encryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'esia-idp one-time codes', 32));
}

async function devSecret(trx: DbOrTrx, name: string, generate: () => string): Promise<string> {
  const existing = await trx.selectFrom('instance_secrets').select('value').where('name', '=', name).executeTakeFirst();
  if (existing) return existing.value;
  const value = generate();
  await trx.insertInto('instance_secrets').values({ name, value }).execute();
  return value;
}

interface PublishedKey {
  jwk: JWK;
  status: 'next' | 'current' | 'retired';
}

async function readPublishedKeys(db: DbOrTrx, secretBox: SecretBox): Promise<PublishedKey[]> {
  const rows = await db.selectFrom('signing_keys').select(['private_jwk_sealed', 'status']).orderBy('created_at').execute();
  return rows.map((r) => ({ jwk: JSON.parse(secretBox.open(r.private_jwk_sealed)) as JWK, status: r.status }));
}

/** Generates a current key for every algorithm that has none (first start; new algorithms). */
async function databaseSigningKeys(trx: DbOrTrx, secretBox: SecretBox): Promise<JWK[]> {
  const keys = await readPublishedKeys(trx, secretBox);
  for (const alg of SIGNING_ALGORITHMS.filter((a) => !keys.some((k) => k.jwk.alg === a && k.status === 'current'))) {
    const jwk = await generateSigningKey(alg);
    await insertSigningKey(trx, secretBox, jwk, 'current');
    keys.push({ jwk, status: 'current' });
  }
  return orderForProvider(keys);
}

export async function insertSigningKey(db: DbOrTrx, secretBox: SecretBox, jwk: JWK, status: PublishedKey['status'], now = new Date()): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({ kid: jwk.kid!, alg: jwk.alg!, private_jwk_sealed: secretBox.seal(JSON.stringify(jwk)), status, created_at: now, activated_at: status === 'current' ? now : null })
    .execute();
}

export async function generateSigningKey(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

/**
 * oidc-provider signs with the first key of an algorithm and publishes them all: current keys go
 * first (RS256 first of all, the default), then staged (`next`) and retired keys, published only.
 */
function orderForProvider(keys: PublishedKey[]): JWK[] {
  const statusRank = { current: 0, next: 1, retired: 2 } as const;
  const algRank = (k: PublishedKey) => SIGNING_ALGORITHMS.indexOf(k.jwk.alg as never);
  return [...keys].sort((a, b) => statusRank[a.status] - statusRank[b.status] || algRank(a) - algRank(b)).map((k) => k.jwk);
}

/** The public half of each key, as published in the JWKS. */
export function publicJwk(jwk: JWK): JWK {
  const { d, p, q, dp, dq, qi, ...rest } = jwk;
  return rest;
}

/** Identifies a key set, to notice when another instance rotated keys. */
export function keySetFingerprint(keys: JWK[]): string {
  return keys.map((k) => k.kid).join(',');
}
