import { createHash, randomBytes } from 'node:crypto';
import { BrowserSession, formAction, type Page } from '../test/support/browser-session.ts';
import { BENCH_PASSWORD, type BenchCitizen, type BenchClient } from './seed.ts';

export interface Endpoints {
  /** The issuer identifier (what `resource` indicators and tokens name). */
  issuer: string;
  /** Where this instance listens: the issuer's origin, or another port of the same IdP (a second instance). */
  origin: string;
  discovery: string;
  authorization: string;
  token: string;
  introspection: string;
  userinfo: string;
  jwks: string;
}

/** Everything the person API can embed, and the claims userinfo builds from the same rows. */
export const BENCH_SCOPE = 'openid fullname birthdate gender snils inn id_doc email mobile contacts addresses';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  idToken: string;
}

export async function readEndpoints(issuer: string): Promise<Endpoints> {
  const discovery = `${issuer}/.well-known/openid-configuration`;
  const response = await fetch(discovery);
  if (!response.ok) throw new Error(`discovery answered ${response.status}`);
  const metadata = (await response.json()) as Record<string, string>;
  return {
    issuer,
    origin: new URL(issuer).origin,
    discovery,
    authorization: metadata.authorization_endpoint,
    token: metadata.token_endpoint,
    introspection: metadata.introspection_endpoint,
    userinfo: metadata.userinfo_endpoint,
    jwks: metadata.jwks_uri,
  };
}

export function basicAuth(client: BenchClient): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
}

/**
 * One browserless sign-in as an RP and a citizen do it: authorize (PKCE) → the login page → the
 * login form POST (one argon2id verify) → consent, when not remembered yet → the code at the
 * redirect URI → the code exchanged at the token endpoint. A fresh cookie jar each time, so every
 * round trip creates a new session like a new browser would.
 */
export async function loginRoundTrip(endpoints: Endpoints, client: BenchClient, citizen: BenchCitizen, options: { allowConsent: boolean }): Promise<Tokens & { consentShown: boolean }> {
  const browser = new BrowserSession();
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const authorize = new URL(endpoints.authorization);
  authorize.search = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    response_type: 'code',
    scope: BENCH_SCOPE,
    state,
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const atRp = (url: string) => url.startsWith(client.redirectUri);

  let page = await browser.open(authorize.toString(), atRp);
  expectStep(page, 'login page', () => page.status === 200 && page.html.includes('/login"'));
  page = await browser.submit(formAction(page, '/login'), { login: citizen.login, password: BENCH_PASSWORD }, atRp);
  let consentShown = false;
  if (!atRp(page.url) && page.html.includes('/confirm"')) {
    consentShown = true;
    if (!options.allowConsent) throw new Error('consent was asked again (expected it remembered)');
    page = await browser.submit(formAction(page, '/confirm'), { agree: 'yes' }, atRp);
  }
  expectStep(page, 'redirect to the RP', () => atRp(page.url));
  const callback = new URL(page.url);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error(`redirect without a code: ${callback.search.slice(0, 200)}`);

  const response = await fetch(endpoints.token, {
    method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }),
  });
  const body = (await response.json()) as Record<string, string>;
  if (!response.ok) throw new Error(`code exchange answered ${response.status} ${body.error ?? ''}`);
  return { accessToken: body.access_token, refreshToken: body.refresh_token, idToken: body.id_token, consentShown };
}

function expectStep(page: Page, step: string, check: () => boolean): void {
  if (!check()) throw new Error(`expected the ${step}, got ${page.status} ${new URL(page.url).pathname}`);
}

/** Runs `task` over `items` with at most `concurrency` at a time, in order of the items. */
export async function mapConcurrently<T, R>(items: T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** The same IdP's endpoints at another instance (same issuer, another port): what a load balancer would spread. */
export function endpointsAt(endpoints: Endpoints, origin: string): Endpoints {
  const at = (url: string) => {
    const moved = new URL(url);
    const target = new URL(origin);
    moved.protocol = target.protocol;
    moved.host = target.host;
    return moved.toString();
  };
  return {
    issuer: endpoints.issuer,
    origin: new URL(origin).origin,
    discovery: at(endpoints.discovery),
    authorization: at(endpoints.authorization),
    token: at(endpoints.token),
    introspection: at(endpoints.introspection),
    userinfo: at(endpoints.userinfo),
    jwks: at(endpoints.jwks),
  };
}
