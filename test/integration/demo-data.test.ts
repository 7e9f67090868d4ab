import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { DEMO_CITIZENS, DEMO_DUPLICATE, seedDemoData } from '../../src/demo/seed.ts';
import { findCandidates } from '../../src/merge/merge.repository.ts';
import { evaluateMerge } from '../../src/merge/merge.service.ts';
import { findCitizenByLogin } from '../../src/citizens/citizens.repository.ts';
import { listMemberships } from '../../src/organisations/memberships.ts';
import { listMembers } from '../../src/organisations/members.service.ts';

/** The demo data: Иванов heads ООО «Ромашка» of the mock register, Смирнова works there; his older duplicate account can be linked. */
describe('demo data', () => {
  let idp: TestIdp;

  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(() => idp?.close());

  it('seeds Иванов as chief of ООО «Ромашка» with Смирнова as an employee, once however often it runs', async () => {
    const { db } = idp.runtime.database;
    const seed = () => seedDemoData(db, idp.runtime.hasher, idp.runtime.secrets.secretBox, idp.runtime.validateClient, 'http://127.0.0.1:9');
    await seed();
    await seed();
    const [ivanov, smirnova, petrov] = await Promise.all(DEMO_CITIZENS.map((c) => findCitizenByLogin(db, { kind: 'phone', value: c.phone })));
    const memberships = await listMemberships(db, ivanov!.oid);
    expect(memberships).toEqual([
      { organisation: { oid: expect.any(String), kind: 'legal', fullName: 'Общество с ограниченной ответственностью «Ромашка»', shortName: 'ООО «Ромашка»', inn: '7701234560', ogrn: '1027700123450', kpp: '770101001' }, roles: ['chief'] },
    ]);
    expect((await listMembers(db, memberships[0].organisation.oid)).map((m) => [m.citizenOid, m.roles])).toEqual([
      [ivanov!.oid, ['chief']],
      [smirnova!.oid, ['employee']],
    ]);
    expect(await listMemberships(db, petrov!.oid)).toEqual([]);
  });

  it('gives Иванов a duplicate account that «Связать аккаунты» offers and nothing refuses', async () => {
    const { db } = idp.runtime.database;
    await seedDemoData(db, idp.runtime.hasher, idp.runtime.secrets.secretBox, idp.runtime.validateClient, 'http://127.0.0.1:9');
    const ivanov = (await findCitizenByLogin(db, { kind: 'phone', value: DEMO_CITIZENS[0].phone }))!;
    const duplicate = (await findCitizenByLogin(db, { kind: 'phone', value: DEMO_DUPLICATE.phone }))!;
    expect((await findCandidates(db, ivanov)).map((c) => c.oid)).toEqual([duplicate.oid]);
    expect(await evaluateMerge(db, ivanov, duplicate, new Date())).toEqual([]);
    // A login by the shared SNILS still opens the main account (confirmed, then the oldest).
    expect((await findCitizenByLogin(db, { kind: 'snils', value: DEMO_CITIZENS[0].snils }))!.oid).toBe(ivanov.oid);
  });
});
