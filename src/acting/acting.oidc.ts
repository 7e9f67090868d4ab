import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { listMemberships } from '../organisations/memberships.ts';
import { accessTokenActingClaims, choiceFromTokenClaims, identityActingClaims, membershipsClaim } from './acting.claims.ts';
import { resolveChoice, resolveStoredContext, type ActingContext, type ActingFrame } from './acting.service.ts';
import type { ChoiceKey, StoredChoice } from './acting.repository.ts';

/** The fields of oidc-provider's tokens (code, refresh, access) the acting context is found by. */
export interface TokenLike {
  kind?: string;
  accountId?: string;
  clientId?: string;
  sessionUid?: string;
  extra?: Record<string, unknown>;
}

const PERSON: ActingContext = { kind: 'person' };

/** A stored choice read by the caller (see storedContext); `choice` undefined: none stored. */
export interface PrefetchedChoice {
  choice: StoredChoice | undefined;
}

/**
 * The acting context seen from oidc-provider's hooks (findAccount, extraTokenClaims, the
 * introspection policy). Where it is read from:
 * - an access token in use (userinfo, introspection): the claims it was issued with, re-checked live;
 * - a code or refresh token, and an access token being issued: the choice stored for the token's
 *   session and client, re-checked live.
 * Undefined always means "no longer valid": oidc-provider then refuses the code or refresh token
 * (invalid_grant) or the access token (invalid_token), and introspection answers inactive.
 */
export function createActingHooks(db: Db, clock: Clock) {
  // findAccount and extraTokenClaims both run in one token request: look the choice up once.
  const perRequest = new WeakMap<object, Map<string, Promise<ActingContext | undefined>>>();
  const once = (ctx: object | undefined, key: string, work: () => Promise<ActingContext | undefined>) => {
    if (!ctx) return work();
    const cache = perRequest.get(ctx) ?? new Map<string, Promise<ActingContext | undefined>>();
    perRequest.set(ctx, cache);
    if (!cache.has(key)) cache.set(key, work());
    return cache.get(key)!;
  };

  function frameOf(citizenOid: string, clientId: string): ActingFrame {
    return { citizenOid, clientId, now: clock.now() };
  }

  /**
   * `prefetched`: the stored choice row, already read by the caller in its own statement (findAccount
   * reads it joined to the citizen row, saving a round trip per code exchange and refresh); `choice`
   * undefined means no row, exactly as findChoice would have answered.
   */
  function storedContext(ctx: object | undefined, citizenOid: string, token: TokenLike, prefetched?: PrefetchedChoice): Promise<ActingContext | undefined> {
    if (!token.clientId || !token.sessionUid) return Promise.resolve(PERSON);
    const { clientId, sessionUid } = token;
    return once(ctx, `${sessionUid} ${clientId} ${citizenOid}`, () => {
      if (!prefetched) return resolveStoredContext(db, frameOf(citizenOid, clientId), sessionUid);
      return prefetched.choice ? resolveChoice(db, frameOf(citizenOid, clientId), prefetched.choice) : Promise.resolve(PERSON);
    });
  }

  /** The context of a token being used or redeemed; without a token (account lookups at /auth), the person. */
  function contextOfToken(ctx: object | undefined, citizenOid: string, token: TokenLike | undefined, prefetched?: PrefetchedChoice): Promise<ActingContext | undefined> {
    if (!token) return Promise.resolve(PERSON);
    if (token.kind === 'AccessToken') {
      if (!token.clientId) return Promise.resolve(PERSON);
      return resolveChoice(db, frameOf(citizenOid, token.clientId), choiceFromTokenClaims(token.extra));
    }
    return storedContext(ctx, citizenOid, token, prefetched);
  }

  return {
    contextOfToken,

    /** The key of the stored choice a token's context is read from (codes and refresh tokens), if any. */
    storedChoiceKey(token: TokenLike | undefined): ChoiceKey | undefined {
      if (!token || token.kind === 'AccessToken' || !token.clientId || !token.sessionUid) return undefined;
      return { sessionUid: token.sessionUid, clientId: token.clientId };
    },

    /** For findAccount: the acting claims of the ID token / userinfo, or undefined when the context lapsed. */
    async identityClaimsFor(ctx: object | undefined, citizenOid: string, token: TokenLike | undefined, prefetched?: PrefetchedChoice) {
      const context = await contextOfToken(ctx, citizenOid, token, prefetched);
      if (!context) return undefined;
      return async (grantedScopes: Set<string>, withMemberships: boolean): Promise<Record<string, unknown>> => {
        const claims = identityActingClaims(context, grantedScopes);
        if (withMemberships) claims['urn:esia:usr_org'] = membershipsClaim(await listMemberships(db, citizenOid));
        return claims;
      };
    },

    /**
     * extraTokenClaims for an access token being issued: the context stored for its session and
     * client. findAccount has checked the same context in this request (the lookup is shared) and
     * refused a lapsed one; a lapsed context is never silently issued as a private person's token.
     */
    async accessTokenClaims(ctx: KoaContextWithOIDC | undefined, token: TokenLike): Promise<Record<string, unknown>> {
      if (!token.accountId) return {};
      const context = await storedContext(ctx, token.accountId, token);
      if (!context) throw new errors.InvalidGrant('the role chosen at sign-in is no longer valid');
      return accessTokenActingClaims(context, token.accountId);
    },

    /** Introspection's allowedPolicy: false once the token's organisation membership or power is gone. */
    async stillValid(token: TokenLike): Promise<boolean> {
      if (!token.accountId) return true;
      return (await contextOfToken(undefined, token.accountId, token)) !== undefined;
    },
  };
}

export type ActingHooks = ReturnType<typeof createActingHooks>;
