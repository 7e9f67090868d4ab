import type { Db } from '../../src/db/database.ts';
import type { OrgRole } from '../../src/organisations/memberships.ts';
import type { PoaRight } from '../../src/powers/powers.repository.ts';
import type { TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, exchangeCode, oidc, openAuthorization, startAuthorization, submitConsent, submitLogin, type AuthorizationStart } from '../support/oidc.ts';
import { formAction, type Page } from '../support/browser-session.ts';

/**
 * Fixtures for the role-choice tests: organisations, members and powers of attorney written
 * straight into their tables (their own pages are tested in their areas), and an RP walking an
 * authorization through the login, the role page and consent.
 */

let sequence = 0;

/** A unique 10-digit INN and 13-digit OGRN per organisation (the tables keep them unique). */
function uniqueNumbers(): { inn: string; ogrn: string } {
  const n = String(Date.now() % 1e6).padStart(6, '0') + String(++sequence % 1000).padStart(3, '0');
  return { inn: `7${n}`, ogrn: `102${n}0` };
}

export async function makeOrganisation(db: Db, input: { fullName: string; shortName?: string | null; kind?: 'legal' | 'sole_proprietor'; kpp?: string | null }) {
  const numbers = uniqueNumbers();
  const kind = input.kind ?? 'legal';
  const row = await db
    .insertInto('organisations')
    .values({ kind, full_name: input.fullName, short_name: input.shortName ?? null, inn: numbers.inn, ogrn: numbers.ogrn, kpp: kind === 'legal' ? (input.kpp ?? '770101001') : null, created_at: new Date() })
    .returning('oid')
    .executeTakeFirstOrThrow();
  return { oid: String(row.oid), ...numbers, fullName: input.fullName, shortName: input.shortName ?? null, kpp: kind === 'legal' ? (input.kpp ?? '770101001') : null };
}

export async function addMember(db: Db, organisationOid: string, citizenOid: string, roles: OrgRole[]): Promise<void> {
  await db.insertInto('organisation_members').values({ organisation_oid: organisationOid, citizen_oid: citizenOid, roles, joined_at: new Date() }).execute();
}

/** An active power of attorney from a citizen (or an organisation) to a representative, valid for a year from yesterday. */
export async function grantPower(db: Db, input: {
  principalOid: string; principalKind?: 'citizen' | 'organisation'; representativeOid: string; rights?: PoaRight[]; clientIds?: string[] | null; validTo?: Date;
}): Promise<string> {
  const kind = input.principalKind ?? 'citizen';
  const now = Date.now();
  const row = await db
    .insertInto('powers_of_attorney')
    .values({
      principal_kind: kind,
      principal_citizen_oid: kind === 'citizen' ? input.principalOid : null,
      principal_organisation_oid: kind === 'organisation' ? input.principalOid : null,
      representative_oid: input.representativeOid,
      rights: input.rights ?? ['view'],
      client_ids: input.clientIds ?? null,
      valid_from: new Date(now - 86_400_000),
      valid_to: input.validTo ?? new Date(now + 365 * 86_400_000),
      state: 'active',
      created_by_oid: input.principalOid,
      created_at: new Date(now - 86_400_000),
      activated_at: new Date(now - 86_400_000),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

export interface Rp {
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  config: oidc.Configuration;
}

export async function makeRp(idp: TestIdp, input: Parameters<TestIdp['makeClient']>[0] = {}): Promise<Rp> {
  const client = await idp.makeClient({ redirectUris: [`http://127.0.0.1:9/cb-${++sequence}`], ...input });
  return { ...client, config: await discoverClient(idp.issuer, client) };
}

/** One authorization in flight: the browser, what the RP sent, and the page the IdP shows now. */
export interface Flow {
  browser: BrowserSession;
  start: AuthorizationStart;
  page: Page;
}

/** Opens the authorization and signs in (when the login page shows): stops at the next IdP page or at the RP. */
export async function signIn(rp: Rp, citizen: { login: string; password: string }, params: Record<string, string> = {}, browser = new BrowserSession()): Promise<Flow> {
  const start = await startAuthorization(rp.config, rp.redirectUri, params);
  let page = await openAuthorization(browser, start);
  if (!page.url.startsWith(rp.redirectUri) && page.html.includes('/login"')) page = await submitLogin(browser, page, citizen.login, citizen.password, rp.redirectUri);
  return { browser, start, page };
}

export function atRolePage(flow: Flow): boolean {
  return /\/interaction\/[^/]+\/role$/.test(new URL(flow.page.url).pathname) && flow.page.status === 200;
}

/** Posts the role form with `role` (person, org:<oid>, poa:<id>); returns the next page (or the redirect to the RP). */
export async function chooseRole(flow: Flow, role: string): Promise<Flow> {
  const page = await flow.browser.submit(formAction(flow.page, '/role'), { role }, (url) => url.startsWith(flow.start.redirectUri));
  return { ...flow, page };
}

/** Agrees on the consent page when it shows; returns the callback URL the RP receives. */
export async function finishAtRp(flow: Flow): Promise<URL> {
  let page = flow.page;
  if (!page.url.startsWith(flow.start.redirectUri) && page.html.includes('/confirm"')) page = await submitConsent(flow.browser, page, flow.start.redirectUri);
  if (!page.url.startsWith(flow.start.redirectUri)) throw new Error(`expected a redirect to the RP, got ${page.status} ${page.url}: ${page.html.slice(0, 400)}`);
  return new URL(page.url);
}

export async function tokensOf(rp: Rp, flow: Flow, tokenParams?: Record<string, string>) {
  const callback = await finishAtRp(flow);
  if (!tokenParams) return exchangeCode(rp.config, flow.start, callback);
  return oidc.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: flow.start.codeVerifier, expectedState: flow.start.state, expectedNonce: flow.start.nonce }, tokenParams);
}

/** RFC 7662 introspection by the RP itself (client_secret_basic). */
export async function introspect(idp: TestIdp, rp: Rp, token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(rp.clientId)}:${encodeURIComponent(rp.clientSecret!)}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  if (response.status !== 200) throw new Error(`introspection answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

export async function bearerGet(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> | undefined; wwwAuthenticate: string | null }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, wwwAuthenticate: response.headers.get('www-authenticate') };
}

/** The token endpoint's answer to a refresh, as status and body (openid-client would throw). */
export async function refresh(idp: TestIdp, rp: Rp, refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(rp.clientId)}:${encodeURIComponent(rp.clientSecret!)}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function userinfo(idp: TestIdp, token: string) {
  return bearerGet(`${idp.issuer}/me`, token);
}
