import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { snilsControl } from '../../src/shared/validators.ts';
import { AppError } from '../../src/shared/app-error.ts';
import { createMockRegistries, loadMockRegistrySeed } from '../../src/verification/mock-registries.ts';
import {
  claimDueRegistryCheck, processDueRegistryChecks, REGISTRY_CHECK_MAX_ATTEMPTS, registryRetryDelaySeconds, startRegistryCheckWorker, type RegistryWorkerDeps,
} from '../../src/verification/registry-check.worker.ts';
import { requestRegistryCheck } from '../../src/verification/registry-check.service.ts';
import type { PassportVerdict, StateRegistries } from '../../src/verification/state-registries.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { createTestClock } from '../support/clock.ts';
import { BrowserSession, formAction } from '../support/browser-session.ts';
import { csrfToken, signInToAccount } from '../support/account.ts';
import { messagesTo } from '../support/outbox.ts';

const SEED_FILE = fileURLToPath(new URL('../../config/mock-registry.json', import.meta.url));

describe('registry check: simplified → standard', () => {
  const clock = createTestClock(new Date('2026-12-01T09:00:00Z'));
  const logger = createLogger({ level: 'silent' });
  let idp: TestIdp;
  let db: Db;
  let worker: RegistryWorkerDeps;

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
    db = idp.runtime.database.db;
    expect(await loadMockRegistrySeed(db, SEED_FILE)).toBeGreaterThanOrEqual(6);
    worker = { db, clock, logger, registries: createMockRegistries({ db, latencyMs: 0, failureRate: 0 }) };
  });
  afterAll(() => idp?.close());

  // ─── fixtures ────────────────────────────────────────────────────────────────────────────────────

  let serial = 0;
  interface Person { lastName: string; firstName: string; middleName: string | null; birthDate: string; snils: string; series: string; number: string }

  /** A new person with a valid SNILS and a passport number nobody else has. */
  function newPerson(overrides: Partial<Person> = {}): Person {
    const n = ++serial;
    const body = String(300_000_000 + n);
    return {
      lastName: 'Тестов', firstName: 'Тест', middleName: 'Тестович', birthDate: '1990-04-12',
      snils: body + String(snilsControl(body)).padStart(2, '0'), series: '7700', number: String(100_000 + n), ...overrides,
    };
  }

  async function addToRegistry(person: Person, options: { passportValid?: boolean } = {}): Promise<void> {
    await db.insertInto('mock_registry_persons').values({
      last_name: person.lastName, first_name: person.firstName, middle_name: person.middleName, birth_date: person.birthDate,
      snils: person.snils, passport_series: person.series, passport_number: person.number, passport_valid: options.passportValid ?? true,
    }).execute();
  }

  /** A simplified citizen who has filled in personal data, SNILS and passport as `person` says. */
  async function citizenWith(person: Person) {
    const citizen = await idp.makeCitizen({ lastName: person.lastName, firstName: person.firstName, middleName: person.middleName ?? undefined });
    await db.updateTable('citizens')
      .set({ birth_date: person.birthDate, gender: 'M', birth_place: 'г. Москва', citizenship: 'RUS', snils: person.snils })
      .where('oid', '=', citizen.oid).execute();
    await db.insertInto('citizen_documents').values({
      citizen_oid: citizen.oid, type: 'RF_PASSPORT', series: person.series, number: person.number, issue_date: '2015-05-20', issue_id: '770-001', issued_by: 'ГУ МВД России по г. Москве',
    }).execute();
    return citizen;
  }

  const level = async (oid: string) => (await db.selectFrom('citizens').select('trust_level').where('oid', '=', oid).executeTakeFirstOrThrow()).trust_level;
  const passportStatus = async (oid: string) => (await db.selectFrom('citizen_documents').select('vrf_status').where('citizen_oid', '=', oid).executeTakeFirstOrThrow()).vrf_status;
  const checksOf = (oid: string) => db.selectFrom('registry_checks').selectAll().where('citizen_oid', '=', oid).orderBy('created_at').execute();
  const levelChanges = (oid: string) => db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', oid).where('type', '=', 'trust_level.changed').execute();
  const submit = (oid: string) => requestRegistryCheck(db, { citizenOid: oid, now: clock.now() });

  /** Registries whose calls fail while `failing()` says so (a scripted random source, no chance involved). */
  function flakyRegistries(failing: () => boolean): StateRegistries {
    return createMockRegistries({ db, latencyMs: 0, failureRate: 0.5, random: () => (failing() ? 0 : 1) });
  }

  async function signedIn(citizen: { login: string; password: string }) {
    const browser = new BrowserSession();
    await signInToAccount(browser, idp.issuer, citizen);
    return browser;
  }

  // ─── the journey ─────────────────────────────────────────────────────────────────────────────────

  it('checks the submitted data and makes the account standard, with an audit trail and a message', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    const browser = await signedIn(citizen);

    const page = await browser.open(`${idp.issuer}/account/verification`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Отправить на проверку');
    expect(page.html).not.toContain('class="todo" data-need');
    const sent = await browser.submit(formAction(page, '/account/verification/check'), { _csrf: csrfToken(page) });
    expect(sent.url).toContain('notice=check_requested');
    expect(sent.html).toContain('Данные отправлены на проверку');
    expect(sent.html).toContain('на проверке');
    expect(sent.html).not.toContain('Отправить на проверку');

    const [check] = await checksOf(citizen.oid);
    expect(check).toMatchObject({ status: 'pending', snapshot: { lastName: 'Тестов', snils: person.snils, passport: { series: '7700', number: person.number, issueDate: '2015-05-20' } } });
    expect(await passportStatus(citizen.oid)).toBe('verifying');
    const requested = await db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).where('type', '=', 'registry_check.requested').execute();
    expect(requested).toHaveLength(1);

    expect(await processDueRegistryChecks(worker)).toBe(1);

    expect(await level(citizen.oid)).toBe('standard');
    expect(await passportStatus(citizen.oid)).toBe('verified');
    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'verified', attempts: 1, leased_until: null, finished_at: clock.now() });
    const [change] = await levelChanges(citizen.oid);
    expect(change.actor).toEqual({ type: 'system', name: 'registry-check' });
    expect(change.details).toMatchObject({ from: 'simplified', to: 'standard', method: 'registry_check', checkId: check.id });
    const phone = citizen.login.replace('+', '');
    expect((await messagesTo(db, phone)).filter((m) => m.template === 'trust_level_changed')).toMatchObject([{ channel: 'sms', payload: { level: 'standard', previousLevel: 'simplified' } }]);

    const overview = await browser.open(`${idp.issuer}/account`);
    expect(overview.html).toContain('data-trust-level="standard"');
    expect(await processDueRegistryChecks(worker)).toBe(0);
  });

  it('matches names regardless of case and ё/е', async () => {
    const registered = newPerson({ lastName: 'СЕМЁНОВ', firstName: 'петр', middleName: 'Алексеевич' });
    await addToRegistry(registered);
    const citizen = await citizenWith({ ...registered, lastName: 'Семенов', firstName: 'Пётр' });
    await submit(citizen.oid);
    await processDueRegistryChecks(worker);
    expect(await level(citizen.oid)).toBe('standard');
  });

  it('lists what is missing and refuses to check incomplete data', async () => {
    const citizen = await idp.makeCitizen();
    const browser = await signedIn(citizen);
    const page = await browser.open(`${idp.issuer}/account/verification`);
    expect(page.html).toMatch(/class="todo" data-need="verification.need.personal">[^<]*<a href="\/account\/personal">заполнить/);
    expect(page.html).toMatch(/class="todo" data-need="verification.need.snils">[^<]*<a href="\/account\/personal">заполнить/);
    expect(page.html).toMatch(/class="todo" data-need="verification.need.passport">[^<]*<a href="\/account\/documents">заполнить/);
    expect(page.html).not.toContain('Отправить на проверку');
    await expect(submit(citizen.oid)).rejects.toMatchObject({ code: 'verification.data_incomplete', status: 400 });
    expect(await checksOf(citizen.oid)).toEqual([]);
  });

  // ─── rejections the citizen can act on ───────────────────────────────────────────────────────────

  const rejections: Array<{ reason: string; text: string; arrange: () => Promise<Person>; passport: string }> = [
    { reason: 'passport_not_found', text: 'паспорт не найден в реестре МВД', passport: 'rejected', arrange: async () => {
      const person = newPerson();
      await addToRegistry({ ...person, number: String(900_000 + serial) });
      return person;
    } },
    { reason: 'passport_invalid', text: 'паспорт недействителен', passport: 'rejected', arrange: async () => {
      const person = newPerson();
      await addToRegistry(person, { passportValid: false });
      return person;
    } },
    { reason: 'passport_mismatch', text: 'данные паспорта не совпадают с ФИО или датой рождения', passport: 'rejected', arrange: async () => {
      const person = newPerson();
      await addToRegistry({ ...person, birthDate: '1991-04-12' });
      return person;
    } },
    { reason: 'snils_not_found', text: 'СНИЛС не найден в реестре СФР', passport: 'not_verified', arrange: async () => {
      const person = newPerson();
      await addToRegistry(person);
      return { ...person, snils: newPerson().snils };
    } },
    { reason: 'snils_other_person', text: 'СНИЛС принадлежит другому человеку', passport: 'not_verified', arrange: async () => {
      const person = newPerson();
      await addToRegistry(person);
      const someoneElse = newPerson({ lastName: 'Другой', firstName: 'Человек' });
      await addToRegistry({ ...someoneElse, number: String(800_000 + serial) });
      return { ...person, snils: someoneElse.snils };
    } },
  ];

  it.each(rejections)('rejects with $reason and says so on the verification page and the overview', async ({ reason, text, arrange, passport }) => {
    const citizen = await citizenWith(await arrange());
    const browser = await signedIn(citizen);
    await submit(citizen.oid);
    await processDueRegistryChecks(worker);

    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'rejected', reason_code: reason });
    expect(await level(citizen.oid)).toBe('simplified');
    expect(await passportStatus(citizen.oid)).toBe(passport);
    expect(await levelChanges(citizen.oid)).toEqual([]);
    const audit = await db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizen.oid).where('type', '=', 'registry_check.rejected').executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ reasonCode: reason });

    const page = await browser.open(`${idp.issuer}/account/verification`);
    expect(page.html).toContain(`Проверка не пройдена: ${text}.`);
    expect(page.html).toContain('Отправить на проверку'); // after correcting, the citizen sends again
    const overview = await browser.open(`${idp.issuer}/account`);
    expect(overview.html).toContain(`Проверка не пройдена: ${text}.`);
  });

  // ─── the worker under failure ────────────────────────────────────────────────────────────────────

  it('survives a worker that dies mid-check: the lease runs out and the next round finishes it exactly once', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    await submit(citizen.oid);

    // Registry calls that answer only when the test says: a worker waiting on one is as good as dead.
    const answers: Array<(verdict: PassportVerdict) => void> = [];
    const stalling: StateRegistries = {
      checkPassport: () => new Promise((resolve) => answers.push(resolve)),
      checkSnils: async () => ({ ok: true }),
    };
    const deadRound = processDueRegistryChecks({ ...worker, registries: stalling });
    await expect.poll(() => answers.length).toBe(1);

    // While the lease holds, nobody else takes the check.
    expect(await processDueRegistryChecks(worker)).toBe(0);
    clock.advance(59);
    expect(await processDueRegistryChecks(worker)).toBe(0);

    clock.advance(2); // 61 s after the claim: the lease has run out and a new worker claims the check
    const nextRound = processDueRegistryChecks({ ...worker, registries: stalling });
    await expect.poll(() => answers.length).toBe(2);

    // The first worker wakes up with a (stale, wrong) verdict while the second still works: it changes nothing.
    answers[0]({ ok: false, reason: 'passport_not_found' });
    expect(await deadRound).toBe(1);
    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'pending', attempts: 2, reason_code: null });

    answers[1]({ ok: true });
    expect(await nextRound).toBe(1);
    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'verified', attempts: 2 });
    expect(await level(citizen.oid)).toBe('standard');
    expect(await levelChanges(citizen.oid)).toHaveLength(1);
    const finished = await db.selectFrom('audit_events').select('type').where('citizen_oid', '=', citizen.oid).where('type', 'in', ['registry_check.verified', 'registry_check.rejected']).execute();
    expect(finished).toEqual([{ type: 'registry_check.verified' }]);
    expect((await messagesTo(db, citizen.login.replace('+', ''))).filter((m) => m.template === 'trust_level_changed')).toHaveLength(1);
    expect(await processDueRegistryChecks(worker)).toBe(0);
  });

  it('retries a registry that times out, after a pause, then succeeds', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    await submit(citizen.oid);

    let outage = true;
    const registries = flakyRegistries(() => outage);
    expect(await processDueRegistryChecks({ ...worker, registries })).toBe(1);
    const [afterFailure] = await checksOf(citizen.oid);
    expect(afterFailure).toMatchObject({ status: 'pending', attempts: 1, leased_until: null, last_error: expect.stringContaining('registry timeout') });
    expect(afterFailure.next_attempt_at).toEqual(new Date(clock.now().getTime() + registryRetryDelaySeconds(1) * 1000));
    expect(await passportStatus(citizen.oid)).toBe('verifying');

    outage = false;
    expect(await processDueRegistryChecks({ ...worker, registries })).toBe(0); // not due yet
    clock.advance(registryRetryDelaySeconds(1));
    expect(await processDueRegistryChecks({ ...worker, registries })).toBe(1);
    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'verified', attempts: 2 });
    expect(await level(citizen.oid)).toBe('standard');
  });

  it(`gives up after ${REGISTRY_CHECK_MAX_ATTEMPTS} attempts with registry_unavailable, which the citizen sees`, async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    const browser = await signedIn(citizen);
    await submit(citizen.oid);

    const down = flakyRegistries(() => true);
    for (let attempt = 1; attempt <= REGISTRY_CHECK_MAX_ATTEMPTS; attempt++) {
      expect(await processDueRegistryChecks({ ...worker, registries: down })).toBe(1);
      const [check] = await checksOf(citizen.oid);
      expect(check.attempts).toBe(attempt);
      expect(check.status).toBe(attempt < REGISTRY_CHECK_MAX_ATTEMPTS ? 'pending' : 'rejected');
      clock.advance(registryRetryDelaySeconds(attempt));
    }
    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'rejected', reason_code: 'registry_unavailable' });
    expect(await passportStatus(citizen.oid)).toBe('not_verified');
    expect(await level(citizen.oid)).toBe('simplified');

    const page = await browser.open(`${idp.issuer}/account/verification`);
    expect(page.html).toContain('Проверка не пройдена: реестры временно недоступны, попробуйте позже.');
    expect(page.html).toContain('Отправить на проверку');
    expect((await browser.open(`${idp.issuer}/account`)).html).toContain('реестры временно недоступны, попробуйте позже');
  });

  it('supersedes a check whose data the citizen changed while it was pending, and changes no level', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    const browser = await signedIn(citizen);
    await submit(citizen.oid);
    await db.updateTable('citizens').set({ last_name: 'Изменённый' }).where('oid', '=', citizen.oid).execute();

    expect(await processDueRegistryChecks(worker)).toBe(1);
    expect((await checksOf(citizen.oid))[0]).toMatchObject({ status: 'superseded', reason_code: null });
    expect(await level(citizen.oid)).toBe('simplified');
    expect(await levelChanges(citizen.oid)).toEqual([]);
    expect(await passportStatus(citizen.oid)).toBe('not_verified');
    const page = await browser.open(`${idp.issuer}/account/verification`);
    expect(page.html).toContain('Данные изменились во время проверки');
    expect(page.html).toContain('Отправить на проверку');
  });

  it('refuses a second check while one is pending, also when two arrive at once', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    const browser = await signedIn(citizen);
    const page = await browser.open(`${idp.issuer}/account/verification`);
    const action = formAction(page, '/account/verification/check');
    const first = await browser.submit(action, { _csrf: csrfToken(page) });
    expect(first.status).toBe(200);
    const second = await browser.submit(action, { _csrf: csrfToken(page) });
    expect(second.status).toBe(409);
    expect(second.html).toContain('Данные уже на проверке');
    expect(await checksOf(citizen.oid)).toHaveLength(1);

    const other = newPerson();
    await addToRegistry(other);
    const racer = await citizenWith(other);
    const results = await Promise.allSettled([submit(racer.oid), submit(racer.oid)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(AppError);
    expect(refused.reason).toMatchObject({ code: 'verification.check_pending', status: 409 });
    expect(await checksOf(racer.oid)).toHaveLength(1);

    await processDueRegistryChecks(worker);
  });

  it('refuses a check for an account that is already standard', async () => {
    const person = newPerson();
    const citizen = await citizenWith(person);
    await db.updateTable('citizens').set({ trust_level: 'standard' }).where('oid', '=', citizen.oid).execute();
    await expect(submit(citizen.oid)).rejects.toMatchObject({ code: 'verification.not_simplified', status: 409 });
  });

  it('claims one check per worker at a time', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    await submit(citizen.oid);
    const [a, b] = await Promise.all([claimDueRegistryCheck(db, clock.now()), claimDueRegistryCheck(db, clock.now())]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    clock.advance(61);
    expect(await processDueRegistryChecks(worker)).toBe(1);
    expect(await level(citizen.oid)).toBe('standard');
  });

  it('knows the demo people of config/mock-registry.json, including the one with an invalid passport', async () => {
    const petrov = await citizenWith({ lastName: 'Петров', firstName: 'Пётр', middleName: 'Сергеевич', birthDate: '1995-03-10', snils: '23456781285', series: '4503', number: '345678' });
    const fedorov = await citizenWith({ lastName: 'Фёдоров', firstName: 'Олег', middleName: 'Викторович', birthDate: '1968-07-12', snils: '56789014549', series: '4506', number: '678901' });
    await submit(petrov.oid);
    await submit(fedorov.oid);
    expect(await processDueRegistryChecks(worker)).toBe(2);
    expect(await level(petrov.oid)).toBe('standard');
    expect((await checksOf(fedorov.oid))[0]).toMatchObject({ status: 'rejected', reason_code: 'passport_invalid' });
    expect(await loadMockRegistrySeed(db, SEED_FILE)).toBe(6); // loading again updates, never duplicates
    expect((await db.selectFrom('mock_registry_persons').select('id').where('snils', '=', '23456781285').execute())).toHaveLength(1);
  });

  it('runs in the background until stopped', async () => {
    const person = newPerson();
    await addToRegistry(person);
    const citizen = await citizenWith(person);
    const running = startRegistryCheckWorker({ ...worker, pollMs: 20 });
    try {
      await submit(citizen.oid);
      await expect.poll(() => level(citizen.oid), { timeout: 15_000 }).toBe('standard');
    } finally {
      await running.stop();
    }
  });

  it('refuses a seed file with a wrong SNILS checksum', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = `${mkdtempSync(`${tmpdir()}/registry-seed-`)}/bad.json`;
    writeFileSync(file, JSON.stringify({ persons: [{ lastName: 'Плохой', firstName: 'Номер', birthDate: '1990-01-01', snils: '112-233-445 96' }] }));
    await expect(loadMockRegistrySeed(db, file)).rejects.toThrow(/persons\.0\.snils: checksum/);
  });
});
