import { personApiResource } from '../src/oidc/resource-server.ts';
import type { Limit } from './limits.ts';
import { runHttpLoad, runLoop, type LoadResult } from './load.ts';
import { basicAuth, loginRoundTrip, type Endpoints } from './login-flow.ts';
import type { BenchCitizen, BenchClient } from './seed.ts';

export interface BenchContext {
  endpoints: Endpoints;
  /** The relying parties the load comes from. */
  clients: BenchClient[];
  /** Opaque access tokens from real sign-ins, each with its citizen's OID and the RP it was issued to. */
  sessions: Array<{ oid: string; accessToken: string; client: BenchClient }>;
  /** Unspent refresh tokens: each is spent once, and the one it rotates to goes back in. */
  refreshTokens: Array<{ token: string; client: BenchClient }>;
  /** Citizens who already consented to their RP, so each round trip is the everyday one. */
  logins: Array<{ citizen: BenchCitizen; client: BenchClient }>;
  seconds: number;
  connections: number;
}

export interface Target {
  minOpsPerSecond?: number;
  /** Of the baseline (bare oidc-provider) in the same run. */
  baselineRatio?: number;
  p99Ms?: number;
}

export interface Scenario {
  name: string;
  what: string;
  /** Also driven against the baseline (bare oidc-provider); the person API is ours alone. */
  baseline: boolean;
  /** An API scenario: also driven against the IdP at IDP_WORKERS=2 (--workers-compare). */
  api: boolean;
  /**
   * What the scenario needs stored beforehand: `tokens` (access and refresh tokens from sign-ins),
   * `consents` (the login citizens' remembered consent). The baseline's in-memory adapter keeps
   * only about a thousand entries, so it signs in again before such a scenario.
   */
  needs?: 'tokens' | 'consents';
  /** The limit that bounds it, with why; none for discovery and JWKS (no hashing, no signing). */
  bound?: { limit: Limit['name']; why: string };
  target: Target;
  run(context: BenchContext): Promise<LoadResult>;
}

const PERSON_EMBED = '?embed=(contacts.elements,addresses.elements,documents.elements)';
const FORM = 'application/x-www-form-urlencoded';

