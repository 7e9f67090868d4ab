import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { SCOPE_CLAIMS } from './claims.ts';

/**
 * The ESIA person API (/rs/…) as an OAuth resource server (RFC 8707). Access tokens for it are
 * RFC 9068 JWTs (`typ: at+jwt`) with ESIA's claims and header parameters; RPs get them by asking
 * for `resource=<issuer>/rs`, or by default when registered with the `esia` token profile.
 * Tokens without a resource stay opaque: those are the ones the userinfo endpoint accepts
 * (oidc-provider refuses audience-bound tokens there, as RFC 9068 intends).
 */
export function personApiResource(issuer: string): string {
  return `${issuer}/rs`;
}

/** Scopes the person API understands: the data scopes (not openid or offline_access). */
export const PERSON_API_SCOPES = Object.keys(SCOPE_CLAIMS).filter((scope) => scope !== 'openid');

export const TOKEN_PROFILES = ['oidc', 'esia'] as const;
export type TokenProfile = (typeof TOKEN_PROFILES)[number];

export function tokenProfileOf(client: { metadata(): Record<string, unknown> } | undefined): TokenProfile {
  return client?.metadata().token_profile === 'esia' ? 'esia' : 'oidc';
}

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

export function resourceIndicatorsFeature(issuer: string, accessTokenTtl: number): ResourceIndicators {
  const resource = personApiResource(issuer);
  return {
    enabled: true,
    defaultResource: async (ctx: KoaContextWithOIDC) => (tokenProfileOf(ctx.oidc.client) === 'esia' ? resource : undefined),
    useGrantedResource: async () => true,
    getResourceServerInfo: async (ctx, indicator) => {
      if (indicator !== resource) throw new errors.InvalidTarget();
      return {
        scope: PERSON_API_SCOPES.join(' '),
        audience: resource,
        accessTokenTTL: accessTokenTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: (ctx.oidc.client?.idTokenSignedResponseAlg ?? 'RS256') as 'RS256' } },
      };
    },
  };
}

/** ESIA's header parameters and, for `esia`-profile clients, ESIA's way of writing `scope`. */
export const jwtAccessTokenCustomizer: NonNullable<NonNullable<Configuration['formats']>['customizers']>['jwt'] = async (ctx, token, jwt) => {
  jwt.header = { sbt: 'access', ver: 1 };
  const client = ctx.oidc.client;
  // A representative's token names the principal (src/acting: `sub` in its extra claims, the
  // representative in `act`); oidc-provider writes the session's account, so it is put right here.
  const representing = actingSubject(token);
  if (representing) jwt.payload.sub = representing;
  const subject = representing ?? (token as { accountId?: string }).accountId;
  const organisationOid = (jwt.payload['urn:esia:org'] as { oid?: number } | undefined)?.oid;
  if (tokenProfileOf(client) === 'esia' && typeof jwt.payload.scope === 'string' && subject) {
    // ESIA binds each data scope to the subject ("fullname?oid=1000000001 openid"), organisation
    // scopes to the organisation ("org_fullname?org_oid=2000000001").
    jwt.payload.scope = jwt.payload.scope
      .split(' ')
      .map((scope: string) => {
        if (scope === 'openid' || scope === 'offline_access') return scope;
        if (scope.startsWith('org_')) return organisationOid === undefined ? scope : `${scope}?org_oid=${organisationOid}`;
        return `${scope}?oid=${subject}`;
      })
      .join(' ');
  }
};

function actingSubject(token: unknown): string | undefined {
  const extra = (token as { extra?: { sub?: unknown; act?: unknown } }).extra;
  return extra?.act && typeof extra.sub === 'string' ? extra.sub : undefined;
}

/** Claims every access token carries (JWT payload; for opaque tokens, what introspection shows). */
export async function esiaAccessTokenClaims(ctx: KoaContextWithOIDC, token: { accountId?: string; sid?: string; sessionUid?: string; grantId?: string }) {
  if (!token.accountId) return undefined; // client_credentials tokens have no subject
  const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as { acr?: string } | undefined;
  return {
    'urn:esia:sbj_id': Number(token.accountId),
    // Lets the person API refuse a JWT at once when its grant (the consent) is revoked.
    ...(token.grantId ? { 'urn:esia:grant_id': token.grantId } : {}),
    ...(token.sid ?? token.sessionUid ? { 'urn:esia:sid': token.sid ?? token.sessionUid } : {}),
    ...(source?.acr ? { acr: source.acr } : {}),
  };
}
