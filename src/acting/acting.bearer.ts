import type { DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { ActingAs } from '../rest/bearer.ts';
import { choiceFromTokenClaims } from './acting.claims.ts';
import { resolveChoice } from './acting.service.ts';

/** An access token presented to the REST API, reduced to what the acting check needs. */
export interface PresentedToken {
  /** The person who signed in: an opaque token's account; a JWT's `act.sub`, else its `sub`. */
  signedInOid: string;
  clientId: string;
  /** The JWT payload, or the opaque token's extra claims. */
  claims: Record<string, unknown> | undefined;
}

export type ActingVerifier = (token: PresentedToken) => Promise<{ oid: string; acting?: ActingAs } | undefined>;

/**
 * The REST API's live check of a token's acting context: the subject it speaks for and what it
 * acts as, or undefined once the membership ended or the power stopped being usable (the API then
 * answers 401, as for a revoked token).
 */
export function createActingVerifier(db: DbOrTrx, clock: Clock): ActingVerifier {
  return async ({ signedInOid, clientId, claims }) => {
    const context = await resolveChoice(db, { citizenOid: signedInOid, clientId, now: clock.now() }, choiceFromTokenClaims(claims));
    if (!context) return undefined;
    if (context.kind === 'organisation') {
      return { oid: signedInOid, acting: { kind: 'organisation', organisationOid: context.membership.organisation.oid, roles: context.membership.roles } };
    }
    if (context.kind === 'representative') {
      const { power } = context;
      return {
        oid: power.principal.oid,
        acting: { kind: 'representative', powerId: power.id, actorOid: signedInOid, principalKind: power.principal.kind, rights: power.rights },
      };
    }
    return { oid: signedInOid };
  };
}

/** Who signed in, as a JWT access token says it: the actor when the token is a representative's. */
export function signedInOidOfJwt(payload: Record<string, unknown>): string | undefined {
  const actor = (payload.act as { sub?: unknown } | undefined)?.sub;
  if (typeof actor === 'string') return actor;
  return typeof payload.sub === 'string' ? payload.sub : undefined;
}
