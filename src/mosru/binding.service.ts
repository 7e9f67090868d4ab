import type { Kysely } from 'kysely';
import * as client from 'openid-client';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { findAccount } from './accounts.repository.ts';
import {
  claimRefresh,
  deleteBindingAndProfile,
  findBinding,
  findBindingByOid,
  markDisconnected,
  releaseRefresh,
  storeRotatedToken,
  upsertBinding,
  upsertSyncedProfile,
} from './bindings.repository.ts';
import { describeError, type IdpClient } from './idp.client.ts';
import type { MosruDatabase } from './mosru.tables.ts';
import { fetchPerson, PersonApiError } from './person-api.ts';
import { differingFields, type MatchField } from './profile-match.ts';
import { meetsLevel, type TrustLevel } from './trust-level.ts';

/**
 * Binding a Mos.ru account to a Госуслуги account, and keeping the binding honest afterwards.
 * Calls to the IdP happen outside transactions: in the demo the IdP shares the database server,
 * and an embedded one runs a single transaction at a time.
 */
export interface BindingDeps {
  db: Kysely<MosruDatabase>;
  clock: Clock;
  idp: IdpClient;
  sealer: SecretBox;
  minTrustLevel: TrustLevel;
}

export type BindRefusal =
  | { reason: 'mismatch'; fields: MatchField[] }
  | { reason: 'oid_taken' }
  | { reason: 'already_connected' }
  | { reason: 'level_too_low'; acr: string | undefined };

export type BindOutcome = { ok: true; boundAt: Date } | ({ ok: false } & BindRefusal);

/** Stored in `bindings.disconnected_reason`; the pages turn it into words. */
export const REVOKED_AT_IDP = 'revoked_at_idp';
export const TOKEN_UNREADABLE = 'token_unreadable';

const REFRESH_LEASE_MS = 30_000;

/**
 * The citizen came back from the IdP with tokens for the account being bound: read their data,
 * check it is the same person and the OID is free, then store the binding and the data together.
 * A refusal stores nothing and revokes the tokens just received.
 */
export async function completeBinding(
  deps: BindingDeps,
  log: Logger,
  input: { accountId: string; tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers },
): Promise<BindOutcome> {
  const { db, clock } = deps;
  const config = await deps.idp.configuration();
  const claims = input.tokens.claims()!;
  const oid = claims.sub;
  const refusal = await (async (): Promise<BindRefusal | { person: Awaited<ReturnType<typeof fetchPerson>> }> => {
    // The IdP enforces acr_values; checking the ID token as well costs nothing.
    const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
    if (!meetsLevel(acr, deps.minTrustLevel)) return { reason: 'level_too_low', acr };
    const [account, bindingOfOid, ownBinding] = await Promise.all([findAccount(db, input.accountId), findBindingByOid(db, oid), findBinding(db, input.accountId)]);
    if (!account) throw new Error('the account being bound no longer exists');
    if (bindingOfOid && bindingOfOid.account_id !== input.accountId) return { reason: 'oid_taken' };
    if (ownBinding?.status === 'connected' && ownBinding.oid !== oid) return { reason: 'already_connected' };
    const person = await fetchPerson(config, input.tokens.access_token, oid);
    const fields = differingFields(
      { lastName: account.last_name, firstName: account.first_name, middleName: account.middle_name, birthDate: account.birth_date, snils: account.snils },
      person,
    );
    return fields.length > 0 ? { reason: 'mismatch', fields } : { person };
  })().catch(async (error: unknown) => {
    // Whatever went wrong (the person API refused, the database failed), no grant is left behind.
    await revokeTokens(config, log, input.tokens);
    throw error;
  });

  if ('reason' in refusal) {
    log.info({ oid, reason: refusal.reason, ...(refusal.reason === 'mismatch' ? { fields: refusal.fields } : {}) }, 'binding refused');
    await revokeTokens(config, log, input.tokens);
    return { ok: false, ...refusal };
  }

  const now = clock.now();
  try {
    await db.transaction().execute(async (trx) => {
      await upsertBinding(trx, {
        accountId: input.accountId,
        oid,
        scopes: input.tokens.scope ?? '',
        refreshTokenSealed: input.tokens.refresh_token ? deps.sealer.seal(input.tokens.refresh_token) : null,
        now,
      });
      await upsertSyncedProfile(trx, input.accountId, refusal.person, now);
    });
  } catch (error) {
    // Another account bound this OID between our check and our insert.
    if (!isUniqueViolation(error)) throw error;
    log.info({ oid, reason: 'oid_taken' }, 'binding refused');
    await revokeTokens(config, log, input.tokens);
    return { ok: false, reason: 'oid_taken' };
  }
  log.info({ oid, accountId: input.accountId }, 'account bound');
  return { ok: true, boundAt: now };
}

