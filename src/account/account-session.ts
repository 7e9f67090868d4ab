import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { findCitizenByOid } from '../citizens/citizens.repository.ts';
import type { Citizen } from '../citizens/citizen.table.ts';

/**
 * The citizen's own pages use the same single sign-on session as every RP: the account console is
 * a first-party client of this IdP (as Keycloak's is). It signs in with `response_type=none` — it
 * needs the session, not tokens — and reads the session through oidc-provider's Session model.
 */
export const ACCOUNT_CLIENT_ID = 'esia-account';

export function accountClientMetadata(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Госуслуги: личный кабинет',
    response_types: ['none'],
    grant_types: [],
    redirect_uris: [`${issuer}/account/callback`],
    post_logout_redirect_uris: [`${issuer}/account/logged-out`],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
  };
}

/** The signed-in citizen's OID, if this browser has a live session. */
export async function sessionAccountId(provider: Provider, ctx: Context): Promise<string | undefined> {
  const session = await provider.Session.get(ctx as never);
  return session.accountId ?? undefined;
}

/**
 * Loads the signed-in citizen into `ctx.state.citizen`, or sends the browser to sign in and come
 * back to the page it asked for.
 */
export function requireCitizen(provider: Provider, db: Db): Middleware {
  return async (ctx, next) => {
    const oid = await sessionAccountId(provider, ctx);
    const citizen: Citizen | undefined = oid ? await findCitizenByOid(db, oid) : undefined;
    if (!citizen) {
      if (ctx.method !== 'GET') ctx.throw(401);
      ctx.redirect(`/account/login?return_to=${encodeURIComponent(ctx.originalUrl)}`);
      return;
    }
    ctx.state.citizen = citizen;
    await next();
  };
}
