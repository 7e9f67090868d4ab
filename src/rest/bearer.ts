import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { AppError } from '../shared/app-error.ts';
import { personApiResource } from '../oidc/resource-server.ts';
import { signedInOidOfJwt, type ActingVerifier } from '../acting/acting.bearer.ts';

/** Who a bearer token speaks for, and what it may read. */
export interface BearerPrincipal {
  oid: string;
  clientId: string;
  /** Data scopes, without ESIA's `?oid=` suffixes. */
  scopes: Set<string>;
  format: 'opaque' | 'jwt';
  /**
   * Set when the citizen signed in on behalf of someone (src/acting): as an employee of an
   * organisation, or as a representative under a power of attorney. `oid` is then the subject the
   * token names (the principal for a representative), `actorOid` the person who signed in.
   */
  acting?: ActingAs;
}

export type ActingAs =
  | { kind: 'organisation'; organisationOid: string; roles: string[] }
  | { kind: 'representative'; powerId: string; actorOid: string; principalKind: 'citizen' | 'organisation'; rights: string[] };

/**
 * Accepts both kinds of access token this IdP issues: opaque ones (looked up, so revocation is
 * immediate) and RFC 9068 JWTs for the person API (signature, issuer, audience, type and expiry
 * checked locally; then the grant they came from must still exist, so revoking consent ends them
 * at once too). Anything else is 401 with a WWW-Authenticate header.
 */
export function createBearerAuthenticator(provider: Provider, issuer: string, publicJwks: JSONWebKeySet, verifyActing: ActingVerifier) {
  const keys = createLocalJWKSet(publicJwks);
  const audience = personApiResource(issuer);

  return async function authenticate(ctx: Context): Promise<BearerPrincipal> {
    const header = ctx.get('authorization');
    const match = /^Bearer ([\w\-.~+/]+=*)$/i.exec(header);
    if (!match) throw unauthorized(ctx, 'rest.token_missing', header ? 'invalid_request' : undefined);
    const value = match[1];

    if (value.split('.').length === 3) {
      let payload;
      try {
        ({ payload } = await jwtVerify(value, keys, { issuer, audience, typ: 'at+jwt' }));
      } catch {
        throw unauthorized(ctx, 'rest.token_invalid', 'invalid_token');
      }
      const grantId = payload['urn:esia:grant_id'];
      const grant = typeof grantId === 'string' ? await provider.Grant.find(grantId) : undefined;
      const signedIn = signedInOidOfJwt(payload);
      if (!grant || !signedIn || grant.accountId !== signedIn || typeof payload.client_id !== 'string') throw unauthorized(ctx, 'rest.token_revoked', 'invalid_token');
      // The organisation or power it was issued for must still hold (src/acting): checked live.
      const subject = await verifyActing({ signedInOid: signedIn, clientId: payload.client_id, claims: payload });
      if (!subject) throw unauthorized(ctx, 'rest.token_revoked', 'invalid_token');
      return { ...subject, clientId: payload.client_id, scopes: parseScopes(payload.scope), format: 'jwt' };
    }

    const token = await provider.AccessToken.find(value);
    if (!token || token.isExpired || !token.accountId) throw unauthorized(ctx, 'rest.token_invalid', 'invalid_token');
    if (token.grantId && !(await provider.Grant.find(token.grantId))) throw unauthorized(ctx, 'rest.token_revoked', 'invalid_token');
    const subject = await verifyActing({ signedInOid: token.accountId, clientId: token.clientId!, claims: token.extra as Record<string, unknown> | undefined });
    if (!subject) throw unauthorized(ctx, 'rest.token_revoked', 'invalid_token');
    return { ...subject, clientId: token.clientId!, scopes: parseScopes(token.scope), format: 'opaque' };
  };
}

export type BearerAuthenticator = ReturnType<typeof createBearerAuthenticator>;

/** "fullname?oid=1000000001 openid" → {fullname, openid}. */
export function parseScopes(scope: unknown): Set<string> {
  return new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean).map((s) => s.split('?')[0]) : []);
}

function unauthorized(ctx: Context, code: string, oauthError?: string): AppError {
  ctx.set('WWW-Authenticate', `Bearer realm="esia-rs"${oauthError ? `, error="${oauthError}"` : ''}`);
  return new AppError(code, 401, oauthError === 'invalid_token' ? 'the access token is invalid, expired or revoked' : 'a bearer access token is required');
}
