import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import { SUPPORTED_SCOPES } from './claims.ts';
import { splitOrganisationScopes } from '../acting/org-scope-syntax.ts';

/**
 * Each client may ask only for the scopes it was registered with. oidc-provider refuses others
 * with a generic description; integrators coming from ESIA expect its error code, so this guard
 * answers first, in the same shape (invalid_scope to the registered redirect_uri, with state and
 * iss) and ESIA's `ESIA-007019` in the description. Anything it is unsure of (unknown client,
 * unregistered redirect_uri, another response_mode) is left to oidc-provider.
 */
export function esiaScopeGuard(provider: Provider, issuer: string): Middleware {
  const supported = new Set(SUPPORTED_SCOPES);
  return async (ctx, next) => {
    if (ctx.path !== '/auth' || ctx.method !== 'GET') return next();
    // ESIA's `org_fullname?org_oid=…` scopes → plain names + the org_oid parameter (src/acting).
    const organisation = typeof ctx.query.scope === 'string' ? splitOrganisationScopes(ctx.query.scope, ctx.query.org_oid) : undefined;
    if (organisation) ctx.query = { ...ctx.query, scope: organisation.scope, org_oid: organisation.orgOid };
    const { client_id: clientId, scope, redirect_uri: redirectUri, state, response_mode: responseMode } = ctx.query;
    if (typeof clientId !== 'string' || typeof scope !== 'string' || typeof redirectUri !== 'string') return next();
    if (responseMode !== undefined && responseMode !== 'query') return next();
    const client = await provider.Client.find(clientId);
    if (!client?.scope || !client.redirectUriAllowed(redirectUri)) return next();
    const allowed = new Set(client.scope.split(' '));
    const refused = scope.split(' ').filter((s) => s && supported.has(s) && !allowed.has(s));
    if (refused.length === 0) return next();

    const target = new URL(redirectUri);
    target.searchParams.set('error', 'invalid_scope');
    target.searchParams.set('error_description', `ESIA-007019: the client is not allowed to request scope ${refused.join(' ')}`);
    if (typeof state === 'string') target.searchParams.set('state', state);
    target.searchParams.set('iss', issuer);
    ctx.redirect(target.toString());
  };
}
