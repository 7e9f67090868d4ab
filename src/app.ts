import type Provider from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from './config/config.ts';
import type { Db } from './db/database.ts';
import type { PasswordHasher } from './citizens/passwords.ts';
import type { Clock } from './shared/clock.ts';
import type { Logger } from './shared/logger.ts';
import type { SecretBox } from './shared/secret-box.ts';
import { createViews } from './http/views.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { errorHandler } from './http/error-handler.ts';
import { healthRoutes } from './http/health.routes.ts';
import { assetRoutes } from './http/assets.routes.ts';
import { createProvider } from './oidc/provider.ts';
import { interactionRoutes } from './interactions/interaction.routes.ts';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { csrfProtection } from './http/csrf.ts';
import { accountRoutes } from './account/account.routes.ts';

export interface IdpDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  hasher: PasswordHasher;
  cookieKeys: string[];
  secretBox: SecretBox;
  signingKeys: JWK[];
}

/**
 * Composes the IdP: our middleware and routes run in front of oidc-provider's own endpoints
 * (oidc-provider is itself a Koa application; `provider.use` inserts before its router).
 * No I/O happens here, so tests mount exactly what production runs.
 */
export function createIdpApp(deps: IdpDeps): Provider {
  const views = createViews({ cache: deps.config.production });
  const provider = createProvider({ ...deps, views });
  provider.use(requestContext(deps.logger, { trustProxy: deps.config.trustProxy }));
  provider.use(securityHeaders({ production: deps.config.production }));
  // Our pages' errors and unknown paths; oidc-provider renders its own endpoints' errors (renderError).
  provider.use(errorHandler(views));
  for (const router of [healthRoutes(deps.db), assetRoutes()]) provider.use(router.routes());
  const interactions = interactionRoutes({ provider, db: deps.db, hasher: deps.hasher, views });
  provider.use(interactions.routes());
  provider.use(interactions.allowedMethods());

  // The citizen-facing pages outside OIDC interactions: forms parsed here (never for
  // oidc-provider's own endpoints, which parse their bodies themselves) and CSRF-checked.
  const secureCookies = deps.config.issuer.startsWith('https://');
  const pages = new Router();
  pages.use(['/account', '/registration', '/recovery', '/operator'], bodyParser({ enableTypes: ['form'], formLimit: '64kb' }), csrfProtection({ secure: secureCookies }));
  pages.use(accountRoutes({ provider, db: deps.db, views, issuer: deps.config.issuer, secureCookies }).routes());
  provider.use(pages.routes());
  return provider;
}
