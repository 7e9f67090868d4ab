import { listClients, type StoredClient } from '../../oidc/clients.repository.ts';
import { registerClient, removeClient, type RegisterClientInput } from '../../oidc/clients.service.ts';
import { AppError } from '../../shared/app-error.ts';
import { CliError, UsageError, oneOf, optionalString, requiredString, stringList, type CliCommand } from '../command.ts';
import { fields, table, timestamp } from '../output.ts';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
const TOKEN_PROFILES = ['oidc', 'esia'] as const;
const SIGNING_ALGS = ['RS256', 'ES256', 'PS256'] as const;

export const clientsAddCommand: CliCommand = {
  name: 'clients add',
  summary: 'Register a relying party (OIDC client)',
  usage: '--name <name> --redirect-uri <uri> [--redirect-uri <uri> …] [options]',
  optionHelp: [
    ['--name <name>', 'Service name shown to citizens on the consent page'],
    ['--redirect-uri <uri>', 'Where codes are sent (repeat for several)'],
    ['--post-logout-redirect-uri <uri>', 'Where the IdP may return after logout (repeatable)'],
    ['--backchannel-logout-uri <uri>', 'Where the IdP POSTs logout tokens'],
    ['--public', 'A public client (SPA, mobile app): no secret, PKCE required'],
    ['--id <id>', 'Client id (default: generated, client-<16 hex>)'],
    ['--secret <secret>', 'Client secret, at least 32 characters (default: generated)'],
    ['--scopes "<scopes>"', 'Space-separated scopes it may ask for (default: all supported)'],
    ['--auth-method <method>', 'client_secret_basic (default) or client_secret_post'],
    ['--token-profile <profile>', 'oidc (default) or esia: JWT access tokens for the person API, ESIA scope format'],
    ['--signing-alg <alg>', 'RS256 (default), ES256 or PS256 for ID tokens and JWT access tokens'],
  ],
  description: ['Prints the client id and, only this once, the secret: it is stored sealed and never shown again.'],
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'backchannel-logout-uri': { type: 'string' },
    public: { type: 'boolean' },
    id: { type: 'string' },
    secret: { type: 'string' },
    scopes: { type: 'string' },
    'auth-method': { type: 'string' },
    'token-profile': { type: 'string' },
    'signing-alg': { type: 'string' },
  },
  async run(context, args) {
    const command = 'clients add';
    const input: RegisterClientInput = {
      name: requiredString(args, 'name', command).trim(),
      redirectUris: stringList(args, 'redirect-uri', command),
      postLogoutRedirectUris: stringList(args, 'post-logout-redirect-uri', command),
      backchannelLogoutUri: optionalString(args, 'backchannel-logout-uri', command),
      public: args.values.public === true,
      clientId: optionalString(args, 'id', command),
      clientSecret: optionalString(args, 'secret', command),
      scopes: optionalString(args, 'scopes', command),
      authMethod: oneOf(optionalString(args, 'auth-method', command), AUTH_METHODS, 'auth-method', command),
      tokenProfile: oneOf(optionalString(args, 'token-profile', command), TOKEN_PROFILES, 'token-profile', command),
      signingAlg: oneOf(optionalString(args, 'signing-alg', command), SIGNING_ALGS, 'signing-alg', command),
    };
    if (input.redirectUris.length === 0) throw new UsageError('--redirect-uri is required (at least one)', command);
    if (input.public && input.authMethod) throw new UsageError('--auth-method is for confidential clients; a public client authenticates with PKCE only', command);
    if (input.public && input.clientSecret) throw new UsageError('--secret is for confidential clients; a public client has no secret', command);

    const runtime = await context.runtime();
    let registered;
    try {
      registered = await registerClient(runtime.database.db, runtime.secrets.secretBox, runtime.validateClient, input);
    } catch (error) {
      if (error instanceof AppError && error.code === 'client.invalid_metadata') throw new CliError(error.code, `invalid client: ${error.message}`);
      throw error;
    }
    const summary = describeClient(registered.metadata);
    const lines = [
      'Client registered.',
      fields([
        ['id', registered.clientId],
        ['name', input.name],
        ['type', summary.type === 'public' ? 'public (PKCE, no secret)' : `confidential (${summary.tokenEndpointAuthMethod})`],
        ['redirect uris', summary.redirectUris.join(' ')],
        ...(summary.postLogoutRedirectUris.length ? [['post-logout uris', summary.postLogoutRedirectUris.join(' ')] as [string, string]] : []),
        ...(summary.backchannelLogoutUri ? [['backchannel logout', summary.backchannelLogoutUri] as [string, string]] : []),
        ['scopes', summary.scope],
      ]),
    ];
    if (registered.clientSecret) {
      lines.push('', 'Client secret (shown only this once; it cannot be recovered, only replaced):', `  ${registered.clientSecret}`);
    }
    return {
      json: { clientId: registered.clientId, ...(registered.clientSecret ? { clientSecret: registered.clientSecret } : {}), name: input.name, ...summary },
      text: lines.join('\n'),
    };
  },
};

export const clientsListCommand: CliCommand = {
  name: 'clients list',
  summary: 'List the registered clients (never their secrets)',
  usage: '',
  description: ['Shows id, name, redirect URIs, public or confidential, and when each was registered.'],
  options: {},
  async run(context) {
    const clients = (await listClients(await context.database())).map(clientView);
    const text = clients.length
      ? table(
          ['ID', 'NAME', 'TYPE', 'CREATED', 'REDIRECT URIS'],
          clients.map((c) => [c.clientId, c.name, c.type, timestamp(c.createdAt), c.redirectUris.join(' ')]),
        )
      : 'No clients registered yet. Add one with `npm run cli -- clients add --help`.';
    return { json: { clients }, text };
  },
};

export const clientsRemoveCommand: CliCommand = {
  name: 'clients remove',
  summary: 'Remove a client with every grant and token issued to it',
  usage: '<id>',
  description: ['Citizens signed in to that service lose their tokens at once; its sessions at the IdP stay.'],
  options: {},
  positionals: { min: 1, max: 1, names: 'the client <id>' },
  async run(context, args) {
    const [clientId] = args.positionals;
    if (!(await removeClient(await context.database(), clientId))) {
      throw new CliError('client.not_found', `no client with id "${clientId}" (see \`npm run cli -- clients list\`)`);
    }
    return { json: { removed: clientId }, text: `Client ${clientId} removed, with its grants and tokens.` };
  },
};

/** The public part of a client's metadata; the secret lives in another column and is never read here. */
function describeClient(metadata: Record<string, unknown>) {
  const method = typeof metadata.token_endpoint_auth_method === 'string' ? metadata.token_endpoint_auth_method : 'client_secret_basic';
  return {
    type: method === 'none' ? ('public' as const) : ('confidential' as const),
    tokenEndpointAuthMethod: method,
    redirectUris: strings(metadata.redirect_uris),
    postLogoutRedirectUris: strings(metadata.post_logout_redirect_uris),
    backchannelLogoutUri: typeof metadata.backchannel_logout_uri === 'string' ? metadata.backchannel_logout_uri : null,
    scope: typeof metadata.scope === 'string' ? metadata.scope : '',
  };
}

function clientView(client: StoredClient) {
  return { clientId: client.clientId, name: client.name, ...describeClient(client.metadata), createdAt: client.createdAt };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
