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

/** Algorithms we generate a development key for; the first one is the default signer (RS256). */
export const DEV_KEY_ALGORITHMS = ['RS256', 'ES256', 'PS256'] as const;

// Serialises first-start key generation when several instances start at once on one database.
const KEYGEN_LOCK = 7_300_001;

/**
 * Production takes every secret from configuration (validated at load). Outside production, the
 * ones not configured are generated on first start and kept in the database, so sessions and keys
 * survive restarts and are shared by every instance on the same database.
 */
export async function resolveInstanceSecrets(db: Db, config: Config): Promise<InstanceSecrets> {
  if (config.production) {
    return {
      cookieKeys: config.cookieKeys!,
      secretBox: createSecretBox(config.encryptionKey!),
      signingKeys: config.signingKeys as JWK[],
      codeHashKey: deriveCodeHashKey(config.encryptionKey!),
    };
  }
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${KEYGEN_LOCK})`.execute(trx);
    const cookieKeys = config.cookieKeys ?? (await devSecret(trx, 'cookie_key', () => randomBytes(32).toString('base64url'))).split(',');
    const encryptionKey = config.encryptionKey ?? Buffer.from(await devSecret(trx, 'encryption_key', () => randomBytes(32).toString('base64')), 'base64');
    const secretBox = createSecretBox(encryptionKey);
    const signingKeys = (config.signingKeys as JWK[] | undefined) ?? (await devSigningKeys(trx, secretBox));
    return { cookieKeys, secretBox, signingKeys, codeHashKey: deriveCodeHashKey(encryptionKey) };
  });
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

async function devSigningKeys(trx: DbOrTrx, secretBox: SecretBox): Promise<JWK[]> {
  const rows = await trx.selectFrom('signing_keys').select(['alg', 'private_jwk_sealed']).orderBy('created_at').execute();
  const keys = rows.map((r) => JSON.parse(secretBox.open(r.private_jwk_sealed)) as JWK);
  // Generate a key for each algorithm that has none yet (new algorithms appear over time).
  for (const alg of DEV_KEY_ALGORITHMS.filter((a) => !keys.some((k) => k.alg === a))) {
    const jwk = await generateSigningKey(alg);
    await trx.insertInto('signing_keys').values({ kid: jwk.kid!, alg, private_jwk_sealed: secretBox.seal(JSON.stringify(jwk)) }).execute();
    keys.push(jwk);
  }
  return sortByDefaultAlg(keys);
}

export async function generateSigningKey(alg: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

// oidc-provider signs with the first key that fits the algorithm; RS256 first makes it the default.
function sortByDefaultAlg(keys: JWK[]): JWK[] {
  return [...keys].sort((a, b) => DEV_KEY_ALGORITHMS.indexOf(a.alg as never) - DEV_KEY_ALGORITHMS.indexOf(b.alg as never));
}

/** The public half of each key, as published in the JWKS. */
export function publicJwk(jwk: JWK): JWK {
  const { d, p, q, dp, dq, qi, ...rest } = jwk;
  return rest;
}
