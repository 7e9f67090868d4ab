import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { DEMO_CITIZENS, seedDemoData } from '../../src/demo/seed.ts';
import { findCitizenByLogin } from '../../src/citizens/citizens.repository.ts';
import { listMemberships } from '../../src/organisations/memberships.ts';
import { listMembers } from '../../src/organisations/members.service.ts';

/** The demo data: Иванов heads ООО «Ромашка» of the mock register, Смирнова works there. */
describe('demo organisation', () => {
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
});
