import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, discoverClient, exchangeCode, loginThrough, oidc, startAuthorization } from '../support/oidc.ts';
import { getJson } from '../support/http.ts';
import { activateSigningKey, pruneRetiredKeys, stageSigningKey } from '../../src/oidc/keys.service.ts';

describe('signing keys: algorithms per client and rotation', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let citizen: { oid: string; login: string; password: string };

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    rp = await idp.makeClient();
    citizen = await idp.makeCitizen();
  });
  afterAll(() => idp?.close());

  async function idTokenFor(client = rp) {
    const config = await discoverClient(idp.issuer, client);
    const start = await startAuthorization(config, client.redirectUri);
    return (await exchangeCode(config, start, await loginThrough(new BrowserSession(), start, citizen.login, citizen.password))).id_token!;
  }

  async function verifiesAgainstJwks(token: string): Promise<boolean> {
    const jwks = createLocalJWKSet(await getJson(`${idp.issuer}/jwks`));
    return jwtVerify(token, jwks, { issuer: idp.issuer }).then(() => true, () => false);
  }

  const publishedKids = async () => (await getJson(`${idp.issuer}/jwks`)).keys.map((k: { kid: string }) => k.kid) as string[];

  it('signs with ES256 or PS256 for clients that ask for it', async () => {
    for (const alg of ['ES256', 'PS256'] as const) {
      const client = await idp.makeClient({ signingAlg: alg, redirectUris: [`http://127.0.0.1:9/${alg}`] });
      const token = await idTokenFor(client);
      expect(decodeProtectedHeader(token).alg).toBe(alg);
      expect(await verifiesAgainstJwks(token)).toBe(true);
    }
  });

  it('publishes a new key before it signs, keeps the old one until its tokens expire, then removes it', async () => {
    const db = idp.runtime.database.db;
    const before = await idTokenFor();
    const oldKid = decodeProtectedHeader(before).kid!;

    // 1. Stage: published, not signing.
    const staged = await stageSigningKey(db, idp.runtime.secrets.secretBox, 'RS256', clock.now());
    expect(await idp.runtime.refreshSigningKeys()).toBe(true);
    expect(await publishedKids()).toEqual(expect.arrayContaining([oldKid, staged.kid]));
    expect(decodeProtectedHeader(await idTokenFor()).kid).toBe(oldKid);
    await expect(stageSigningKey(db, idp.runtime.secrets.secretBox, 'RS256', clock.now())).rejects.toMatchObject({ code: 'keys.already_staged' });

    // 2. Activate, only once RPs had time to fetch the JWKS.
    await expect(activateSigningKey(db, 'RS256', { now: clock.now(), publishSeconds: 600 })).rejects.toMatchObject({ code: 'keys.not_published_long_enough' });
    clock.advance(601);
    expect(await activateSigningKey(db, 'RS256', { now: clock.now(), publishSeconds: 600 })).toEqual({ activated: staged.kid, retired: oldKid });
    expect(await idp.runtime.refreshSigningKeys()).toBe(true);
    const after = await idTokenFor();
    expect(decodeProtectedHeader(after).kid).toBe(staged.kid);
    expect(await verifiesAgainstJwks(before)).toBe(true);
    expect(await verifiesAgainstJwks(after)).toBe(true);

    // 3. Prune: not before the longest token lifetime has passed.
    expect(await pruneRetiredKeys(db, { now: clock.now(), longestTokenSeconds: 10800 })).toEqual([]);
    clock.advance(10801);
    expect(await pruneRetiredKeys(db, { now: clock.now(), longestTokenSeconds: 10800 })).toEqual([oldKid]);
    expect(await idp.runtime.refreshSigningKeys()).toBe(true);
    expect(await publishedKids()).not.toContain(oldKid);
    expect(await verifiesAgainstJwks(after)).toBe(true);
    expect(await idp.runtime.refreshSigningKeys()).toBe(false);
  });
});
