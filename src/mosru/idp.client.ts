import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { Logger } from '../shared/logger.ts';

/** The IdP could not be reached for its discovery document; the page says "try again later". */
export class IdpUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the identity provider is unavailable', { cause });
    this.name = 'IdpUnavailableError';
  }
}

export class InvalidLogoutTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidLogoutTokenError';
  }
}

export interface IdpClient {
  /** The openid-client Configuration, discovered on first use; a failed discovery is tried again next time. */
  configuration(): Promise<client.Configuration>;
  /** Verifies a back-channel logout token and returns who is to be signed out. */
  verifyLogoutToken(token: string): Promise<{ sub?: string; sid?: string; jti: string }>;
}

const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const DISCOVERY_ATTEMPTS = 3;
const DISCOVERY_DELAYS_MS = [250, 1000];
// Asymmetric only: the logout token must come from the IdP's published keys, never an HMAC over our secret.
const ASYMMETRIC_ALGS = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;

/**
 * Everything Mos.ru knows about the IdP it learns over HTTP: the discovery document, then the
 * endpoints and the JWKS it names. Discovery is lazy because in the demo the IdP and Mos.ru start
 * together, and is retried because the IdP may come up a moment later.
 */
export function createIdpClient(options: { issuer: string; clientId: string; clientSecret: string; logger: Logger }): IdpClient {
  const issuer = new URL(options.issuer);
  const insecure = issuer.protocol === 'http:';
  let pending: Promise<client.Configuration> | undefined;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  // Logout tokens live two minutes at our IdP; remembering their ids a little longer stops replays.
  const seenLogoutTokens = new Map<string, number>();

  async function discover(): Promise<client.Configuration> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= DISCOVERY_ATTEMPTS; attempt += 1) {
      try {
        const config = await client.discovery(issuer, options.clientId, undefined, client.ClientSecretBasic(options.clientSecret), {
          timeout: 10,
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
        });
        options.logger.info({ issuer: options.issuer }, 'IdP discovered');
        return config;
      } catch (error) {
        lastError = error;
        options.logger.warn({ issuer: options.issuer, attempt, error: describeError(error) }, 'IdP discovery failed');
        if (attempt < DISCOVERY_ATTEMPTS) await sleep(DISCOVERY_DELAYS_MS[attempt - 1] ?? 1000);
      }
    }
    throw new IdpUnavailableError(lastError);
  }

  function configuration(): Promise<client.Configuration> {
    if (!pending) {
      pending = discover();
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  }

  return {
    configuration,

    async verifyLogoutToken(token) {
      const config = await configuration();
      const metadata = config.serverMetadata();
      if (!metadata.jwks_uri) throw new Error('the IdP publishes no jwks_uri');
      jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri));
      const algorithms = (metadata.id_token_signing_alg_values_supported ?? ['RS256']).filter((alg) => ASYMMETRIC_ALGS.test(alg));

      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: metadata.issuer,
          audience: options.clientId,
          algorithms,
          typ: 'logout+jwt',
          requiredClaims: ['iat', 'jti'],
          clockTolerance: 30,
        }));
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) throw new InvalidLogoutTokenError(`${error.code}: ${error.message}`);
        throw error;
      }

      const events = payload.events;
      if (!events || typeof events !== 'object' || Array.isArray(events) || !(BACKCHANNEL_LOGOUT_EVENT in events)) {
        throw new InvalidLogoutTokenError('events claim without the back-channel logout event');
      }
      if ('nonce' in payload) throw new InvalidLogoutTokenError('a logout token carries no nonce');
      const sub = typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
      const sid = typeof payload.sid === 'string' && payload.sid ? payload.sid : undefined;
      if (!sub && !sid) throw new InvalidLogoutTokenError('neither sub nor sid');
      const jti = String(payload.jti);

      const now = Date.now();
      for (const [id, until] of seenLogoutTokens) if (until <= now) seenLogoutTokens.delete(id);
      if (seenLogoutTokens.has(jti)) throw new InvalidLogoutTokenError('logout token replayed');
      const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : now + 10 * 60_000;
      seenLogoutTokens.set(jti, expiresAt + 60_000);

      return { sub, sid, jti };
    },
  };
}

/**
 * What may be logged of an error from openid-client or jose: its kind and message. Never the whole
 * object: an AuthorizationResponseError's `cause` holds the callback parameters (the code among them).
 * Logged under `error`, not `err`, so pino's error serializer does not rebuild it; the field names
 * avoid the logger's redacted paths (`*.code`).
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = error as unknown as Record<string, unknown>;
  const described: Record<string, unknown> = { type: error.name, message: error.message };
  if (typeof fields.code === 'string') described.errorCode = fields.code;
  if (typeof fields.error === 'string') described.oauthError = fields.error;
  if (typeof fields.error_description === 'string') described.oauthErrorDescription = fields.error_description;
  if (typeof fields.status === 'number') described.status = fields.status;
  if (error.stack) described.stack = error.stack;
  // Network failures hide the real reason (ECONNREFUSED…) one level down.
  if (error.cause instanceof Error && !(error instanceof client.AuthorizationResponseError)) {
    const cause = error.cause as Error & { code?: unknown };
    described.cause = { type: cause.name, message: cause.message, ...(typeof cause.code === 'string' ? { errorCode: cause.code } : {}) };
  }
  return described;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
