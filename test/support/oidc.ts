import * as oidc from 'openid-client';
import { BrowserSession, formAction, type Page } from './browser-session.ts';

/**
 * A relying party built on the real `openid-client`, and the steps of an authorization walked
 * through the IdP's own pages.
 */
export async function discoverClient(issuer: string, client: { clientId: string; clientSecret?: string }): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(issuer),
    client.clientId,
    client.clientSecret ? { client_secret: client.clientSecret } : { token_endpoint_auth_method: 'none' },
    client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
}

export interface AuthorizationStart {
  url: URL;
  codeVerifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
}

export async function startAuthorization(config: oidc.Configuration, redirectUri: string, params: Record<string, string> = {}): Promise<AuthorizationStart> {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid fullname email mobile',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url, codeVerifier, state, nonce, redirectUri };
}

/** Opens the authorization URL and stops at the first IdP page, or at the redirect back to the RP. */
export async function openAuthorization(browser: BrowserSession, start: AuthorizationStart): Promise<Page> {
  return browser.open(start.url.toString(), (url) => url.startsWith(start.redirectUri));
}

export async function submitLogin(browser: BrowserSession, page: Page, login: string, password: string, redirectUri: string): Promise<Page> {
  return browser.submit(formAction(page, '/login'), { login, password }, (url) => url.startsWith(redirectUri));
}

export async function submitConsent(browser: BrowserSession, page: Page, redirectUri: string, decision: 'confirm' | 'abort' = 'confirm'): Promise<Page> {
  return browser.submit(formAction(page, `/${decision}`), decision === 'confirm' ? { agree: 'yes' } : {}, (url) => url.startsWith(redirectUri));
}

/** Login then consent (when asked): returns the callback URL the RP receives. */
export async function loginThrough(browser: BrowserSession, start: AuthorizationStart, login: string, password: string): Promise<URL> {
  let page = await openAuthorization(browser, start);
  if (page.html.includes('/login"')) page = await submitLogin(browser, page, login, password, start.redirectUri);
  if (!page.url.startsWith(start.redirectUri) && page.html.includes('/confirm"')) page = await submitConsent(browser, page, start.redirectUri);
  if (!page.url.startsWith(start.redirectUri)) throw new Error(`expected a redirect to the RP, got ${page.status} ${page.url}: ${page.html.slice(0, 300)}`);
  return new URL(page.url);
}

export async function exchangeCode(config: oidc.Configuration, start: AuthorizationStart, callback: URL) {
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.codeVerifier, expectedState: start.state, expectedNonce: start.nonce });
}

export { oidc };
export { BrowserSession };
