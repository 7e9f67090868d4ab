import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { TRUST_LEVELS } from '../citizens/citizen.table.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { pickLocale, translator } from '../http/i18n.ts';
import type { Views } from '../http/views.ts';
import { createAdapterClass } from './adapter.ts';
import { accountClientMetadata } from '../account/account-session.ts';
import { SCOPE_CLAIMS, STANDALONE_CLAIMS, SUPPORTED_SCOPES } from './claims.ts';
import { createFindAccount } from './account.ts';
import { createLoadExistingGrant, trackGrantUse } from './grants.ts';
import { createInteractionPolicy } from './interaction-policy.ts';
import { TOKEN_PROFILES, esiaAccessTokenClaims, jwtAccessTokenCustomizer, resourceIndicatorsFeature } from './resource-server.ts';
import { IDA_DISCOVERY } from '../trust/verified-claims.ts';
import { createSessionTtl } from '../sessions/session-lifetime.ts';
import { createActingHooks } from '../acting/acting.oidc.ts';

export interface ProviderDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  views: Views;
  cookieKeys: string[];
  secretBox: SecretBox;
  signingKeys: JWK[];
}

/**
 * The whole oidc-provider configuration in one place. We extend the library only through its
 * documented hooks: adapter, findAccount, interactions.url, the page renderers and the TTLs.
 */
export function createProvider(deps: ProviderDeps): Provider {
  const { config, db, views } = deps;
  // The role chosen at login (src/acting): read at token issuance and use, re-checked live.
  const acting = createActingHooks(db, deps.clock);

  const configuration: Configuration = {
    adapter: createAdapterClass(db, deps.clock, deps.secretBox),
    // Clients live in the database (CLI); only the first-party account console is static.
    clients: [accountClientMetadata(config.issuer)],
    jwks: { keys: deps.signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      keys: deps.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    scopes: SUPPORTED_SCOPES,
    claims: {
      ...Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, [...claims]])),
      ...Object.fromEntries(STANDALONE_CLAIMS.map((claim) => [claim, null])),
    },
    acrValues: [...TRUST_LEVELS],
    // `none` serves only the first-party account console, which needs the session, not tokens;
    // registered clients are limited to `code` (clients.service.ts).
    responseTypes: ['code', 'none'],
    discovery: { ...IDA_DISCOVERY },
    formats: { customizers: { jwt: jwtAccessTokenCustomizer } },
    extraTokenClaims: async (ctx, token) => {
      const claims = await esiaAccessTokenClaims(ctx, token as never);
      return claims && { ...claims, ...(await acting.accessTokenClaims(ctx, token as never)) };
    },
    extraClientMetadata: {
      properties: ['token_profile'],
      validator: (_ctx, key, value) => {
        if (key === 'token_profile' && value !== undefined && !(TOKEN_PROFILES as readonly unknown[]).includes(value)) {
          throw new errors.InvalidClientMetadata(`token_profile must be one of ${TOKEN_PROFILES.join(', ')}`);
        }
      },
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    rotateRefreshToken: true,
    // Like Keycloak: a client allowed the refresh_token grant gets one with every code exchange;
    // without offline_access it ends with the citizen's session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: createFindAccount(db, acting),
    loadExistingGrant: createLoadExistingGrant(db, deps.clock),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: createInteractionPolicy(db, deps.clock) },
    // ESIA's way of asking for a confirmed account (person_filter=conf_acc, base64url-encoded), and
    // the organisation to sign in for (org_oid; ESIA's `org_fullname?org_oid=…` scopes become it in scope-guard.ts).
    extraParams: ['person_filter', 'org_oid'],
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      // A client learns about, and may revoke, only the tokens issued to itself; anything else
      // reads as inactive / is silently ignored (RFC 7662 §2.2, RFC 7009 §2.2).
      // A token issued for an organisation or under a power of attorney is inactive as soon as the
      // membership ends or the power is revoked (src/acting).
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId && (await acting.stillValid(token as never)) },
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      backchannelLogout: { enabled: true },
      resourceIndicators: resourceIndicatorsFeature(config.issuer, config.ttl.accessToken),
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          const locale = localeOf(ctx);
          ctx.type = 'html';
          ctx.body = views.render('logout.njk', locale, { form });
        },
        postLogoutSuccessSource: async (ctx) => {
          const locale = localeOf(ctx);
          const t = translator(locale);
          const clientName = ctx.oidc.client?.clientName;
          ctx.type = 'html';
          ctx.body = views.render('message.njk', locale, {
            heading: t('logout.done_title'),
            message: clientName ? t('logout.done_client', { client: clientName }) : t('logout.done'),
          });
        },
      },
    },
    ttl: {
      AccessToken: config.ttl.accessToken,
      ClientCredentials: config.ttl.accessToken,
      AuthorizationCode: config.ttl.authorizationCode,
      IdToken: config.ttl.idToken,
      RefreshToken: config.ttl.refreshToken,
      // Sliding: idle timeout, capped by the absolute lifetime counted from sign-in (sessions/session-lifetime.ts).
      Session: createSessionTtl({ idleSeconds: config.ttl.sessionIdle, absoluteSeconds: config.ttl.session }),
      Interaction: config.ttl.interaction,
      Grant: config.ttl.grant,
    },
    // oidc-provider's fetch refuses loopback and private addresses (SSRF guard); hosts the operator
    // listed in PRIVATE_NETWORK_HOSTS (dev: localhost) are called without that guard.
    fetch: (url, options) => {
      if (!config.privateNetworkHosts.includes(new URL(url).hostname.toLowerCase())) return globalThis.fetch(url, options);
      const { dispatcher: _ssrfGuard, ...unguarded } = options as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, unguarded);
    },
    renderError: async (ctx, out, error) => {
      const locale = localeOf(ctx);
      const t = translator(locale);
      const status = 'status' in error && typeof error.status === 'number' ? error.status : 500;
      if (status >= 500) ctx.state.log?.error({ err: error }, 'oidc error');
      ctx.type = 'html';
      ctx.body = views.render('error.njk', locale, {
        heading: t('error.title'),
        message: status === 503 ? t('error.unavailable') : status >= 500 ? t('error.internal') : out.error === 'session_not_found' || out.error === 'invalid_request' && /interaction/.test(out.error_description ?? '') ? t('error.session_expired') : t('error.oauth'),
        error: status >= 500 ? undefined : out.error,
        description: status >= 500 ? undefined : out.error_description,
        requestId: ctx.state.requestId,
      });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    (ctx.state.log ?? deps.logger).error({ err: error }, 'oidc server_error');
  });
  trackGrantUse(provider, db, deps.clock, (error) => deps.logger.warn({ err: error }, 'could not record grant use'));
  provider.on('backchannel.error', (ctx: KoaContextWithOIDC, error: Error, client: { clientId: string }) => {
    (ctx?.state?.log ?? deps.logger).warn({ err: { message: error.message }, clientId: client?.clientId }, 'back-channel logout failed');
  });
  return provider;
}

function localeOf(ctx: KoaContextWithOIDC): ReturnType<typeof pickLocale> {
  return pickLocale(ctx.oidc?.params?.ui_locales ?? ctx.query?.ui_locales);
}
