import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { startBackchannelReceiver, type BackchannelReceiver } from '../support/backchannel.ts';
import { BrowserSession, discoverClient, exchangeCode, oidc, openAuthorization, startAuthorization, submitConsent, submitLogin } from '../support/oidc.ts';
import { signInToAccount } from '../support/account.ts';
import { formatSnils } from '../../src/shared/validators.ts';
import { decode, merging, newIdentity, type Person } from './merge-support.ts';

const UNDO_DAYS = 7;
const DAY = 86_400;

/**
 * What linking accounts does: the survivor keeps its OID and data and gains the other account's
 * consents and history; logins with the other account's details land in it; relying parties learn
 * the old OID (`merged_oids`, `mergedOids`); «Сделать основным» turns the pair round; «Отвязать»
 * undoes it within MERGE_UNDO_DAYS; deleting the survivor erases the linked account too.
 */
describe('linked accounts: the merge, logins, «Сделать основным», «Отвязать»', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let m: ReturnType<typeof merging>;
  let receiver: BackchannelReceiver;
  let rp: { clientId: string; clientSecret?: string; redirectUri: string };
  let rpConfig: oidc.Configuration;

  beforeAll(async () => {
    idp = await startTestIdp({ clock, env: { MERGE_UNDO_DAYS: String(UNDO_DAYS) } });
    m = merging(idp);
    receiver = await startBackchannelReceiver();
    rp = await idp.makeClient({ name: 'Мос.ру', backchannelLogoutUri: receiver.url });
    rpConfig = await discoverClient(idp.issuer, rp);
  });
  afterAll(async () => {
    await receiver?.close();
    await idp?.close();
  });
  // oidc-provider stamps sign-ins with the real time; each test starts with our clock beside it.
  beforeEach(() => clock.set(new Date()));

  /** A sign-in at the relying party; says whether the IdP asked for consent. */
  async function rpSignIn(citizen: { login: string; password: string }) {
    const browser = new BrowserSession();
    const start = await startAuthorization(rpConfig, rp.redirectUri, { scope: 'openid fullname' });
    let page = await openAuthorization(browser, start);
    page = await submitLogin(browser, page, citizen.login, citizen.password, start.redirectUri);
    const consentAsked = !page.url.startsWith(start.redirectUri) && page.html.includes('/confirm"');
    if (consentAsked) page = await submitConsent(browser, page, start.redirectUri);
    if (!page.url.startsWith(start.redirectUri)) throw new Error(`no way back to the RP: ${page.status} ${page.url}`);
    const tokens = await exchangeCode(rpConfig, start, new URL(page.url));
    return { browser, tokens, consentAsked, idToken: decodeJwt(tokens.id_token!) };
  }

  async function personApi(oid: string, accessToken: string) {
    const response = await fetch(m.url(`/rs/prns/${oid}`), { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** The OID the account console shows for whoever signs in with these details. */
  async function accountOf(citizen: { login: string; password: string }): Promise<string> {
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    const page = await browser.open(m.url('/account/accounts'));
    return page.html.match(/data-account-oid="(\d+)" data-primary="yes"/)![1];
  }

  async function isSignedIn(browser: BrowserSession): Promise<boolean> {
    const page = await browser.open(m.url('/account'));
    return page.url.startsWith(m.url('/account')) && page.html.includes('class="account-nav"');
  }

  const historyOf = async (oid: string) => Number((await m.db.selectFrom('login_attempts').select((eb) => eb.fn.countAll().as('n')).where('citizen_oid', '=', oid).executeTakeFirstOrThrow()).n);
  const linksOn = (html: string) => [...html.matchAll(/data-account-oid="(\d+)"(?! data-primary)/g)].map((match) => match[1]);

  async function linked(): Promise<{ me: Person; other: Person; browser: BrowserSession }> {
    const [me, other] = await m.twins();
    const browser = await m.signedIn(me);
    const done = await m.link(browser, other);
    expect(done.url).toBe(m.url('/account/accounts?done=merged'));
    return { me, other, browser };
  }

  it('keeps the survivor\'s OID and data, moves the other account\'s consent and history, ends its tokens and tells the RP', async () => {
    const [me, other] = await m.twins();
    const before = await rpSignIn(other);
    expect(before.consentAsked).toBe(true);
    expect(before.idToken.sub).toBe(other.oid);
    expect(before.idToken.merged_oids).toBeUndefined();
    const otherHistory = await historyOf(other.oid);
    const myHistory = await historyOf(me.oid);
    expect(otherHistory).toBeGreaterThan(0);
    const survivorBefore = await m.citizenRow(me.oid);

    const browser = await m.signedIn(me);
    receiver.logoutTokens.length = 0;
    const done = await m.link(browser, other);
    expect(done.url).toBe(m.url('/account/accounts?done=merged'));
    expect(done.html).toContain('Учётные записи связаны.');
    expect(linksOn(done.html)).toEqual([other.oid]);
    expect(decode(done.html)).toContain('подтверждено паролем');

    // The survivor: same OID, same data; the other account points at it.
    const { updated_at: _u1, ...survivorNow } = await m.citizenRow(me.oid);
    const { updated_at: _u2, ...survivorThen } = survivorBefore;
    expect(survivorNow).toEqual(survivorThen);
    expect((await m.citizenRow(other.oid)).merged_into_oid).toBe(me.oid);
    const [link] = await m.db.selectFrom('account_merges').selectAll().where('alias_oid', '=', other.oid).execute();
    expect(link).toMatchObject({ survivor_oid: me.oid, proof_method: 'password', unlinked_at: null });
    expect(link.undo_until.getTime() - link.merged_at.getTime()).toBe(UNDO_DAYS * DAY * 1000);
    expect(await historyOf(other.oid)).toBe(0);
    expect(await historyOf(me.oid)).toBeGreaterThanOrEqual(myHistory + otherHistory);
    const events = await m.db.selectFrom('audit_events').select(['type', 'citizen_oid', 'details']).where('type', '=', 'account.merged').where('citizen_oid', 'in', [me.oid, other.oid]).execute();
    expect(events).toHaveLength(2);

    // The other account's tokens are dead and the RP was told about its subject.
    expect((await oidc.tokenIntrospection(rpConfig, before.tokens.access_token)).active).toBe(false);
    expect((await personApi(other.oid, before.tokens.access_token)).status).toBe(401);
    expect(receiver.logoutTokens.map((t) => decodeJwt(t).sub)).toContain(other.oid);

    // The RP that knew the other OID: no new consent, the survivor as subject, the old OID in merged_oids.
    const after = await rpSignIn(other);
    expect(after.consentAsked).toBe(false);
    expect(after.idToken.sub).toBe(me.oid);
    expect(after.idToken.merged_oids).toEqual([other.oid]);
    expect(await oidc.fetchUserInfo(rpConfig, after.tokens.access_token, me.oid)).toMatchObject({ sub: me.oid, merged_oids: [other.oid] });
    const person = await personApi(me.oid, after.tokens.access_token);
    expect(person.status).toBe(200);
    expect(person.body).toMatchObject({ mergedOids: [other.oid], lastName: 'Ёлкина' });
    // The consent is listed on the survivor's «Связанные сервисы».
    expect((await browser.open(m.url('/account/linked-services'))).html).toContain(`data-client-id="${rp.clientId}"`);
  });

  it('signs the other account\'s phone, e-mail and SNILS in to the survivor, with the other account\'s password for its own contacts', async () => {
    const { me, other } = await linked();
    expect(await accountOf({ login: other.login, password: other.password })).toBe(me.oid);
    expect(await accountOf({ login: other.email, password: other.password })).toBe(me.oid);
    // The SNILS is both accounts': it signs in to the primary, with the primary's password.
    expect(await accountOf({ login: formatSnils(me.identity.snils!), password: me.password })).toBe(me.oid);

    // A wrong password is refused as usual and lands in the survivor's history.
    const failedBefore = Number((await m.db.selectFrom('login_attempts').select((eb) => eb.fn.countAll().as('n')).where('citizen_oid', '=', me.oid).where('succeeded', '=', false).executeTakeFirstOrThrow()).n);
    const browser = new BrowserSession();
    const loginPage = await browser.open(m.url('/account'));
    const refused = await submitLogin(browser, loginPage, other.login, me.password, m.url('/account/callback'));
    expect(refused.status).toBe(401);
    expect(refused.html).toContain('Неверный логин или пароль');
    const failedAfter = Number((await m.db.selectFrom('login_attempts').select((eb) => eb.fn.countAll().as('n')).where('citizen_oid', '=', me.oid).where('succeeded', '=', false).executeTakeFirstOrThrow()).n);
    expect(failedAfter).toBe(failedBefore + 1);
    expect(await historyOf(other.oid)).toBe(0);
  });

  it('«Сделать основным»: the linked account becomes the subject, keeps the consents, and this browser signs in again', async () => {
    const [me, other] = await m.twins();
    const consented = await rpSignIn(me);
    expect(consented.consentAsked).toBe(true);
    const browser = await m.signedIn(me);
    await m.link(browser, other);

    receiver.logoutTokens.length = 0;
    const changed = await m.post(browser, `/account/accounts/${other.oid}/primary`);
    expect(changed.url).toBe(m.url('/account/accounts/primary-changed'));
    expect(changed.html).toContain('Основная учётная запись изменена');
    expect(await isSignedIn(browser)).toBe(false);
    expect((await oidc.tokenIntrospection(rpConfig, consented.tokens.access_token)).active).toBe(false);
    expect(receiver.logoutTokens.map((t) => decodeJwt(t).sub)).toContain(me.oid);

    expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();
    expect((await m.citizenRow(me.oid)).merged_into_oid).toBe(other.oid);
    const active = await m.db.selectFrom('account_merges').selectAll().where('unlinked_at', 'is', null).where((eb) => eb.or([eb('alias_oid', '=', me.oid), eb('alias_oid', '=', other.oid)])).execute();
    expect(active.map((l) => [l.survivor_oid, l.alias_oid])).toEqual([[other.oid, me.oid]]);

    // Either account's details now sign in to the new primary, which lists the old one as linked.
    expect(await accountOf(me)).toBe(other.oid);
    const signedIn = await m.signedIn(me);
    expect(linksOn((await signedIn.open(m.url('/account/accounts'))).html)).toEqual([me.oid]);
    const again = await rpSignIn(me);
    expect(again.consentAsked).toBe(false);
    expect(again.idToken.sub).toBe(other.oid);
    expect(again.idToken.merged_oids).toEqual([me.oid]);
  });

  it('«Отвязать» within the window: both accounts are on their own again, each with what was its own', async () => {
    const [me, other] = await m.twins();
    const consented = await rpSignIn(other);
    expect(consented.consentAsked).toBe(true);
    const otherHistory = await historyOf(other.oid);
    const browser = await m.signedIn(me);
    await m.link(browser, other);
    // Used while linked: the consent (and its history) sits on the survivor.
    expect((await rpSignIn(other)).consentAsked).toBe(false);
    const sinceLink = await rpSignIn(other);

    const undone = await m.post(browser, `/account/accounts/${other.oid}/unlink`);
    expect(undone.url).toBe(m.url('/account/accounts?done=unlinked'));
    expect(undone.html).toContain('Учётная запись отвязана и снова самостоятельна.');
    expect(linksOn(undone.html)).toEqual([]);
    // It is a candidate again.
    expect(undone.html).toContain(`data-candidate-oid="${other.oid}"`);

    expect((await m.citizenRow(other.oid)).merged_into_oid).toBeNull();
    expect((await m.db.selectFrom('account_merges').select('unlinked_at').where('alias_oid', '=', other.oid).executeTakeFirstOrThrow()).unlinked_at).not.toBeNull();
    expect(await historyOf(other.oid)).toBe(otherHistory);
    expect((await oidc.tokenIntrospection(rpConfig, sinceLink.tokens.access_token)).active).toBe(false);

    const back = await rpSignIn(other);
    expect(back.consentAsked).toBe(false);
    expect(back.idToken.sub).toBe(other.oid);
    expect(back.idToken.merged_oids).toBeUndefined();
    const mine = await rpSignIn(me);
    expect(mine.consentAsked).toBe(true);
    expect(mine.idToken.sub).toBe(me.oid);
    expect(mine.idToken.merged_oids).toBeUndefined();
    expect((await personApi(me.oid, mine.tokens.access_token)).body.mergedOids).toBeUndefined();
  });

  it('allows «Отвязать» up to MERGE_UNDO_DAYS and refuses it after, saying until when it was possible', async () => {
    const { me, other } = await linked();
    clock.advance(UNDO_DAYS * DAY - 60);
    const inTime = await m.signedIn(me);
    expect((await inTime.open(m.url('/account/accounts'))).html).toContain('data-undo="open"');
    clock.advance(120);
    const browser = await m.signedIn(me);
    const list = await browser.open(m.url('/account/accounts'));
    expect(list.html).toContain('data-undo="over"');
    expect(decode(list.html)).toContain('Отвязать можно было до');
    const refused = await m.post(browser, `/account/accounts/${other.oid}/unlink`);
    expect(refused.status).toBe(409);
    expect(decode(refused.html)).toMatch(new RegExp(`Отвязать учётную запись OID ${other.oid} уже нельзя: это можно было сделать до \\d+ \\S+ \\d{4} г\\.`));
    expect((await m.citizenRow(other.oid)).merged_into_oid).toBe(me.oid);
    // «Сделать основным» has no window.
    expect((await m.post(browser, `/account/accounts/${other.oid}/primary`)).url).toBe(m.url('/account/accounts/primary-changed'));
  });

  it('answers 404 «Учетная запись не найдена» for «Сделать основным» and «Отвязать» of an account not linked here', async () => {
    const { me, browser } = await linked();
    const stranger = await m.person();
    for (const oid of [stranger.oid, me.oid, '9999999999', 'x']) {
      for (const action of ['primary', 'unlink']) {
        const page = await m.post(browser, `/account/accounts/${oid}/${action}`);
        expect(page.status, `${action} ${oid}`).toBe(404);
        expect(page.html).toContain('Учетная запись не найдена');
      }
    }
  });

  it('takes along the other account\'s own linked accounts, each of which can still be unlinked', async () => {
    const identity = newIdentity();
    const [first, second] = await m.twins(identity);
    const third = await m.person({ ...identity }, 'Tretij-Parol-2026!');
    await m.link(await m.signedIn(first), second);
    const browser = await m.signedIn(third);
    expect((await m.link(browser, first)).url).toBe(m.url('/account/accounts?done=merged'));
    expect((await m.citizenRow(first.oid)).merged_into_oid).toBe(third.oid);
    expect((await m.citizenRow(second.oid)).merged_into_oid).toBe(third.oid);
    expect(await accountOf(second)).toBe(third.oid);
    expect(linksOn((await browser.open(m.url('/account/accounts'))).html).toSorted()).toEqual([first.oid, second.oid].toSorted());
    expect((await m.post(browser, `/account/accounts/${second.oid}/unlink`)).url).toBe(m.url('/account/accounts?done=unlinked'));
    expect(await accountOf(second)).toBe(second.oid);
  });

  it('deleting the survivor erases the linked account with it', async () => {
    const { me, other, browser } = await linked();
    const form = await browser.open(m.url('/account/delete'));
    const done = await browser.submit(m.url('/account/delete'), { _csrf: form.html.match(/name="_csrf" value="([^"]+)"/)![1], password: me.password, confirm: 'УДАЛИТЬ' });
    expect(done.url).toBe(m.url('/account/delete/done'));
    expect(await m.db.selectFrom('citizens').select('oid').where('oid', 'in', [me.oid, other.oid]).execute()).toEqual([]);
    expect(await m.db.selectFrom('account_merges').select('id').where((eb) => eb.or([eb('survivor_oid', '=', me.oid), eb('alias_oid', '=', other.oid)])).execute()).toEqual([]);
    expect(await m.db.selectFrom('merge_flows').select('id').where('candidate_oid', '=', other.oid).execute()).toEqual([]);
    // The other account's phone is free again.
    await expect(idp.makeCitizen({ phone: other.phone, password: other.password })).resolves.toMatchObject({ oid: expect.any(String) });
  });
});
