import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { clientExists, deleteClient, insertClient } from './clients.repository.ts';
import { SUPPORTED_SCOPES } from './claims.ts';

export interface RegisterClientInput {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  backchannelLogoutUri?: string;
  public?: boolean;
  clientId?: string;
  clientSecret?: string;
  /** Space-separated scopes the client may ask for; all supported scopes when absent. */
  scopes?: string;
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** `esia`: JWT access tokens for the person API by default, scope written the ESIA way. */
  tokenProfile?: 'oidc' | 'esia';
  /** How ID tokens (and JWT access tokens) are signed for this client; RS256 by default. */
  signingAlg?: 'RS256' | 'ES256' | 'PS256';
}

export interface RegisteredClient {
  clientId: string;
  /** Shown once; only the sealed form is stored. */
  clientSecret?: string;
  metadata: Record<string, unknown>;
}

/** Checks metadata the way oidc-provider will when it loads the client (Provider#Client.validate). */
export type ValidateClientMetadata = (metadata: Record<string, unknown>) => Promise<void>;

export async function registerClient(db: Db, secretBox: SecretBox, validate: ValidateClientMetadata, input: RegisterClientInput): Promise<RegisteredClient> {
  const clientId = input.clientId ?? `client-${randomBytes(8).toString('hex')}`;
  if (!/^[\w.\-:]{3,128}$/.test(clientId)) throw new AppError('client.invalid_id', 400, 'client id: 3–128 letters, digits, "-", "_", ".", ":"');
  if (input.public && input.clientSecret) throw new AppError('client.public_with_secret', 400, 'a public client has no secret');
  if (input.clientSecret !== undefined && input.clientSecret.length < 32) throw new AppError('client.weak_secret', 400, 'client secret: at least 32 characters');
  const unknownScopes = input.scopes?.split(/\s+/).filter((s) => s && !SUPPORTED_SCOPES.includes(s)) ?? [];
  if (unknownScopes.length) throw new AppError('client.unknown_scope', 400, `unknown scopes: ${unknownScopes.join(', ')} (supported: ${SUPPORTED_SCOPES.join(' ')})`);

  const clientSecret = input.public ? undefined : input.clientSecret ?? randomBytes(32).toString('base64url');
  const metadata: Record<string, unknown> = {
    client_id: clientId,
    client_name: input.name,
    redirect_uris: input.redirectUris,
    post_logout_redirect_uris: input.postLogoutRedirectUris ?? [],
    response_types: ['code'],
    grant_types: input.public ? ['authorization_code', 'refresh_token'] : ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: input.public ? 'none' : input.authMethod ?? 'client_secret_basic',
    scope: input.scopes?.trim() || SUPPORTED_SCOPES.join(' '),
    // ESIA always tells the RP when the citizen authenticated.
    require_auth_time: true,
    ...(input.tokenProfile === 'esia' ? { token_profile: 'esia' } : {}),
    ...(input.signingAlg && input.signingAlg !== 'RS256' ? { id_token_signed_response_alg: input.signingAlg } : {}),
    ...(input.backchannelLogoutUri ? { backchannel_logout_uri: input.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
  };
  try {
    await validate({ ...metadata, ...(clientSecret ? { client_secret: clientSecret } : {}) });
  } catch (error) {
    throw new AppError('client.invalid_metadata', 400, (error as { error_description?: string }).error_description ?? (error as Error).message);
  }
  if (await clientExists(db, clientId)) throw new AppError('client.exists', 409, `client ${clientId} already exists`);
  await insertClient(db, secretBox, { clientId, name: input.name, metadata, secret: clientSecret });
  return { clientId, clientSecret, metadata };
}

/** Removes a client with every grant and token issued to it, in one transaction. */
export async function removeClient(db: Db, clientId: string): Promise<boolean> {
  return db.transaction().execute((trx) => deleteClient(trx, clientId));
}