/**
 * «Отключить»: revoke at the IdP (the refresh token takes its whole grant with it), then forget
 * the binding and the data copied through it. Returns false when the IdP could not be told; the
 * binding is removed here all the same and the citizen is told to revoke access at Госуслуги.
 */
export async function disconnectBinding(deps: BindingDeps, log: Logger, accountId: string): Promise<{ existed: boolean; revokedAtIdp: boolean }> {
  const binding = await findBinding(deps.db, accountId);
  if (!binding) return { existed: false, revokedAtIdp: true };
  let revokedAtIdp = true;
  const refreshToken = binding.refresh_token_sealed ? openSealed(deps.sealer, binding.refresh_token_sealed) : undefined;
  if (refreshToken) {
    try {
      await client.tokenRevocation(await deps.idp.configuration(), refreshToken, { token_type_hint: 'refresh_token' });
    } catch (error) {
      revokedAtIdp = false;
      log.warn({ error: describeError(error) }, 'refresh token revocation failed');
    }
  }
  await deps.db.transaction().execute((trx) => deleteBindingAndProfile(trx, accountId));
  log.info({ oid: binding.oid, accountId, revokedAtIdp }, 'binding removed');
  return { existed: true, revokedAtIdp };
}

/**
 * Called when the citizen opens a page that uses the binding: refresh the tokens and re-read the
 * data. `invalid_grant` means the citizen (or the IdP) withdrew the consent: the binding becomes
 * disconnected and the copied data is deleted. Any other failure keeps the data as it was and says
 * it could not be updated.
 */
export async function refreshBinding(deps: BindingDeps, log: Logger, accountId: string): Promise<{ stale: boolean }> {
  const { db, clock } = deps;
  const sealed = await claimRefresh(db, accountId, clock.now(), REFRESH_LEASE_MS);
  if (!sealed) return { stale: false };
  const refreshToken = openSealed(deps.sealer, sealed);
  if (!refreshToken) {
    await db.transaction().execute((trx) => markDisconnected(trx, accountId, TOKEN_UNREADABLE, clock.now()));
    log.warn({ accountId }, 'stored refresh token cannot be opened; binding disconnected');
    return { stale: false };
  }

  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  let config: client.Configuration;
  try {
    config = await deps.idp.configuration();
    tokens = await client.refreshTokenGrant(config, refreshToken);
  } catch (error) {
    if (error instanceof client.ResponseBodyError && error.error === 'invalid_grant') {
      await db.transaction().execute((trx) => markDisconnected(trx, accountId, REVOKED_AT_IDP, clock.now()));
      log.info({ accountId }, 'binding revoked at the IdP');
      return { stale: false };
    }
    await releaseRefresh(db, accountId);
    log.warn({ error: describeError(error) }, 'token refresh failed');
    return { stale: true };
  }

  const binding = await findBinding(db, accountId);
  await storeRotatedToken(db, accountId, tokens.refresh_token ? deps.sealer.seal(tokens.refresh_token) : sealed, clock.now());
  if (!binding) return { stale: false };
  try {
    const person = await fetchPerson(config, tokens.access_token, binding.oid);
    await upsertSyncedProfile(db, accountId, person, clock.now());
    return { stale: false };
  } catch (error) {
    log.warn({ error: describeError(error), status: error instanceof PersonApiError ? error.status : undefined }, 'person data refresh failed');
    return { stale: true };
  }
}

/** The refresh token first (with it goes the grant and every token of it), then the access token. */
export async function revokeTokens(config: client.Configuration, log: Logger, tokens: client.TokenEndpointResponse): Promise<void> {
  const pending: Array<[string, string]> = [];
  if (tokens.refresh_token) pending.push([tokens.refresh_token, 'refresh_token']);
  pending.push([tokens.access_token, 'access_token']);
  for (const [token, hint] of pending) {
    await client.tokenRevocation(config, token, { token_type_hint: hint }).catch((error: unknown) => {
      log.warn({ error: describeError(error), hint }, 'token revocation failed');
    });
  }
}

function openSealed(sealer: SecretBox, sealed: string): string | undefined {
  try {
    return sealer.open(sealed);
  } catch {
    return undefined;
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
