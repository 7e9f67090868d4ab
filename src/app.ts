import type Provider from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from './config/config.ts';
import type { Db } from './db/database.ts';
import type { PasswordHasher } from './citizens/passwords.ts';
import type { Clock } from './shared/clock.ts';
import type { Logger } from './shared/logger.ts';
import type { SecretBox } from './shared/secret-box.ts';
import { createViews } from './http/views.ts';
import { requestLog } from './shared/request-log.ts';
import { securityHeaders } from './http/security-headers.ts';
import { errorHandler, retryAfterOnUnavailable } from './http/error-handler.ts';
import { healthRoutes } from './http/health.routes.ts';
import { assetRoutes } from './http/assets.routes.ts';
import { createProvider } from './oidc/provider.ts';
import { requestScopedReads } from './oidc/adapter.ts';
import { interactionRoutes } from './interactions/interaction.routes.ts';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { csrfProtection } from './http/csrf.ts';
import { accountRoutes } from './account/account.routes.ts';
import { profileRoutes } from './account/profile.routes.ts';
import { linkedServicesRoutes } from './account/linked-services.routes.ts';
import { sessionsRoutes } from './sessions/sessions.routes.ts';
import { rateLimitByIp } from './security/rate-limit.middleware.ts';
import { RATE_LIMITS } from './security/rate-limits.ts';
import { sessionActivity } from './sessions/session-activity.ts';
import { registrationRoutes } from './registration/registration.routes.ts';
import { recoveryRoutes } from './recovery/recovery.routes.ts';
import { verificationRoutes } from './verification/verification.routes.ts';
import { operatorRoutes } from './operator/operator.routes.ts';
import { devOutboxRoutes } from './notifications/dev-outbox.routes.ts';
import { createCodeHasher, type CodeHasher } from './codes/codes.service.ts';
import type { Views } from './http/views.ts';
import { createBearerAuthenticator } from './rest/bearer.ts';
import { createActingVerifier } from './acting/acting.bearer.ts';
import { personApiRoutes } from './rest/person.routes.ts';
import { publicJwk } from './oidc/keys.ts';
import { esiaScopeGuard } from './oidc/scope-guard.ts';
import { accountSecurityRoutes } from './security/security.routes.ts';
import { rateLimitTokenClients } from './security/rate-limit.middleware.ts';
import { mergeRoutes } from './merge/merge.routes.ts';
import { familyRoutes } from './family/family.routes.ts';
import { kidsApiRoutes } from './family/kids-api.routes.ts';
import { organisationsRoutes } from './organisations/organisations.routes.ts';
import { organisationsApiRoutes } from './organisations/organisations-api.routes.ts';
import { powersRoutes } from './powers/powers.routes.ts';
import { countIssuedTokens, metricsEndpoint, metricsMiddleware, type Metrics } from './http/metrics.ts';

/**
 * Paths whose forms are parsed and CSRF-checked before any area's route runs. Registration inside
 * an OIDC interaction (/interaction/:uid/register) is covered too: the interaction cookie's path
 * reaches it there.
 */
const PAGE_PREFIXES = ['/account', '/registration', '/recovery', '/operator', '/dev', '/interaction/:uid/register'];

export interface IdpDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  hasher: PasswordHasher;
  cookieKeys: string[];
  secretBox: SecretBox;
  signingKeys: JWK[];
  codeHashKey: Buffer;
  metrics: Metrics;
}

/** What every page area's routes receive. */
export interface PageDeps {
  config: Config;
  provider: Provider;
  db: Db;
  clock: Clock;
  logger: Logger;
  views: Views;
  hasher: PasswordHasher;
  codeHasher: CodeHasher;
  secretBox: SecretBox;
  secureCookies: boolean;
}

/**
 * Composes the IdP: our middleware and routes run in front of oidc-provider's own endpoints
 * (oidc-provider is itself a Koa application; `provider.use` inserts before its router).
 * No I/O happens here, so tests mount exactly what production runs.
 */