/** Hands out items round-robin: each request takes the next token (and its citizen). */
function rotate<T>(items: T[]): () => T {
  let next = 0;
  return () => items[next++ % items.length];
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'discovery',
    baseline: true,
    api: true,
    what: 'GET /.well-known/openid-configuration',
    target: { minOpsPerSecond: 5000 },
    run: (c) => runHttpLoad({ url: c.endpoints.discovery, check: (b) => b.includes('"issuer"') }, c.seconds, c.connections),
  },
  {
    name: 'jwks',
    baseline: true,
    api: true,
    what: 'GET the JWKS (jwks_uri)',
    target: { minOpsPerSecond: 5000 },
    run: (c) => runHttpLoad({ url: c.endpoints.jwks, check: (b) => b.includes('"keys"') }, c.seconds, c.connections),
  },
  {
    name: 'client_credentials',
    baseline: true,
    api: true,
    what: 'POST /token grant_type=client_credentials, resource=<issuer>/rs: an RFC 9068 JWT access token (RS256)',
    bound: { limit: 'RS256 sign', why: 'one JWT access token signed per request' },
    target: { minOpsPerSecond: 1000, baselineRatio: 0.5, p99Ms: 50 },
    run: (c) => {
      const next = rotate(c.clients);
      return runHttpLoad({
        url: c.endpoints.token,
        method: 'POST',
        headers: { 'content-type': FORM },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: personApiResource(c.endpoints.issuer) }).toString(),
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: basicAuth(next()) } }),
        check: (b) => /"access_token":"[\w-]+\.[\w-]+\.[\w-]+"/.test(b),
      }, c.seconds, c.connections);
    },
  },
  {
    name: 'refresh_token',
    baseline: true,
    api: true,
    needs: 'tokens',
    what: 'POST /token grant_type=refresh_token with rotation: every token is spent once and its successor reused',
    bound: { limit: 'RS256 sign', why: 'one ID token signed per request (plus a consumed and a new refresh token in the database)' },
    target: { minOpsPerSecond: 1000, baselineRatio: 0.5, p99Ms: 50 },
    run: (c) => {
      const pool = c.refreshTokens;
      // Each request is built right after the previous response was read (autocannon's order), so
      // the pool never runs dry unless refreshes fail; then a placeholder shows up as an error
      // (replaying a spent token instead would revoke its whole grant).
      return runHttpLoad({
        url: c.endpoints.token,
        method: 'POST',
        headers: { 'content-type': FORM },
        setupRequest: (request, context) => {
          const entry = pool.shift() ?? { token: 'refresh-token-pool-exhausted', client: c.clients[0] };
          context.client = entry.client;
          return {
            ...request,
            headers: { ...request.headers, authorization: basicAuth(entry.client) },
            body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(entry.token)}`,
          };
        },
        onResponse: (status, body, context) => {
          if (status !== 200) return;
          const token = (JSON.parse(body) as { refresh_token?: string }).refresh_token;
          if (token) pool.push({ token, client: context.client as BenchClient });
        },
        check: (b) => b.includes('"refresh_token"') && b.includes('"id_token"'),
      }, c.seconds, c.connections);
    },
  },
  {
    name: 'introspection',
    baseline: true,
    api: true,
    needs: 'tokens',
    what: 'POST /token/introspection of opaque access tokens (the client\'s own)',
    target: { minOpsPerSecond: 2000, p99Ms: 50 },
    run: (c) => {
      const next = rotate(c.sessions);
      return runHttpLoad({
        url: c.endpoints.introspection,
        method: 'POST',
        headers: { 'content-type': FORM },
        // A client may introspect only its own tokens: each is asked about by the RP it was issued to.
        setupRequest: (request) => {
          const session = next();
          return { ...request, headers: { ...request.headers, authorization: basicAuth(session.client) }, body: `token=${encodeURIComponent(session.accessToken)}` };
        },
        check: (b) => b.includes('"active":true'),
      }, c.seconds, c.connections);
    },
  },
  {
    name: 'userinfo',
    baseline: true,
    api: true,
    needs: 'tokens',
    what: 'GET /me with opaque access tokens (all ESIA scopes: claims from citizens, documents, addresses)',
    target: { minOpsPerSecond: 2000, p99Ms: 50 },
    run: (c) => {
      const next = rotate(c.sessions);
      return runHttpLoad({
        url: c.endpoints.userinfo,
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${next().accessToken}` } }),
        check: (b) => b.includes('"sub"') && b.includes('urn:esia:snils'),
      }, c.seconds, c.connections);
    },
  },
  {
    name: 'person_api',
    baseline: false,
    api: true,
    needs: 'tokens',
    what: `GET /rs/prns/{oid}${PERSON_EMBED} with opaque access tokens`,
    target: { minOpsPerSecond: 2000, p99Ms: 50 },
    run: (c) => {
      const next = rotate(c.sessions);
      const path = new URL(c.endpoints.issuer).pathname.replace(/\/$/, '');
      return runHttpLoad({
        url: c.endpoints.origin,
        setupRequest: (request) => {
          const session = next();
          return { ...request, path: `${path}/rs/prns/${session.oid}${PERSON_EMBED}`, headers: { ...request.headers, authorization: `Bearer ${session.accessToken}` } };
        },
        check: (b) => b.includes('"contacts"') && b.includes('"addresses"') && b.includes('"documents"'),
      }, c.seconds, c.connections);
    },
  },
  {
    name: 'login',
    baseline: true,
    api: false,
    needs: 'consents',
    what: 'browserless round trip: authorize → login page → login POST → consent remembered → code → token',
    bound: { limit: 'argon2id verify', why: 'one argon2id verify per round trip' },
    target: { baselineRatio: 0.8 },
    run: (c) => {
      const next = rotate(c.logins);
      return runLoop(async () => {
        const { citizen, client } = next();
        await loginRoundTrip(c.endpoints, client, citizen, { allowConsent: false });
      }, c.seconds, c.connections);
    },
  },
];
