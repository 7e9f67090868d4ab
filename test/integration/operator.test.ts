import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import type { TrustLevel } from '../../src/citizens/citizen.table.ts';
import type { DocumentStatus } from '../../src/citizens/citizen.table.ts';
import { formatSnils, snilsControl } from '../../src/shared/validators.ts';
import { grantOperatorRole, revokeOperatorRole } from '../../src/operator/operator.service.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, formAction, type Page } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { messagesTo } from '../support/outbox.ts';

const CENTRE = 'МФЦ «Мои документы» района Арбат';

describe('operator: confirming identity in person', () => {
  const clock = createTestClock(new Date('2026-12-01T09:00:00Z'));
  let idp: TestIdp;
  let db: Db;
  let operator: { oid: string; login: string; password: string };
  let desk: BrowserSession;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
    operator = await idp.makeCitizen({ lastName: 'Операторова', firstName: 'Ольга' });
    expect(await grantOperatorRole(db, { citizenOid: operator.oid, serviceCentre: `  ${CENTRE} ` })).toEqual({ citizenOid: operator.oid, serviceCentre: CENTRE });
    desk = new BrowserSession();
    await signInToAccount(desk, idp.issuer, operator);
  });
  afterAll(() => idp?.close());

  let serial = 0;
  /** A citizen at `level` with SNILS, birth date and a passport in `passport` state. */
  async function citizenAt(level: TrustLevel, passport: DocumentStatus = 'verified', who: { oid: string } | undefined = undefined) {
    const citizen = who ?? (await idp.makeCitizen({ lastName: 'Гражданкина', firstName: 'Галина', middleName: 'Ивановна', trustLevel: level }));
    const body = String(400_000_000 + ++serial);
    const snils = body + String(snilsControl(body)).padStart(2, '0');
    await db.updateTable('citizens').set({ trust_level: level, snils, birth_date: '1984-02-29' }).where('oid', '=', citizen.oid).execute();
    await db.insertInto('citizen_documents').values({
      citizen_oid: citizen.oid, type: 'RF_PASSPORT', series: '4510', number: String(200_000 + serial), issue_date: '2004-03-10', issue_id: '770-002', issued_by: 'ОВД «Арбат» г. Москвы', vrf_status: passport,
    }).execute();
    return { oid: citizen.oid, snils, login: 'login' in citizen ? (citizen as { login: string }).login : '' };
  }

  const level = async (oid: string) => (await db.selectFrom('citizens').select('trust_level').where('oid', '=', oid).executeTakeFirstOrThrow()).trust_level;
  const card = (oid: string) => desk.open(`${idp.issuer}/operator/citizens/${oid}`);
  const confirm = (page: Page, form: Record<string, string>) => desk.submit(formAction(page, '/confirm'), { _csrf: csrfToken(page), ...form });

  it('shows a non-operator the friendly 403 page, and sends a stranger to sign in', async () => {
    const citizen = await idp.makeCitizen();
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    const page = await browser.open(`${idp.issuer}/operator`);
    expect(page.status).toBe(403);
    expect(page.html).toContain('Доступ запрещён');
    expect((await browser.open(`${idp.issuer}/operator/citizens/${citizen.oid}`)).status).toBe(403);

    const stranger = await fetch(`${idp.issuer}/operator`, { redirect: 'manual' });
    expect(stranger.status).toBe(302);
    expect(stranger.headers.get('location')).toMatch(/^\/account\/login\?return_to=/);
  });

  it('finds a citizen by SNILS and shows name, birth date, level, passport and its check', async () => {
    const citizen = await citizenAt('standard');
    const search = await desk.open(`${idp.issuer}/operator`);
    expect(search.html).toContain(CENTRE);
    const found = await desk.open(`${idp.issuer}/operator?snils=${encodeURIComponent(formatSnils(citizen.snils))}`);
    expect(found.url).toBe(`${idp.issuer}/operator/citizens/${citizen.oid}`);
    expect(found.html).toContain('Гражданкина Галина Ивановна');
    expect(found.html).toContain('29.02.1984');
    expect(found.html).toContain('data-trust-level="standard"');
    expect(found.html).toContain(`4510 ${200_000 + serial}`);
    expect(found.html).toContain('ОВД «Арбат» г. Москвы');
    expect(found.html).toContain('data-vrf-status="verified"');
    expect(found.html).toContain('Паспорт проверен, личность совпадает');
  });

  it('explains a mistyped SNILS beside the field and an unknown one plainly', async () => {
    const typo = await desk.open(`${idp.issuer}/operator?snils=${encodeURIComponent('112-233-445 96')}`);
    expect(typo.status).toBe(400);
    expect(typo.html).toContain('Неверное контрольное число СНИЛС');
    expect(typo.html).toContain('value="112-233-445 96"');
    const letters = await desk.open(`${idp.issuer}/operator?snils=${encodeURIComponent('"><script>x</script>')}`);
    expect(letters.html).not.toContain('<script>x</script>');
    const unknown = await desk.open(`${idp.issuer}/operator?snils=11223344595`);
    expect(unknown.status).toBe(200);
    expect(unknown.html).toContain('Гражданин с таким СНИЛС не найден');
  });

  it('confirms a standard citizen with a verified passport: level, audit with operator and centre, message', async () => {
    const citizen = await citizenAt('standard');
    const page = await card(citizen.oid);

    const unticked = await confirm(page, {});
    expect(unticked.status).toBe(400);
    expect(unticked.html).toContain('Отметьте, что паспорт проверен');
    expect(await level(citizen.oid)).toBe('standard');

    const done = await confirm(page, { passport_checked: 'yes' });
    expect(done.url).toContain('notice=confirmed');
    expect(done.html).toContain('Личность подтверждена');
    expect(await level(citizen.oid)).toBe('confirmed');

    const events = await db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).orderBy('id').execute();
    const change = events.find((e) => e.type === 'trust_level.changed')!;
    expect(change.actor).toEqual({ type: 'operator', oid: operator.oid });
    expect(change.details).toMatchObject({ from: 'standard', to: 'confirmed', method: 'in_person', serviceCentre: CENTRE });
    const confirmed = events.find((e) => e.type === 'identity.confirmed_in_person')!;
    expect(confirmed).toMatchObject({ actor: { type: 'operator', oid: operator.oid }, details: { serviceCentre: CENTRE } });
    expect(done.html).toContain('data-audit-type="identity.confirmed_in_person"');
    expect(done.html).toContain(`оператор ${operator.oid}`);
    expect(done.html).toContain(`serviceCentre: ${CENTRE}`);
    expect(done.html).toContain('Учётная запись уже подтверждена');

    const phone = (await db.selectFrom('citizens').select('phone').where('oid', '=', citizen.oid).executeTakeFirstOrThrow()).phone!;
    expect((await messagesTo(db, phone)).filter((m) => m.template === 'trust_level_changed')).toMatchObject([{ channel: 'sms', payload: { level: 'confirmed' } }]);

    const again = await confirm(page, { passport_checked: 'yes' });
    expect(again.status).toBe(409);
    expect(events.length).toBe((await db.selectFrom('audit_events').select('id').where('citizen_oid', '=', citizen.oid).execute()).length);
  });

  it('cannot confirm a simplified citizen, nor one whose passport is not verified', async () => {
    const simplified = await citizenAt('simplified', 'not_verified');
    const simplifiedCard = await card(simplified.oid);
    expect(simplifiedCard.html).toContain('Подтвердить можно только стандартную учётную запись');
    expect(simplifiedCard.html).not.toContain('Паспорт проверен, личность совпадает');

    const unverified = await citizenAt('standard', 'rejected');
    const unverifiedCard = await card(unverified.oid);
    expect(unverifiedCard.html).toContain('паспорт гражданина не прошёл проверку');

    // Forged posts are refused the same way.
    const forgeFrom = await card((await citizenAt('standard')).oid);
    for (const target of [simplified, unverified]) {
      const answer = await desk.submit(`${idp.issuer}/operator/citizens/${target.oid}/confirm`, { _csrf: csrfToken(forgeFrom), passport_checked: 'yes' });
      expect(answer.status).toBe(409);
    }
    expect(await level(simplified.oid)).toBe('simplified');
    expect(await level(unverified.oid)).toBe('standard');
  });

  it('cannot confirm themselves', async () => {
    const self = await citizenAt('standard', 'verified', operator);
    const own = await card(self.oid);
    expect(own.html).toContain('Оператор не может подтвердить собственную учётную запись');
    const forgeFrom = await card((await citizenAt('standard')).oid);
    const answer = await desk.submit(`${idp.issuer}/operator/citizens/${operator.oid}/confirm`, { _csrf: csrfToken(forgeFrom), passport_checked: 'yes' });
    expect(answer.status).toBe(403);
    expect(await level(operator.oid)).toBe('standard');
  });

  it('refuses a confirmation without a valid CSRF token', async () => {
    const citizen = await citizenAt('standard');
    const page = await card(citizen.oid);
    const missing = await desk.submit(formAction(page, '/confirm'), { passport_checked: 'yes' });
    expect(missing.status).toBe(403);
    expect(missing.html).toContain('Форма устарела');
    const forged = await desk.submit(formAction(page, '/confirm'), { _csrf: 'forged-token', passport_checked: 'yes' });
    expect(forged.status).toBe(403);
    expect(await level(citizen.oid)).toBe('standard');
  });

  it('shuts the desk for an operator whose role was revoked', async () => {
    const former = await idp.makeCitizen();
    await grantOperatorRole(db, { citizenOid: former.oid, serviceCentre: 'МФЦ Тверской' });
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, former);
    expect((await browser.open(`${idp.issuer}/operator`)).status).toBe(200);
    expect(await revokeOperatorRole(db, { citizenOid: former.oid })).toBe(true);
    expect((await browser.open(`${idp.issuer}/operator`)).status).toBe(403);
  });

  it('grants the role only to an existing citizen and a named centre', async () => {
    await expect(grantOperatorRole(db, { citizenOid: '999999999999', serviceCentre: CENTRE })).rejects.toMatchObject({ code: 'operator.citizen_not_found' });
    await expect(grantOperatorRole(db, { citizenOid: operator.oid, serviceCentre: '   ' })).rejects.toMatchObject({ code: 'operator.service_centre_invalid' });
  });
});
