import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession } from '../support/oidc.ts';
import { signInToAccount } from '../support/account.ts';
import { pruneEverything } from '../../src/oidc/prune.ts';
import { saveChoice } from '../../src/acting/acting.repository.ts';
import { chooseRole, grantPower, makeRp, signIn, tokensOf } from './acting-support.ts';

/** The stored choices: where they come from, how long they stay, and the first-party account console. */
describe('stored role choices', () => {
  let idp: TestIdp;
  const db = () => idp.runtime.database.db;

  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(() => idp?.close());

  it('stores the choice per session and RP, replacing it on the next authorization of that RP', async () => {
    const rp = await makeRp(idp);
    const principal = await idp.makeCitizen();
    const representative = await idp.makeCitizen();
    const powerId = await grantPower(db(), { principalOid: principal.oid, representativeOid: representative.oid });
    const browser = new BrowserSession();
    await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid' }, browser), `poa:${powerId}`));
    const rows = () => db().selectFrom('acting_choices').select(['client_id', 'citizen_oid', 'kind', 'power_id']).where('citizen_oid', '=', representative.oid).execute();
    expect(await rows()).toEqual([{ client_id: rp.clientId, citizen_oid: representative.oid, kind: 'representative', power_id: powerId }]);
    await tokensOf(rp, await chooseRole(await signIn(rp, representative, { scope: 'openid' }, browser), 'person'));
    expect(await rows()).toEqual([{ client_id: rp.clientId, citizen_oid: representative.oid, kind: 'person', power_id: null }]);
    const audit = await db().selectFrom('audit_events').select(['type', 'details']).where('citizen_oid', '=', representative.oid).where('type', 'like', 'acting.%').execute();
    expect(audit).toEqual([{ type: 'acting.representative_chosen', details: { clientId: rp.clientId, powerId } }]);
  });

  it('never asks in the citizen\'s own account console, even with powers valid at every RP', async () => {
    const principal = await idp.makeCitizen();
    const representative = await idp.makeCitizen();
    await grantPower(db(), { principalOid: principal.oid, representativeOid: representative.oid });
    const overview = await signInToAccount(new BrowserSession(), idp.issuer, representative);
    expect(overview.status).toBe(200);
  });

  it('prunes choices whose session and refresh tokens are gone, and no others', async () => {
    const citizen = await idp.makeCitizen();
    const now = idp.runtime.clock.now();
    const old = new Date(now.getTime() - 3600_000);
    // A live session of this citizen (the account console's).
    await signInToAccount(new BrowserSession(), idp.issuer, citizen);
    const session = await db().selectFrom('oidc_payloads').select('uid').where('model', '=', 'Session').where(sql<string>`payload->>'accountId'`, '=', citizen.oid).executeTakeFirstOrThrow();
    await db().insertInto('oidc_payloads').values({ model: 'RefreshToken', id: `rt-${citizen.oid}`, payload: { sessionUid: `offline-${citizen.oid}` }, grant_id: null, user_code: null, uid: null, expires_at: new Date(now.getTime() + 86_400_000), consumed_at: null }).execute();
    const choices = { live: session.uid!, offline: `offline-${citizen.oid}`, gone: `gone-${citizen.oid}`, fresh: `fresh-${citizen.oid}` };
    for (const [name, sessionUid] of Object.entries(choices)) {
      await saveChoice(db(), { sessionUid, clientId: 'some-rp' }, citizen.oid, { kind: 'person' }, name === 'fresh' ? now : old);
    }

    const pruned = await pruneEverything(db(), idp.runtime.clock);
    expect(pruned.actingChoices).toBe(1);
    const left = (await db().selectFrom('acting_choices').select('session_uid').where('citizen_oid', '=', citizen.oid).execute()).map((r) => r.session_uid).sort();
    expect(left).toEqual([choices.fresh, choices.live, choices.offline].sort());
  });
});
