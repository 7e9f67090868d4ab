/**
 * The bench's baseline: bare oidc-provider with its in-memory adapter, what the IdP is compared
 * with in the same run (issue #8). Run as a child process by bench/baseline-process.ts, configured
 * through the BASELINE_CONFIG environment variable (JSON, see BaselineConfig).
 *
 * As little as oidc-provider needs to do what the bench drives: the same relying parties (static
 * clients: client_credentials, authorization_code, refresh_token; client_secret_basic), RS256 with
 * the IdP's key, JWT access tokens for the resource <issuer>/rs, opaque ones for userinfo,
 * introspection, refresh-token rotation, and a minimal login: one page, one form, one argon2id
 * verify at the same parameters as the IdP, consent given once and remembered per citizen and RP.
 * No database, no templates, no rate limits, no audit, no history: the cost of the protocol alone.
 */
import http from 'node:http';
import argon2 from 'argon2';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export interface BaselineConfig {
  issuer: string;
  port: number;
  jwks: { keys: Array<Record<string, unknown>> };
  cookieKeys: string[];
  clients: Array<{ clientId: string; clientSecret: string; redirectUri: string }>;
  /** Citizens who may sign in: the login they type and the subject they become. */
  accounts: Array<{ login: string; sub: string }>;
  /** One argon2id hash (the IdP's parameters) every account's password is checked against. */
  passwordHash: string;
}

/** The ESIA scopes the bench asks for, each with a few claims (values are static, from memory). */
const SCOPE_CLAIMS: Record<string, string[]> = {
  openid: ['sub'],
  fullname: ['name', 'family_name', 'given_name', 'middle_name'],
  birthdate: ['birthdate'],
  gender: ['gender'],
  snils: ['urn:esia:snils'],
  inn: ['urn:esia:inn'],
  id_doc: ['urn:esia:id_doc'],
  email: ['email', 'email_verified'],
  mobile: ['phone_number', 'phone_number_verified'],
  contacts: ['urn:esia:contacts'],
  addresses: ['address'],
};

function accountClaims(sub: string, login: string): Record<string, unknown> {
  return {
    sub,
    name: 'Нагрузкин Тест Тестович', family_name: 'Нагрузкин', given_name: 'Тест', middle_name: 'Тестович',
    birthdate: '1970-01-01', gender: 'M',
    'urn:esia:snils': sub.padStart(11, '0'), 'urn:esia:inn': sub.padStart(12, '0'),
    'urn:esia:id_doc': { type: 'RF_PASSPORT', series: '0001', number: '000001', vrf_status: 'VERIFIED' },
    email: `bench${sub}@bench.example`, email_verified: true,
    phone_number: login, phone_number_verified: true,
    'urn:esia:contacts': [{ type: 'MBT', value: login }],
    address: { formatted: 'г. Москва, ул. Тверская, д. 1', postal_code: '125009', country: 'RU' },
  };
}

export function createBaselineProvider(config: BaselineConfig): Provider {
  const accounts = new Map(config.accounts.map((a) => [a.sub, a]));
  const resource = `${config.issuer}/rs`;
  // Consent given once is remembered per citizen and RP (the IdP keeps it in the database).
  const rememberedGrants = new Map<string, string>();

  const configuration: Configuration = {
    clients: config.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [c.redirectUri],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: config.jwks as NonNullable<Configuration['jwks']>,
    cookies: { keys: config.cookieKeys },
    scopes: [...Object.keys(SCOPE_CLAIMS), 'offline_access'],
    claims: SCOPE_CLAIMS,
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => accountClaims(sub, account.login) as { sub: string } };
    },
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const clientId = ctx.oidc.client!.clientId;
      const accountId = ctx.oidc.session?.accountId;
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session!.grantIdFor(clientId)
        || (accountId ? rememberedGrants.get(`${accountId} ${clientId}`) : undefined);
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    rotateRefreshToken: true,
    // As the IdP: a client allowed the refresh_token grant gets one with every code exchange.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: Object.keys(SCOPE_CLAIMS).filter((s) => s !== 'openid').join(' '),
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: {
      AccessToken: 3600, ClientCredentials: 3600, AuthorizationCode: 60, IdToken: 10800,
      RefreshToken: 30 * 24 * 3600, Session: 12 * 3600, Interaction: 30 * 60, Grant: 365 * 24 * 3600,
    },
  };
  const provider = new Provider(config.issuer, configuration);
  provider.on('server_error', (_ctx: unknown, error: Error) => process.stderr.write(`baseline server_error: ${error.stack}\n`));

  const rememberConsent = (accountId: string, clientId: string, grantId: string) => rememberedGrants.set(`${accountId} ${clientId}`, grantId);
  return Object.assign(provider, { rememberConsent });
}

const html = (body: string) => `<!doctype html><html lang="ru"><meta charset="utf-8"><title>Вход</title><body>${body}</body></html>`;

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The login and consent pages: what oidc-provider leaves to the application. */
async function interaction(provider: Provider & { rememberConsent(a: string, c: string, g: string): void }, config: BaselineConfig, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const logins = new Map(config.accounts.map((a) => [a.login, a.sub]));
  const [, , uid, action] = new URL(req.url!, config.issuer).pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(details.prompt.name === 'login'
      ? html(`<form method="post" action="/interaction/${uid}/login"><input name="login"><input name="password" type="password"><button>Войти</button></form>`)
      : html(`<form method="post" action="/interaction/${uid}/confirm"><input type="hidden" name="agree" value="yes"><button>Разрешить</button></form>`));
    return;
  }
  const form = await readForm(req);
  if (action === 'login' && details.prompt.name === 'login') {
    const sub = logins.get(form.get('login') ?? '');
    // Unknown logins are checked against the hash too, as a real login page must (no timing oracle).
    const valid = await argon2.verify(config.passwordHash, form.get('password') ?? '');
    if (!sub || !valid) {
      res.statusCode = 400;
      res.end(html('Неверный логин или пароль'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm' && details.prompt.name === 'consent') {
    const { prompt: { details: missing }, params, session } = details;
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId: session!.accountId, clientId: params.client_id as string });
    if (missing.missingOIDCScope) grant.addOIDCScope((missing.missingOIDCScope as string[]).join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims as string[]);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes as Record<string, string[]>)) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    provider.rememberConsent(session!.accountId, params.client_id as string, grantId);
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  res.statusCode = 400;
  res.end(html('Неожиданный шаг входа'));
}

export async function serveBaseline(config: BaselineConfig): Promise<http.Server> {
  const provider = createBaselineProvider(config) as Provider & { rememberConsent(a: string, c: string, g: string): void };
  const oidc = provider.callback();
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      interaction(provider, config, req, res).catch((error: Error) => {
        process.stderr.write(`baseline interaction failed: ${error.stack}\n`);
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
      return;
    }
    oidc(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(config.port, '127.0.0.1', resolve));
  return server;
}

if (import.meta.main) {
  const config = JSON.parse(process.env.BASELINE_CONFIG ?? '') as BaselineConfig;
  const server = await serveBaseline(config);
  process.stdout.write(`baseline oidc-provider listening on ${config.issuer}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections(); // keep-alive connections from the load generator would hold close() open
    });
  }
}
