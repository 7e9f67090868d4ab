import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { messagesTo } from '../support/outbox.ts';
import { calendarDate, formatSnils } from '../../src/shared/validators.ts';
import { grantOperatorRole } from '../../src/operator/operator.service.ts';
import { createDraftPower } from '../../src/powers/powers.service.ts';
import { addDays } from '../../src/powers/power-form.ts';
import { answerInvitation, inviteMember, listReceivedInvitations } from '../../src/organisations/invitations.service.ts';
import { findChildAccount, requestChildLink } from '../../src/family/children.service.ts';
import { decode, merging, newIdentity, type Identity, type Person } from './merge-support.ts';

/**
 * A SNILS is unique only among simplified accounts: verified accounts of one person share it until
 * they are linked (src/merge). Every lookup of a citizen by SNILS skips accounts linked into another,
 * and where two primaries share a verified SNILS picks the one a login by SNILS opens — the confirmed
 * one, then the oldest — except the operator's desk, which lists them for the operator to choose.
 */
describe('one SNILS on several accounts: whom each lookup by SNILS finds', () => {
  const clock = createTestClock();
  let idp: TestIdp;
  let m: ReturnType<typeof merging>;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    m = merging(idp);
  });
  afterAll(async () => idp?.close());
  beforeEach(() => clock.set(new Date()));

  /** One person's two accounts: the older one only standard, the newer one confirmed. */
  const olderStandardNewerConfirmed = (identity: Partial<Identity> = {}) => m.twins(newIdentity({ level: 'standard', ...identity }), { level: 'confirmed' });

  /** Two confirmed accounts of one person, the newer one having linked the older into itself. */
  async function linkedIntoNewer(identity: Partial<Identity> = {}): Promise<{ alias: Person; primary: Person }> {
    const [older, newer] = await m.twins(newIdentity(identity));
    expect((await m.link(await m.signedIn(newer), older)).url).toBe(m.url('/account/accounts?done=merged'));
    return { alias: older, primary: newer };
  }

  describe('powers of attorney: the representative named by SNILS', () => {
    async function draftTo(principal: Person, snils: string) {
      const today = calendarDate(clock.now());
      return createDraftPower(m.db, {
        actorOid: principal.oid,
        form: { principal: 'self', representativeSnils: formatSnils(snils), rights: ['view'], clientIds: [], validFrom: today, validTo: addDays(today, 30) },
        now: clock.now(),
      });
    }
    async function representativeOf(principal: Person, snils: string): Promise<string> {
      const outcome = await draftTo(principal, snils);
      if (outcome.result !== 'created') throw new Error(`refused: ${JSON.stringify(outcome.problems)}`);
      return (await m.db.selectFrom('powers_of_attorney').select('representative_oid').where('id', '=', outcome.id).executeTakeFirstOrThrow()).representative_oid;
    }

    it('is the confirmed account, then the oldest, of two sharing a verified SNILS', async () => {
      const principal = await m.person();
      const [older, newer] = await olderStandardNewerConfirmed();
      expect(await representativeOf(principal, older.identity.snils!)).toBe(newer.oid);
      const [first, second] = await m.twins();
      expect(second.oid > first.oid).toBe(true);
      expect(await representativeOf(principal, first.identity.snils!)).toBe(first.oid);
    });

    it('is never an account linked into another: the primary holds its powers', async () => {
      const principal = await m.person();
      const { alias, primary } = await linkedIntoNewer();
      expect(await representativeOf(principal, alias.identity.snils!)).toBe(primary.oid);
    });

    it('refuses a citizen naming their own SNILS from the account the SNILS does not lead to', async () => {
      const [older] = await olderStandardNewerConfirmed();
      const outcome = await draftTo(older, older.identity.snils!);
      expect(outcome).toEqual({ result: 'invalid', problems: { representative_snils: { key: 'powers.error.representative_snils.self' } } });
    });
  });

  describe('organisation invitations by SNILS', () => {
    let serial = 0;
    async function organisationHeadedBy(chief: Person): Promise<string> {
      const n = ++serial;
      const { oid } = await m.db
        .insertInto('organisations')
        .values({ kind: 'legal', full_name: `ООО «Сосна-${n}»`, short_name: null, inn: String(7_800_000_000 + n), ogrn: String(1_027_800_000_000 + n), kpp: null, created_at: clock.now() })
        .returning('oid')
        .executeTakeFirstOrThrow();
      await m.db.insertInto('organisation_members').values({ organisation_oid: oid, citizen_oid: chief.oid, roles: ['chief'], joined_at: clock.now() }).execute();
      return oid;
    }
    async function invite(invitee: string): Promise<{ organisationOid: string; invitationId: string }> {
      const chief = await m.person();
      const organisationOid = await organisationHeadedBy(chief);
      const outcome = await inviteMember(m.db, { actor: await m.citizenRow(chief.oid), organisationOid, invitee, role: 'employee', now: clock.now() });
      if (outcome.result !== 'invited') throw new Error(`not invited: ${JSON.stringify(outcome)}`);
      return { organisationOid, invitationId: outcome.invitationId };
    }
    const seenBy = async (person: Person) => (await listReceivedInvitations(m.db, await m.citizenRow(person.oid), clock.now())).map((i) => i.id);

    it('shows to one account of two sharing a verified SNILS — the confirmed one — and tells only that one', async () => {
      const [older, newer] = await olderStandardNewerConfirmed();
      const { invitationId } = await invite(formatSnils(older.identity.snils!));
      expect(await seenBy(newer)).toEqual([invitationId]);
      expect(await seenBy(older)).toEqual([]);
      expect((await messagesTo(m.db, newer.email)).filter((msg) => msg.template === 'organisation_invitation')).toHaveLength(1);
      expect((await messagesTo(m.db, older.email)).filter((msg) => msg.template === 'organisation_invitation')).toHaveLength(0);
      const refused = await answerInvitation(m.db, { citizen: await m.citizenRow(older.oid), invitationId, answer: 'accept', now: clock.now() });
      expect(refused).toEqual({ result: 'not_found' });
      expect(await answerInvitation(m.db, { citizen: await m.citizenRow(newer.oid), invitationId, answer: 'accept', now: clock.now() })).toMatchObject({ result: 'accepted' });
    });

    it('of two confirmed ones, shows to the oldest', async () => {
      const [first, second] = await m.twins();
      const { invitationId } = await invite(first.identity.snils!);
      expect(await seenBy(first)).toEqual([invitationId]);
      expect(await seenBy(second)).toEqual([]);
    });

    it('once the accounts are linked, the primary sees and answers the invitations by SNILS and by the linked account\'s e-mail', async () => {
      const { alias, primary } = await linkedIntoNewer();
      const bySnils = await invite(alias.identity.snils!);
      const byEmail = await invite(alias.email);
      expect((await seenBy(primary)).toSorted()).toEqual([bySnils.invitationId, byEmail.invitationId].toSorted());
      const accepted = await answerInvitation(m.db, { citizen: await m.citizenRow(primary.oid), invitationId: byEmail.invitationId, answer: 'accept', now: clock.now() });
      expect(accepted).toEqual({ result: 'accepted', organisationOid: byEmail.organisationOid });
      const member = await m.db.selectFrom('organisation_members').select('citizen_oid').where('organisation_oid', '=', byEmail.organisationOid).where('citizen_oid', 'in', [alias.oid, primary.oid]).execute();
      expect(member).toEqual([{ citizen_oid: primary.oid }]);
    });
  });

  describe('children: the 14+ child\'s own account', () => {
    // Each test a child of its own name: accounts are matched by name and birth date too.
    const child = (firstName: string) => ({ lastName: 'Ёлкина', firstName, middleName: 'Петровна', birthDate: '2010-05-05' });
    let serial = 0;
    async function recordOf(kid: ReturnType<typeof child>, { snils }: { snils: string | null }) {
      const parent = await m.person(newIdentity({ lastName: 'Ёлкин', firstName: 'Пётр', middleName: 'Иванович', birthDate: '1980-01-01' }));
      const row = await m.db
        .insertInto('children')
        .values({
          parent_oid: parent.oid, last_name: kid.lastName, first_name: kid.firstName, middle_name: kid.middleName, birth_date: kid.birthDate, gender: 'F', snils,
          cert_series: 'II-МЮ', cert_number: String(300_000 + ++serial), cert_issue_date: '2010-05-20', cert_issued_by: 'Отдел ЗАГС', check_status: 'verified', checked_at: clock.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { parent, row };
    }

    it('is the confirmed account of two sharing the SNILS, by SNILS or by name; and the link is asked there', async () => {
      const kid = child('Анна');
      const [older, newer] = await olderStandardNewerConfirmed(kid);
      const bySnils = await recordOf(kid, { snils: older.identity.snils });
      expect(await findChildAccount(m.db, bySnils.row)).toBe(newer.oid);
      const byName = await recordOf(kid, { snils: null });
      expect(await findChildAccount(m.db, byName.row)).toBe(newer.oid);

      expect(await requestChildLink(m.db, { parentOid: bySnils.parent.oid, childId: bySnils.row.id, now: clock.now() })).toEqual({ result: 'requested' });
      const linked = await m.db.selectFrom('children').select(['child_oid', 'link_state']).where('id', '=', bySnils.row.id).executeTakeFirstOrThrow();
      expect(linked).toEqual({ child_oid: newer.oid, link_state: 'pending_child_consent' });
    });

    it('is never guessed between different people of one name and birth date', async () => {
      const kid = child('Вера');
      await olderStandardNewerConfirmed(kid);
      // Someone else: same name and birth date, another SNILS.
      await m.person(newIdentity({ ...kid, level: 'standard' }));
      expect(await findChildAccount(m.db, (await recordOf(kid, { snils: null })).row)).toBeUndefined();
    });

    it('is never an account linked into another', async () => {
      const kid = child('Галина');
      const { alias, primary } = await linkedIntoNewer(kid);
      expect(await findChildAccount(m.db, (await recordOf(kid, { snils: alias.identity.snils })).row)).toBe(primary.oid);
      expect(await findChildAccount(m.db, (await recordOf(kid, { snils: null })).row)).toBe(primary.oid);
    });
  });

  describe('the operator\'s desk', () => {
    async function desk() {
      const operator = await m.person();
      await grantOperatorRole(m.db, { citizenOid: operator.oid, serviceCentre: 'МФЦ района Арбат' });
      return m.signedIn(operator);
    }

    it('lists the accounts sharing the SNILS — confirmed first — for the operator to choose, without linked ones', async () => {
      const browser = await desk();
      const [older, newer] = await olderStandardNewerConfirmed();
      const page = await browser.open(m.url(`/operator?snils=${encodeURIComponent(formatSnils(older.identity.snils!))}`));
      expect(page.status).toBe(200);
      expect([...page.html.matchAll(/data-citizen-oid="(\d+)"/g)].map((match) => match[1])).toEqual([newer.oid, older.oid]);
      expect(decode(page.html)).toContain('С этим СНИЛС несколько учётных записей');
      expect(page.html).toContain(`href="/operator/citizens/${older.oid}"`);
    });

    it('opens the primary\'s card when the other accounts are linked into it', async () => {
      const browser = await desk();
      const { alias, primary } = await linkedIntoNewer();
      const page = await browser.open(m.url(`/operator?snils=${alias.identity.snils}`));
      expect(page.url).toBe(m.url(`/operator/citizens/${primary.oid}`));
    });
  });
});
