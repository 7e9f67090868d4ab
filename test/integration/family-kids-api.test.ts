import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { Db } from '../../src/db/database.ts';
import type { Child } from '../../src/family/family.tables.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, loginThrough, oidc, openAuthorization, startAuthorization, submitLogin } from '../support/oidc.ts';

type Citizen = { oid: string; login: string; password: string };

/**
 * /rs/prns/{oid}/kids in ESIA's shapes: only the registry-verified children of the token's own
 * citizen, each field only with its kid_* scope, the birth certificate only with kid_birth_cert_doc.
 */
describe('children API /rs/prns/{oid}/kids', () => {
  let idp: TestIdp;
  let db: Db;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let config: oidc.Configuration;
  let parent: Citizen;
  let other: Citizen;
  /** Verified: Пётр (2011, with SNILS), Мария (2015, no middle name, no SNILS). */
  let petr: Child;
  let maria: Child;
  let pending: Child;
  let notFound: Child;
  let othersChild: Child;
  const ALL = 'openid kid_fullname kid_birthdate kid_gender kid_snils kid_birth_cert_doc';

  async function insertChild(parentOid: string, values: Partial<Child> & { first_name: string; cert_number: string }): Promise<Child> {
    return db.insertInto('children').values({
      parent_oid: parentOid, last_name: 'Иванов', middle_name: 'Иванович', birth_date: '2011-02-03', gender: 'M', snils: null,
      cert_series: 'II-МЮ', cert_issue_date: '2011-02-15', cert_issued_by: 'Отдел ЗАГС Арбатского района', check_status: 'verified', ...values,
    }).returningAll().executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    idp = await startTestIdp();
    db = idp.runtime.database.db;
    rp = await idp.makeClient();
    config = await discoverClient(idp.issuer, rp);
    parent = await idp.makeCitizen({ lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', trustLevel: 'confirmed' });
    other = await idp.makeCitizen({ trustLevel: 'standard' });
    maria = await insertChild(parent.oid, { last_name: 'Иванова', first_name: 'Мария', middle_name: null, birth_date: '2015-04-12', gender: 'F', cert_series: 'IV-МЮ', cert_number: '612345', cert_issue_date: '2015-04-20' });
    petr = await insertChild(parent.oid, { first_name: 'Пётр', snils: '34512367861', cert_number: '543210' });
    pending = await insertChild(parent.oid, { first_name: 'Павел', cert_number: '111111', check_status: 'pending' });
    notFound = await insertChild(parent.oid, { first_name: 'Глеб', cert_number: '222222', check_status: 'not_found', reason_code: 'certificate_not_found' });
    othersChild = await insertChild(other.oid, { first_name: 'Чужой', cert_number: '333333' });
  });
  afterAll(() => idp?.close());

  const tokens = new Map<string, string>();
  /** Signs the citizen in through the real pages and redeems the code; cached per citizen and scope. */
  async function tokenFor(citizen: Citizen, scope: string, options: { jwt?: boolean } = {}): Promise<string> {
    const key = `${citizen.oid} ${scope} ${options.jwt ?? false}`;
    if (!tokens.has(key)) {
      const resource: Record<string, string> = options.jwt ? { resource: `${idp.issuer}/rs` } : {};
      const start = await startAuthorization(config, rp.redirectUri, { scope, ...resource });
      const callback = await loginThrough(new BrowserSession(), start, citizen.login, citizen.password);
      const answer = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: start.codeVerifier, expectedState: start.state, expectedNonce: start.nonce }, resource);
      tokens.set(key, answer.access_token);
    }
    return tokens.get(key)!;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function api(path: string, token: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(`${idp.issuer}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  }

  const kids = (oid = parent.oid) => `/rs/prns/${oid}/kids`;
  const ETAG = expect.stringMatching(/^[\w-]{43}$/);

  // ─── the list ────────────────────────────────────────────────────────────────────────────────────

  it('lists only the verified children, oldest first, as links', async () => {
    const { status, body, headers } = await api(kids(), await tokenFor(parent, 'openid kid_fullname'));
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(headers.get('cache-control')).toBe('private, no-cache');
    expect(headers.get('etag')).toMatch(/^"[\w-]{43}"$/);
    expect(body).toEqual({
      stateFacts: ['hasSize'], size: 2, eTag: ETAG,
      elements: [`${idp.issuer}${kids()}/${petr.id}`, `${idp.issuer}${kids()}/${maria.id}`],
    });
  });

  it('embeds the children with every field when every kid scope was granted', async () => {
    const { body } = await api(`${kids()}?embed=(elements)`, await tokenFor(parent, ALL));
    expect(body).toEqual({
      stateFacts: ['hasSize'], size: 2, eTag: ETAG,
      elements: [
        { id: Number(petr.id), stateFacts: ['Identifiable'], firstName: 'Пётр', lastName: 'Иванов', middleName: 'Иванович', birthDate: '03.02.2011', gender: 'M', snils: '345-123-678 61', eTag: ETAG },
        { id: Number(maria.id), stateFacts: ['Identifiable'], firstName: 'Мария', lastName: 'Иванова', birthDate: '12.04.2015', gender: 'F', eTag: ETAG },
      ],
    });
    expect((await api(`${kids()}?embed=(kids)`, await tokenFor(parent, ALL))).status).toBe(400);
  });

  it.each([
    { scope: 'kid_fullname', fields: ['firstName', 'lastName', 'middleName'] },
    { scope: 'kid_birthdate', fields: ['birthDate'] },
    { scope: 'kid_gender', fields: ['gender'] },
    { scope: 'kid_snils', fields: ['snils'] },
    { scope: 'kid_birth_cert_doc', fields: [] },
  ])('shows with $scope alone only its fields', async ({ scope, fields }) => {
    const token = await tokenFor(parent, `openid ${scope}`);
    const { status, body } = await api(`${kids()}/${petr.id}`, token);
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['id', 'stateFacts', 'eTag', ...fields].sort());
    expect(body.id).toBe(Number(petr.id));
    const list = await api(`${kids()}?embed=(elements)`, token);
    expect(list.body.size).toBe(2);
  });

  it('answers 304 to a matching If-None-Match and a new tag when the content differs', async () => {
    const token = await tokenFor(parent, ALL);
    const first = await api(`${kids()}/${maria.id}`, token);
    const again = await api(`${kids()}/${maria.id}`, token, { 'if-none-match': first.headers.get('etag')! });
    expect(again.status).toBe(304);
    const narrower = await api(`${kids()}/${maria.id}`, await tokenFor(parent, 'openid kid_fullname'), { 'if-none-match': first.headers.get('etag')! });
    expect(narrower.status).toBe(200);
    expect(narrower.body.eTag).not.toBe(first.body.eTag);
  });

  it('serves an RFC 9068 JWT access token for the person API too', async () => {
    const token = await tokenFor(parent, 'openid kid_fullname kid_birthdate', { jwt: true });
    expect(decodeJwt(token)).toMatchObject({ aud: `${idp.issuer}/rs`, sub: parent.oid });
    const { status, body } = await api(`${kids()}/${maria.id}`, token);
    expect(status).toBe(200);
    expect(body).toMatchObject({ firstName: 'Мария', birthDate: '12.04.2015' });
    expect(body).not.toHaveProperty('gender');
  });

  // ─── the birth certificate ───────────────────────────────────────────────────────────────────────

  it('gives the birth certificate only with kid_birth_cert_doc', async () => {
    const refused = await api(`${kids()}/${petr.id}/docs`, await tokenFor(parent, 'openid kid_fullname kid_birthdate kid_gender kid_snils'));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('rest.insufficient_scope');
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="esia-rs", error="insufficient_scope", scope="kid_birth_cert_doc"');

    const token = await tokenFor(parent, 'openid kid_birth_cert_doc');
    const docs = await api(`${kids()}/${petr.id}/docs`, token);
    expect(docs.status).toBe(200);
    expect(docs.body).toEqual({ stateFacts: ['hasSize'], size: 1, eTag: ETAG, elements: [`${idp.issuer}${kids()}/${petr.id}/docs/${petr.id}`] });
    const certificate = { id: Number(petr.id), stateFacts: ['Identifiable'], type: 'BRTH_CERT', series: 'II-МЮ', number: '543210', issueDate: '15.02.2011', issuedBy: 'Отдел ЗАГС Арбатского района', vrfStu: 'VERIFIED', eTag: ETAG };
    expect((await api(`${kids()}/${petr.id}/docs?embed=(elements)`, token)).body.elements).toEqual([certificate]);
    const one = await api(`${kids()}/${petr.id}/docs/${petr.id}`, token);
    expect(one.body).toEqual(certificate);
    for (const path of [`${kids()}/${petr.id}/docs/${maria.id}`, `${kids()}/${petr.id}/docs/999999`, `${kids()}/${pending.id}/docs`]) {
      expect({ path, status: (await api(path, token)).status }).toEqual({ path, status: 404 });
    }
  });

  // ─── refusals ────────────────────────────────────────────────────────────────────────────────────

  it('refuses a token without any kid scope with 403 insufficient_scope naming kid_fullname', async () => {
    const token = await tokenFor(parent, 'openid fullname birthdate snils');
    for (const path of [kids(), `${kids()}/${petr.id}`, `${kids()}/${petr.id}/docs`]) {
      const { status, body, headers } = await api(path, token);
      expect({ path, status, error: body.error }).toEqual({ path, status: 403, error: 'rest.insufficient_scope' });
      expect(headers.get('www-authenticate')).toBe('Bearer realm="esia-rs", error="insufficient_scope", scope="kid_fullname"');
    }
  });

  it('finds nothing but verified children of the token’s own citizen (404)', async () => {
    const token = await tokenFor(parent, ALL);
    for (const id of [pending.id, notFound.id, othersChild.id, '999999', 'abc', '01']) {
      const { status, body } = await api(`${kids()}/${id}`, token);
      expect({ id, status, error: body.error }).toEqual({ id, status: 404, error: 'rest.not_found' });
    }
  });

  it('refuses another citizen’s OID with 403 and answers 401 without a usable token', async () => {
    const token = await tokenFor(parent, ALL);
    for (const path of [kids(other.oid), `${kids(other.oid)}/${othersChild.id}`, `${kids(other.oid)}/${othersChild.id}/docs`]) {
      const { status, body } = await api(path, token);
      expect({ path, status, error: body.error }).toEqual({ path, status: 403, error: 'rest.forbidden_subject' });
    }
    expect((await api('/rs/prns/me/kids', token)).status).toBe(404);
    const anonymous = await api(kids(), undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="esia-rs"');
    const invalid = await api(kids(), 'not-a-token');
    expect(invalid.status).toBe(401);
    expect(invalid.headers.get('www-authenticate')).toBe('Bearer realm="esia-rs", error="invalid_token"');
  });

  it('lists no children for a citizen who has none, and shows the kid scopes on the consent page', async () => {
    const childless = await idp.makeCitizen();
    const { status, body } = await api(kids(childless.oid), await tokenFor(childless, 'openid kid_fullname'));
    expect(status).toBe(200);
    expect(body).toEqual({ stateFacts: ['hasSize'], size: 0, eTag: ETAG, elements: [] });

    const browser = new BrowserSession();
    const start = await startAuthorization(config, rp.redirectUri, { scope: 'openid kid_fullname kid_birth_cert_doc' });
    const consent = await submitLogin(browser, await openAuthorization(browser, start), other.login, other.password, rp.redirectUri);
    expect(consent.html).toContain('data-scope="kid_fullname">ФИО ваших детей<');
    expect(consent.html).toContain('data-scope="kid_birth_cert_doc">Свидетельства о рождении ваших детей<');
  });
});