export function createIdpApp(deps: IdpDeps): Provider {
  const views = createViews();
  const provider = createProvider({ ...deps, views });
  provider.use(requestLog(deps.logger, { trustProxy: deps.config.trustProxy }));
  // A token's grant and session, read with the token, serve the rest of its request (oidc/adapter.ts).
  provider.use(requestScopedReads());
  provider.use(retryAfterOnUnavailable());
  provider.use(metricsMiddleware(deps.metrics));
  provider.use(metricsEndpoint(deps.metrics, deps.config.metricsToken));
  countIssuedTokens(provider, deps.metrics);
  provider.use(securityHeaders({ production: deps.config.production }));
  // Our pages' errors and unknown paths; oidc-provider renders its own endpoints' errors (renderError).
  provider.use(errorHandler(views));
  for (const router of [healthRoutes(deps.db), assetRoutes()]) provider.use(router.routes());
  provider.use(esiaScopeGuard(provider, deps.config.issuer));
  // Per-client limits on /token, /token/introspection, /token/revocation (Basic auth clients).
  provider.use(rateLimitTokenClients({ db: deps.db, clock: deps.clock }));
  provider.use(sessionActivity({
    provider, db: deps.db, clock: deps.clock, logger: deps.logger,
    limits: { idleSeconds: deps.config.ttl.sessionIdle, absoluteSeconds: deps.config.ttl.session },
  }));
  const codeHasher = createCodeHasher(deps.codeHashKey);
  const interactions = interactionRoutes({ provider, db: deps.db, hasher: deps.hasher, views, security: { clock: deps.clock, codeHasher, secretBox: deps.secretBox, ipRateLimitMultiplier: deps.config.ipRateLimitMultiplier } });
  provider.use(interactions.routes());
  provider.use(interactions.allowedMethods());

  // The citizen-facing pages outside OIDC interactions: forms parsed here (never for
  // oidc-provider's own endpoints, which parse their bodies themselves) and CSRF-checked.
  const secureCookies = deps.config.issuer.startsWith('https://');
  const pageDeps: PageDeps = {
    config: deps.config, provider, db: deps.db, clock: deps.clock, logger: deps.logger, views,
    hasher: deps.hasher, codeHasher, secretBox: deps.secretBox, secureCookies,
  };
  const pages = new Router();
  pages.use(PAGE_PREFIXES, bodyParser({ enableTypes: ['form'], formLimit: '64kb' }), csrfProtection({ secure: secureCookies }));
  // Per-IP budgets for journeys that send codes or create flows; a request that fails validation gives its point back.
  const ipLimit = (name: 'registration' | 'recovery' | 'code_send') =>
    rateLimitByIp(name, { db: deps.db, clock: deps.clock }, {
      policy: { ...RATE_LIMITS[name], points: RATE_LIMITS[name].points * deps.config.ipRateLimitMultiplier },
      counts: (ctx) => ctx.status < 400,
    });
  pages.post(['/registration', '/interaction/:uid/register'], ipLimit('registration'));
  pages.post(['/recovery', '/recovery/login'], ipLimit('recovery'));
  pages.post(['/registration/:flowId/resend', '/interaction/:uid/register/:flowId/resend', '/recovery/:flowId/resend', '/account/contacts/change', '/account/contacts/resend'], ipLimit('code_send'));
  for (const area of [
    accountRoutes({ provider, db: deps.db, views, issuer: deps.config.issuer, secureCookies }),
    profileRoutes(pageDeps),
    linkedServicesRoutes(pageDeps),
    accountSecurityRoutes(pageDeps),
    sessionsRoutes(pageDeps),
    registrationRoutes(pageDeps),
    recoveryRoutes(pageDeps),
    verificationRoutes(pageDeps),
    operatorRoutes(pageDeps),
    devOutboxRoutes(pageDeps),
    mergeRoutes(pageDeps),
    familyRoutes(pageDeps),
    organisationsRoutes(pageDeps),
    powersRoutes(pageDeps),
  ]) {
    pages.use(area.routes(), area.allowedMethods());
  }
  provider.use(pages.routes());

  const authenticate = createBearerAuthenticator(provider, deps.config.issuer, { keys: deps.signingKeys.map(publicJwk) }, createActingVerifier(deps.db, deps.clock));
  const apiDeps = { db: deps.db, issuer: deps.config.issuer, authenticate, clock: deps.clock };
  // The more specific ESIA paths (/rs/prns/{oid}/kids, /roles; /rs/orgs) before the person API's own.
  for (const api of [kidsApiRoutes(apiDeps), organisationsApiRoutes(apiDeps), personApiRoutes(apiDeps)]) provider.use(api.routes());
  return provider;
}
