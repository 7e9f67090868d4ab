// Signing a citizen in with esia-idp from a Node relying party, using openid-client.
// The test suite runs this file (test/e2e/integration-guide.test.ts), so it stays true.
import * as oidc from 'openid-client';

export async function startSignIn(issuer: string, clientId: string, clientSecret: string, redirectUri: string) {
  const config = await oidc.discovery(new URL(issuer), clientId, clientSecret, undefined, {
    execute: issuer.startsWith('http://') ? [oidc.allowInsecureRequests] : [], // local development only
  });
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid fullname birthdate snils',
    acr_values: 'standard', // the minimum trust level this service accepts
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { config, url, checks: { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce } };
}

export async function finishSignIn(started: Awaited<ReturnType<typeof startSignIn>>, callbackUrl: URL) {
  const tokens = await oidc.authorizationCodeGrant(started.config, callbackUrl, started.checks);
  const { sub: oid, acr } = tokens.claims()!; // the citizen's OID and trust level
  const personUrl = new URL(`${started.config.serverMetadata().issuer}/rs/prns/${oid}`);
  const person = await oidc.fetchProtectedResource(started.config, tokens.access_token, personUrl, 'GET');
  return { oid, acr, person: await person.json(), userinfo: await oidc.fetchUserInfo(started.config, tokens.access_token, oid) };
}
