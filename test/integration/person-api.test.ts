import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, discoverClient, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';

type Citizen = { oid: string; login: string; password: string };
type Rp = { clientId: string; clientSecret?: string; redirectUri: string };

/** Every field the person root may carry besides the always-present facts. */
const DATA_FIELDS = ['firstName', 'lastName', 'middleName', 'citizenship', 'birthDate', 'gender', 'birthPlace', 'snils', 'inn', 'rIdDoc'];
const ALWAYS = ['stateFacts', 'trusted', 'status', 'verifying', 'updatedOn', 'eTag'];

describe('person API /rs/prns', () => {
  let idp: TestIdp;
  let rp: Rp;
  let config: oidc.Configuration;
  /** Confirmed, with all identity data, a passport and two addresses. */
  let ivanov: Citizen;
  /** Standard, phone only, nothing else filled in, a registry check pending. */
  let smirnova: Citizen;
  let passportId: string;
  let addressIds: { PRG: string; PLV: string };

  beforeAll(async () => {
    idp = await startTestIdp();
    rp = await idp.makeClient();
    config = await discoverClient(idp.issuer, rp);
    const db = idp.runtime.database.db;

    ivanov = await idp.makeCitizen({ lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', email: 'ivanov@example.ru', phone: '+7 999 000-11-22', trustLevel: 'confirmed' });
    await db.updateTable('citizens').set({ birth_date: '1985-03-07', gender: 'M', birth_place: 'г. Тверь', citizenship: 'RUS', snils: '11223344595', inn: '500100732259' }).where('oid', '=', ivanov.oid).execute();
    passportId = (await db.insertInto('citizen_documents').values({
      citizen_oid: ivanov.oid, type: 'RF_PASSPORT', series: '4510', number: '123456', issue_date: '2005-04-12', issue_id: '770-001', issued_by: 'ОВД района Тверской г. Москвы', vrf_status: 'verified',
    }).returning('id').executeTakeFirstOrThrow()).id;
    const addresses = await db.insertInto('citizen_addresses').values([
      { citizen_oid: ivanov.oid, type: 'PRG', address_str: '125009, г. Москва, ул. Тверская, д. 1, кв. 2', zip_code: '125009', region: 'Москва', city: 'Москва', street: 'ул. Тверская', house: '1', flat: '2' },
      { citizen_oid: ivanov.oid, type: 'PLV', address_str: 'г. Тверь, ул. Советская, д. 5' },
    ]).returning(['id', 'type']).execute();
    addressIds = { PRG: addresses.find((a) => a.type === 'PRG')!.id, PLV: addresses.find((a) => a.type === 'PLV')!.id };

    smirnova = await idp.makeCitizen({ lastName: 'Смирнова', firstName: 'Анна', middleName: undefined, phone: '+7 999 000-33-44', trustLevel: 'standard' });
    await db.insertInto('registry_checks').values({
      citizen_oid: smirnova.oid,
      snapshot: { lastName: 'Смирнова', firstName: 'Анна', middleName: null, birthDate: '1990-01-01', snils: '11223344595', passport: { series: '4510', number: '654321', issueDate: '2010-01-01' } },
    }).execute();
  });
  afterAll(() => idp?.close());

  /** Signs the citizen in through the real pages and redeems the code; `jwt` asks for an RFC 9068 token for the API. */
  async function tokensFor(citizen: Citizen, scope: string, options: { jwt?: boolean; client?: Rp; clientConfig?: oidc.Configuration } = {}) {
    const clientConfig = options.clientConfig ?? config;
    const resource: Record<string, string> = options.jwt ? { resource: `${idp.issuer}/rs` } : {};
    const start = await startAuthorization(clientConfig, (options.client ?? rp).redirectUri, { scope, ...resource });
    const callback = await loginThrough(new BrowserSession(), start, citizen.login, citizen.password);
    return oidc.authorizationCodeGrant(clientConfig, callback, { pkceCodeVerifier: start.codeVerifier, expectedState: start.state, expectedNonce: start.nonce }, resource);
  }

  async function tokenFor(citizen: Citizen, scope: string, options: { jwt?: boolean } = {}): Promise<string> {
    return (await tokensFor(citizen, scope, options)).access_token;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function api(path: string, token: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers; text: string }> {
    const response = await fetch(path.startsWith('http') ? path : `${idp.issuer}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers, text };
  }

  describe('the person root', () => {
    it('shows the names but no other data to a fullname-only token', async () => {
      const token = await tokenFor(ivanov, 'openid fullname');
      const { status, body, headers } = await api(`/rs/prns/${ivanov.oid}`, token);
      expect(status).toBe(200);
      expect(headers.get('content-type')).toMatch(/^application\/json/);
      expect(headers.get('cache-control')).toBe('private, no-cache');
      expect(body).toMatchObject({ stateFacts: ['EntityRoot'], firstName: 'Иван', lastName: 'Иванов', middleName: 'Иванович', citizenship: 'RUS', trusted: true, status: 'REGISTERED', verifying: false });
      for (const field of ['birthDate', 'gender', 'birthPlace', 'snils', 'inn', 'rIdDoc', 'contacts', 'addresses', 'documents']) expect(body).not.toHaveProperty(field);
      expect(Object.keys(body).sort()).toEqual([...ALWAYS, 'firstName', 'lastName', 'middleName', 'citizenship'].sort());
    });

    it('shows only a formatted SNILS to a snils-only token', async () => {
      const { body } = await api(`/rs/prns/${ivanov.oid}`, await tokenFor(ivanov, 'openid snils'));
      expect(body.snils).toBe('112-233-445 95');
      for (const field of DATA_FIELDS.filter((f) => f !== 'snils')) expect(body).not.toHaveProperty(field);
    });

    it('shows every field to a JWT access token granted every data scope', async () => {
      const token = await tokenFor(ivanov, 'openid fullname birthdate gender birthplace snils inn id_doc', { jwt: true });
      expect(decodeJwt(token)).toMatchObject({ aud: `${idp.issuer}/rs`, sub: ivanov.oid });
      const { status, body } = await api(`/rs/prns/${ivanov.oid}`, token);
      expect(status).toBe(200);
      const updatedAt = (await idp.runtime.database.db.selectFrom('citizens').select('updated_at').where('oid', '=', ivanov.oid).executeTakeFirstOrThrow()).updated_at;
      expect(body).toEqual({
        stateFacts: ['EntityRoot'],
        firstName: 'Иван', lastName: 'Иванов', middleName: 'Иванович', citizenship: 'RUS',
        birthDate: '07.03.1985', gender: 'M', birthPlace: 'г. Тверь', snils: '112-233-445 95', inn: '500100732259',
        trusted: true, status: 'REGISTERED', verifying: false, rIdDoc: Number(passportId),
        updatedOn: Math.floor(updatedAt.getTime() / 1000),
        eTag: expect.stringMatching(/^[\w-]{43}$/),
      });
    });

    it('reads the OIDC alias profile as fullname + birthdate + gender', async () => {
      const { body } = await api(`/rs/prns/${ivanov.oid}`, await tokenFor(ivanov, 'openid profile'));
      expect(body).toMatchObject({ firstName: 'Иван', lastName: 'Иванов', birthDate: '07.03.1985', gender: 'M' });
      for (const field of ['birthPlace', 'snils', 'inn', 'rIdDoc']) expect(body).not.toHaveProperty(field);
    });

    it('answers a token with no data scopes with the always-present facts only', async () => {
      const { status, body } = await api(`/rs/prns/${smirnova.oid}`, await tokenFor(smirnova, 'openid'));
      expect(status).toBe(200);
      expect(Object.keys(body).sort()).toEqual([...ALWAYS].sort());
      // Standard, not confirmed; her registry check is still pending.
      expect(body).toMatchObject({ trusted: false, status: 'REGISTERED', verifying: true });
    });

    it('leaves out data the citizen has not given, even with its scope', async () => {
      const { body } = await api(`/rs/prns/${smirnova.oid}`, await tokenFor(smirnova, 'openid fullname birthdate snils id_doc'));
      expect(body).toMatchObject({ firstName: 'Анна', lastName: 'Смирнова' });
      for (const field of ['middleName', 'citizenship', 'birthDate', 'snils', 'rIdDoc']) expect(body).not.toHaveProperty(field);
    });
  });

  describe('embedding collections in the person', () => {
    it('embeds each granted collection with its elements and leaves out the others', async () => {
      const token = await tokenFor(ivanov, 'openid contacts addresses');
      const { status, body } = await api(`/rs/prns/${ivanov.oid}?embed=(contacts.elements,addresses.elements,documents.elements)`, token);
      expect(status).toBe(200);
      expect(body).not.toHaveProperty('documents');
      expect(body.contacts).toMatchObject({
        stateFacts: ['hasSize'], size: 2,
        elements: [
          { id: 1, stateFacts: ['Identifiable'], type: 'MBT', vrfStu: 'VERIFIED', value: '+79990001122' },
          { id: 2, stateFacts: ['Identifiable'], type: 'EML', vrfStu: 'VERIFIED', value: 'ivanov@example.ru' },
        ],
      });
      expect(body.addresses.size).toBe(2);
      expect(body.addresses.elements.map((a: { type: string }) => a.type)).toEqual(['PRG', 'PLV']);
      // An embedded collection is the same as the collection endpoint's answer.
      expect(body.addresses).toEqual((await api(`/rs/prns/${ivanov.oid}/addrs?embed=(elements)`, token)).body);
    });

    it('embeds only the element URLs when a collection is named without .elements', async () => {
      const token = await tokenFor(ivanov, 'openid id_doc');
      const { body } = await api(`/rs/prns/${ivanov.oid}?embed=(documents)`, token);
      expect(body.documents).toMatchObject({ size: 1, elements: [`${idp.issuer}/rs/prns/${ivanov.oid}/docs/${passportId}`] });
      expect(body.rIdDoc).toBe(Number(passportId));
    });

    it('reads each table at most once, however much it embeds', async () => {
      const token = await tokenFor(ivanov, 'openid fullname birthdate snils contacts addresses id_doc');
      const query = vi.spyOn(pg.Client.prototype, 'query');
      const { status, body } = await api(`/rs/prns/${ivanov.oid}?embed=(contacts.elements,addresses.elements,documents.elements)`, token);
      const sql = query.mock.calls.map(([text]) => String(typeof text === 'string' ? text : (text as { text?: string }).text));
      query.mockRestore();
      expect(status).toBe(200);
      expect([body.contacts.size, body.addresses.size, body.documents.size]).toEqual([2, 2, 1]);
      const reads = (table: string) => sql.filter((text) => text.includes(`from "${table}"`)).length;
      expect({ citizens: reads('citizens'), addresses: reads('citizen_addresses'), documents: reads('citizen_documents'), checks: reads('registry_checks') })
        .toEqual({ citizens: 1, addresses: 1, documents: 1, checks: 1 });
    });

    it('refuses a malformed embed with 400', async () => {
      const token = await tokenFor(ivanov, 'openid contacts');
      for (const query of ['embed=contacts.elements', 'embed=(vehicles.elements)', 'embed=(contacts.elements', 'embed=()', 'embed=(contacts.items)', 'embed=(contacts,contacts.elements)', 'embed=(contacts)&embed=(addresses)']) {
        const { status, body } = await api(`/rs/prns/${ivanov.oid}?${query}`, token);
        expect({ query, status, error: body.error }).toEqual({ query, status: 400, error: 'rest.invalid_embed' });
      }
      for (const query of ['embed=(contacts)', 'embed=(elements,elements)', 'embed=elements']) {
        const { status, body } = await api(`/rs/prns/${ivanov.oid}/ctts?${query}`, token);
        expect({ query, status, error: body.error }).toEqual({ query, status: 400, error: 'rest.invalid_embed' });
      }
    });
  });

  describe('collections and their items', () => {
    it('lists addresses as absolute URLs that each answer with the item', async () => {
      const token = await tokenFor(ivanov, 'openid addresses', { jwt: true });
      const { status, body } = await api(`/rs/prns/${ivanov.oid}/addrs`, token);
      expect(status).toBe(200);
      expect(body).toEqual({
        stateFacts: ['hasSize'], size: 2, eTag: expect.any(String),
        elements: [`${idp.issuer}/rs/prns/${ivanov.oid}/addrs/${addressIds.PRG}`, `${idp.issuer}/rs/prns/${ivanov.oid}/addrs/${addressIds.PLV}`],
      });
      const registration = await api(body.elements[0], token);
      expect(registration.body).toEqual({
        id: Number(addressIds.PRG), stateFacts: ['Identifiable'], type: 'PRG', addressStr: '125009, г. Москва, ул. Тверская, д. 1, кв. 2',
        zipCode: '125009', region: 'Москва', city: 'Москва', street: 'ул. Тверская', house: '1', flat: '2', countryId: 'RUS', eTag: expect.any(String),
      });
      const residence = await api(body.elements[1], token);
      expect(residence.body).toEqual({ id: Number(addressIds.PLV), stateFacts: ['Identifiable'], type: 'PLV', addressStr: 'г. Тверь, ул. Советская, д. 5', countryId: 'RUS', eTag: expect.any(String) });
      // With embed=(elements) the same items, eTags included.
      const embedded = await api(`/rs/prns/${ivanov.oid}/addrs?embed=(elements)`, token);
      expect(embedded.body).toEqual({ ...body, elements: [registration.body, residence.body] });
    });

    it('accepts the OIDC alias address for addresses', async () => {
      const { status, body } = await api(`/rs/prns/${ivanov.oid}/addrs`, await tokenFor(ivanov, 'openid address'));
      expect(status).toBe(200);
      expect(body.size).toBe(2);
    });

    it('shows the passport with its verification status', async () => {
      const token = await tokenFor(ivanov, 'openid id_doc');
      const { body } = await api(`/rs/prns/${ivanov.oid}/docs?embed=(elements)`, token);
      expect(body).toMatchObject({ stateFacts: ['hasSize'], size: 1 });
      expect(body.elements[0]).toEqual({
        id: Number(passportId), stateFacts: ['Identifiable'], type: 'RF_PASSPORT', series: '4510', number: '123456',
        issueDate: '12.04.2005', issueId: '770-001', issuedBy: 'ОВД района Тверской г. Москвы', vrfStu: 'VERIFIED', eTag: expect.any(String),
      });
      expect((await api(`/rs/prns/${ivanov.oid}/docs/${passportId}`, token)).body).toEqual(body.elements[0]);
    });

    it('gives a mobile-only token the phone and refuses it the e-mail', async () => {
      for (const scope of ['openid mobile', 'openid phone']) {
        const token = await tokenFor(ivanov, scope);
        const { body } = await api(`/rs/prns/${ivanov.oid}/ctts?embed=(elements)`, token);
        expect(body).toMatchObject({ size: 1, elements: [{ id: 1, type: 'MBT', value: '+79990001122' }] });
        expect((await api(`/rs/prns/${ivanov.oid}/ctts/1`, token)).body).toEqual(body.elements[0]);
        const email = await api(`/rs/prns/${ivanov.oid}/ctts/2`, token);
        expect(email.status).toBe(403);
        expect(email.body.error).toBe('rest.insufficient_scope');
        expect(email.headers.get('www-authenticate')).toContain('scope="email"');
      }
    });

    it('gives an email-only token only the e-mail', async () => {
      const token = await tokenFor(ivanov, 'openid email');
      const { body } = await api(`/rs/prns/${ivanov.oid}/ctts`, token);
      expect(body).toMatchObject({ size: 1, elements: [`${idp.issuer}/rs/prns/${ivanov.oid}/ctts/2`] });
      expect((await api(body.elements[0], token)).body).toMatchObject({ id: 2, type: 'EML', value: 'ivanov@example.ru', vrfStu: 'VERIFIED' });
      expect((await api(`/rs/prns/${ivanov.oid}/ctts/1`, token)).status).toBe(403);
    });

    it('refuses a whole collection without its scope, naming the scope', async () => {
      const token = await tokenFor(ivanov, 'openid fullname');
      for (const [path, scope] of [['ctts', 'contacts'], ['addrs', 'addresses'], ['docs', 'id_doc'], [`addrs/${addressIds.PRG}`, 'addresses'], [`docs/${passportId}`, 'id_doc'], ['ctts/1', 'contacts']]) {
        const { status, body, headers } = await api(`/rs/prns/${ivanov.oid}/${path}`, token);
        expect({ path, status, error: body.error }).toEqual({ path, status: 403, error: 'rest.insufficient_scope' });
        expect(headers.get('www-authenticate')).toBe(`Bearer realm="esia-rs", error="insufficient_scope", scope="${scope}"`);
      }
      // Without the scope an unknown item is refused too: the answer does not tell what exists.
      expect((await api(`/rs/prns/${ivanov.oid}/addrs/999999`, token)).status).toBe(403);
    });

    it('answers 404 for an unknown item', async () => {
      const token = await tokenFor(ivanov, 'openid contacts addresses id_doc');
      for (const path of ['addrs/999999', 'addrs/abc', `docs/${Number(passportId) + 1000}`, 'docs/-1', 'ctts/3', 'ctts/mbt']) {
        const { status, body } = await api(`/rs/prns/${ivanov.oid}/${path}`, token);
        expect({ path, status, error: body.error }).toEqual({ path, status: 404, error: 'rest.not_found' });
      }
      // Smirnova has a phone but no e-mail.
      const hers = await tokenFor(smirnova, 'openid contacts');
      expect((await api(`/rs/prns/${smirnova.oid}/ctts/2`, hers)).status).toBe(404);
      expect((await api(`/rs/prns/${smirnova.oid}/ctts`, hers)).body).toMatchObject({ size: 1 });
    });

    it('does not serve one citizen\'s address under another citizen\'s path', async () => {
      const token = await tokenFor(smirnova, 'openid addresses');
      const { status } = await api(`/rs/prns/${smirnova.oid}/addrs/${addressIds.PRG}`, token);
      expect(status).toBe(404);
      expect((await api(`/rs/prns/${smirnova.oid}/addrs`, token)).body).toEqual({ stateFacts: ['hasSize'], size: 0, eTag: expect.any(String), elements: [] });
    });
  });

  describe('ETag and conditional requests', () => {
    it('answers 304 without a body to a matching If-None-Match, and 200 once the data changed', async () => {
      const citizen = await idp.makeCitizen({ lastName: 'Кузнецов', firstName: 'Олег' });
      const token = await tokenFor(citizen, 'openid fullname');
      const first = await api(`/rs/prns/${citizen.oid}`, token);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]{43}"$/);
      expect((await api(`/rs/prns/${citizen.oid}`, token)).headers.get('etag')).toBe(etag);

      for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await api(`/rs/prns/${citizen.oid}`, token, { 'if-none-match': ifNoneMatch });
        expect({ ifNoneMatch, status: again.status, text: again.text, etag: again.headers.get('etag') }).toEqual({ ifNoneMatch, status: 304, text: '', etag });
      }
      expect((await api(`/rs/prns/${citizen.oid}`, token, { 'if-none-match': '"stale"' })).status).toBe(200);

      await idp.runtime.database.db.updateTable('citizens').set({ middle_name: 'Петрович' }).where('oid', '=', citizen.oid).execute();
      const changed = await api(`/rs/prns/${citizen.oid}`, token, { 'if-none-match': etag });
      expect(changed.status).toBe(200);
      expect(changed.body.middleName).toBe('Петрович');
      expect(changed.headers.get('etag')).not.toBe(etag);
      expect(changed.body.eTag).not.toBe(first.body.eTag);
    });

    it('gives the same content the same eTag whichever token reads it, and item eTags that follow the item', async () => {
      const a = await api(`/rs/prns/${ivanov.oid}/addrs/${addressIds.PLV}`, await tokenFor(ivanov, 'openid addresses'));
      const b = await api(`/rs/prns/${ivanov.oid}/addrs/${addressIds.PLV}`, await tokenFor(ivanov, 'openid address', { jwt: true }));
      expect(b.body.eTag).toBe(a.body.eTag);
      expect((await api(`/rs/prns/${ivanov.oid}/addrs/${addressIds.PRG}`, await tokenFor(ivanov, 'openid addresses'))).body.eTag).not.toBe(a.body.eTag);
      expect((await api(`/rs/prns/${ivanov.oid}/addrs/${addressIds.PLV}`, await tokenFor(ivanov, 'openid addresses'), { 'if-none-match': a.headers.get('etag')! })).status).toBe(304);
    });
  });

  describe('who may read', () => {
    it('answers 401 with WWW-Authenticate without a usable token', async () => {
      const path = `/rs/prns/${ivanov.oid}`;
      const cases: [Record<string, string>, string][] = [
        [{}, 'rest.token_missing'],
        [{ authorization: 'Basic aXZhbm92OnNlY3JldA==' }, 'rest.token_missing'],
        [{ authorization: 'Bearer garbage' }, 'rest.token_invalid'],
        [{ authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.' }, 'rest.token_invalid'],
      ];
      for (const [headers, error] of cases) {
        const answer = await api(path, undefined, headers);
        expect({ headers, status: answer.status, error: answer.body.error }).toEqual({ headers, status: 401, error });
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="esia-rs"/);
      }
    });

    it('refuses an opaque token once it is revoked', async () => {
      const token = await tokenFor(ivanov, 'openid fullname');
      expect((await api(`/rs/prns/${ivanov.oid}`, token)).status).toBe(200);
      await oidc.tokenRevocation(config, token);
      const { status, headers } = await api(`/rs/prns/${ivanov.oid}`, token);
      expect(status).toBe(401);
      expect(headers.get('www-authenticate')).toContain('error="invalid_token"');
    });

    it('refuses a JWT access token once its grant is revoked', async () => {
      const token = await tokenFor(ivanov, 'openid fullname', { jwt: true });
      expect((await api(`/rs/prns/${ivanov.oid}`, token)).status).toBe(200);
      const grant = await idp.runtime.provider.Grant.find(String(decodeJwt(token)['urn:esia:grant_id']));
      await grant!.destroy();
      const { status, body } = await api(`/rs/prns/${ivanov.oid}`, token);
      expect(status).toBe(401);
      expect(body.error).toBe('rest.token_revoked');
    });

    it('refuses a JWT access token that was tampered with', async () => {
      const token = await tokenFor(ivanov, 'openid fullname', { jwt: true });
      const [header, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: smirnova.oid })).toString('base64url')}.${signature}`;
      expect((await api(`/rs/prns/${smirnova.oid}`, forged)).status).toBe(401);
    });

    it('refuses another citizen\'s OID with 403, known or not, and a non-numeric one with 404', async () => {
      const token = await tokenFor(ivanov, 'openid fullname contacts addresses id_doc');
      for (const path of [`/rs/prns/${smirnova.oid}`, `/rs/prns/${smirnova.oid}/ctts`, `/rs/prns/${smirnova.oid}/addrs/1`, '/rs/prns/9999999999', '/rs/prns/9999999999/docs']) {
        const { status, body } = await api(path, token);
        expect({ path, status, error: body.error }).toEqual({ path, status: 403, error: 'rest.forbidden_subject' });
      }
      const odd = await api('/rs/prns/me', token);
      expect([odd.status, odd.body.error]).toEqual([404, 'rest.not_found']);
      // Authentication comes first: without a token the same paths are 401.
      expect((await api(`/rs/prns/${smirnova.oid}`, undefined)).status).toBe(401);
      expect((await api('/rs/prns/me', undefined)).status).toBe(401);
    });

    it('answers 404 when the token\'s citizen no longer exists', async () => {
      const citizen = await idp.makeCitizen({ lastName: 'Удалёнов', firstName: 'Пётр' });
      const token = await tokenFor(citizen, 'openid fullname contacts addresses');
      await idp.runtime.database.db.deleteFrom('citizens').where('oid', '=', citizen.oid).execute();
      for (const path of ['', '/ctts', '/addrs', '/ctts/1']) {
        const { status, body } = await api(`/rs/prns/${citizen.oid}${path}`, token);
        expect({ path, status, error: body.error }).toEqual({ path, status: 404, error: 'rest.not_found' });
      }
    });

    it('reads the ESIA way of writing scopes in tokens for esia-profile clients', async () => {
      const esiaRp = await idp.makeClient({ tokenProfile: 'esia', redirectUris: ['http://127.0.0.1:9/esia-cb'] });
      const esiaConfig = await discoverClient(idp.issuer, esiaRp);
      const { access_token: token } = await tokensFor(ivanov, 'openid fullname snils', { client: esiaRp, clientConfig: esiaConfig });
      expect(String(decodeJwt(token).scope).split(' ').sort()).toEqual([`fullname?oid=${ivanov.oid}`, `snils?oid=${ivanov.oid}`]);
      const { status, body } = await api(`/rs/prns/${ivanov.oid}`, token);
      expect(status).toBe(200);
      expect(body).toMatchObject({ lastName: 'Иванов', snils: '112-233-445 95' });
      expect(body).not.toHaveProperty('birthDate');
    });
  });
});
