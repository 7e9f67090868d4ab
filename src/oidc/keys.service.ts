import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { generateSigningKey, insertSigningKey, SIGNING_ALGORITHMS } from './keys.ts';

/**
 * Signing-key rotation, in three steps an operator runs from the CLI (every instance picks the
 * change up within KEYS_REFRESH_SECONDS):
 *   1. stage:    a new key is published in the JWKS but does not sign yet, so RPs that cache the
 *                JWKS learn it before any token carries it;
 *   2. activate: after it has been published for KEY_PUBLISH_SECONDS it becomes the signer; the old
 *                key is retired but stays published, so tokens it signed keep verifying;
 *   3. prune:    retired keys are removed once the longest signed-token lifetime has passed.
 */
export interface SigningKeyInfo {
  kid: string;
  alg: string;
  status: 'next' | 'current' | 'retired';
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

export async function listSigningKeys(db: Db): Promise<SigningKeyInfo[]> {
  const rows = await db.selectFrom('signing_keys').select(['kid', 'alg', 'status', 'created_at', 'activated_at', 'retired_at']).orderBy('created_at').execute();
  return rows.map((r) => ({ kid: r.kid, alg: r.alg, status: r.status, createdAt: r.created_at, activatedAt: r.activated_at, retiredAt: r.retired_at }));
}

function assertAlgorithm(alg: string): void {
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) throw new AppError('keys.unknown_alg', 400, `algorithm must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
}

export async function stageSigningKey(db: Db, secretBox: SecretBox, alg: string, now: Date): Promise<SigningKeyInfo> {
  assertAlgorithm(alg);
  const jwk = await generateSigningKey(alg);
  return db.transaction().execute(async (trx) => {
    const staged = await trx.selectFrom('signing_keys').select('kid').where('alg', '=', alg).where('status', '=', 'next').executeTakeFirst();
    if (staged) throw new AppError('keys.already_staged', 409, `a ${alg} key (${staged.kid}) is already staged; activate it first`);
    await insertSigningKey(trx, secretBox, jwk, 'next', now);
    return { kid: jwk.kid!, alg, status: 'next', createdAt: now, activatedAt: null, retiredAt: null };
  });
}

export async function activateSigningKey(db: Db, alg: string, options: { now: Date; publishSeconds: number; force?: boolean }): Promise<{ activated: string; retired?: string }> {
  assertAlgorithm(alg);
  return db.transaction().execute(async (trx) => {
    const staged = await trx.selectFrom('signing_keys').select(['kid', 'created_at']).where('alg', '=', alg).where('status', '=', 'next').forUpdate().executeTakeFirst();
    if (!staged) throw new AppError('keys.nothing_staged', 409, `no ${alg} key is staged; run keys rotate first`);
    const publishedFor = (options.now.getTime() - staged.created_at.getTime()) / 1000;
    if (!options.force && publishedFor < options.publishSeconds) {
      const wait = Math.ceil(options.publishSeconds - publishedFor);
      throw new AppError('keys.not_published_long_enough', 409, `the staged key has been published for ${Math.floor(publishedFor)} s; wait ${wait} s more (RPs cache the JWKS), or pass --force`);
    }
    const current = await trx.selectFrom('signing_keys').select('kid').where('alg', '=', alg).where('status', '=', 'current').forUpdate().executeTakeFirst();
    if (current) await trx.updateTable('signing_keys').set({ status: 'retired', retired_at: options.now }).where('kid', '=', current.kid).execute();
    await trx.updateTable('signing_keys').set({ status: 'current', activated_at: options.now }).where('kid', '=', staged.kid).execute();
    return { activated: staged.kid, retired: current?.kid };
  });
}

/** Removes retired keys no token they signed can still need; returns their kids. */
export async function pruneRetiredKeys(db: Db, options: { now: Date; longestTokenSeconds: number }): Promise<string[]> {
  const cutoff = new Date(options.now.getTime() - options.longestTokenSeconds * 1000);
  const removed = await db.deleteFrom('signing_keys').where('status', '=', 'retired').where('retired_at', '<', cutoff).returning('kid').execute();
  return removed.map((r) => r.kid);
}
