import type { Context } from 'koa';
import * as client from 'openid-client';
import { describeError } from './idp.client.ts';
import type { LoginPurpose } from './mosru.tables.ts';
import { createLoginTransaction, LOGIN_TRANSACTION_TTL_MS, takeLoginTransaction, type LoginTransaction } from './session.store.ts';
import { cookieOptions, log, LOGIN_COOKIE, type MosruDeps } from './web.ts';

/**
 * The two round trips to the IdP — «Подключить Госуслуги» (bind) and «Войти через Госуслуги»
 * (login) — share one redirect URI (`/callback`, the one registered at the IdP); the login
 * transaction remembers which it was. Authorization code + PKCE S256 + state + nonce, with the
 * minimum trust level in `acr_values`.
 */
export async function redirectToIdp(ctx: Context, deps: MosruDeps, purpose: LoginPurpose, accountId: string | null): Promise<void> {
  const config = await deps.idp.configuration();
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: `${deps.baseUrl}/callback`,
    scope: purpose === 'bind' ? deps.bindScopes : deps.loginScopes,
    response_type: 'code',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    acr_values: deps.minTrustLevel,
    // Binding asks for offline_access, which the IdP grants only on an explicit consent; the
    // citizen should see what Mos.ru will receive anyway.
    ...(purpose === 'bind' ? { prompt: 'consent' } : {}),
  });
  const token = await createLoginTransaction(deps.db, deps.clock, { purpose, state, nonce, codeVerifier, accountId });
  ctx.cookies.set(LOGIN_COOKIE, token, cookieOptions(deps, LOGIN_TRANSACTION_TTL_MS));
  ctx.set('Cache-Control', 'no-store');
  ctx.status = 303;
  ctx.redirect(url.href);
}

export type Tokens = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

export type CallbackResult =
  | { kind: 'tokens'; transaction: LoginTransaction; tokens: Tokens }
  /** The IdP said no: the citizen refused, went back from the trust-level page, or the request was not acceptable. */
  | { kind: 'idp_error'; transaction: LoginTransaction; error: string; description?: string }
  /** Nothing to trust: no transaction, or a response that failed validation. */
  | { kind: 'invalid'; message: string; error?: string };

/** Takes the transaction (once) and lets openid-client check state, `iss`, the code exchange and the ID token. */
export async function receiveCallback(ctx: Context, deps: MosruDeps): Promise<CallbackResult> {
  const transaction = await takeLoginTransaction(deps.db, deps.clock, ctx.cookies.get(LOGIN_COOKIE));
  ctx.cookies.set(LOGIN_COOKIE, null, cookieOptions(deps));
  if (!transaction) return { kind: 'invalid', message: 'Время ожидания истекло или вход был начат в другом окне. Начните заново.' };
  const config = await deps.idp.configuration();
  const currentUrl = new URL(`${deps.baseUrl}/callback`);
  currentUrl.search = ctx.querystring;
  try {
    const tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: transaction.codeVerifier,
      expectedState: transaction.state,
      expectedNonce: transaction.nonce,
      idTokenExpected: true,
    });
    return { kind: 'tokens', transaction, tokens };
  } catch (error) {
    if (error instanceof client.AuthorizationResponseError) {
      log(ctx).info({ error: error.error, purpose: transaction.purpose }, 'refused by the IdP');
      return { kind: 'idp_error', transaction, error: error.error, description: error.error_description };
    }
    if (error instanceof client.ResponseBodyError || error instanceof client.WWWAuthenticateChallengeError || error instanceof client.ClientError) {
      log(ctx).warn({ error: describeError(error) }, 'IdP response rejected');
      return {
        kind: 'invalid',
        message: 'Не удалось проверить ответ Госуслуг. Начните заново.',
        error: error instanceof client.ResponseBodyError ? error.error : error.code,
      };
    }
    throw error;
  }
}

/** Words for an IdP refusal; the IdP's own code and text are shown beside them. */
export function idpRefusalMessage(purpose: LoginPurpose, error: string, description: string | undefined): string {
  if (error === 'access_denied' && description?.startsWith('ESIA-007055')) {
    return 'Уровень вашей учётной записи на Госуслугах ниже, чем нужен Мос.ру. Повысьте уровень учётной записи на Госуслугах и попробуйте снова.';
  }
  if (error === 'access_denied') {
    return purpose === 'bind' ? 'Вы не разрешили Мос.ру получать данные с Госуслуг.' : 'Вы отказались предоставить доступ к данным или отменили вход.';
  }
  return purpose === 'bind' ? 'Госуслуги не подтвердили подключение.' : 'Госуслуги не подтвердили вход.';
}
