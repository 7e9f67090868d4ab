import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { mockBusinessRegistry } from './business-registry.ts';

/** The demo ООО of config/mock-business-registry.json, headed by the demo citizen Иванов. */
export const DEMO_ORGANISATION = { kind: 'legal', inn: '7701234560', ogrn: '1027700123450' } as const;

/**
 * Demo data (src/demo/seed.ts): Иванов (the head in the mock register) as chief of ООО «Ромашка» with
 * Смирнова as an employee — as if he had added it and she had accepted his invitation. Safe on every
 * start: does nothing once the organisation exists, or when either citizen is missing.
 */
export async function seedDemoOrganisation(db: Db, people: { chiefSnils: string; employeeSnils: string }, now: Date): Promise<void> {
  const record = await mockBusinessRegistry().lookup(DEMO_ORGANISATION.kind, DEMO_ORGANISATION.inn, DEMO_ORGANISATION.ogrn);
  if (!record || record.head.snils !== people.chiefSnils) throw new Error('config/mock-business-registry.json: the demo organisation must be headed by the demo chief');
  const [chief, employee] = await Promise.all(
    [people.chiefSnils, people.employeeSnils].map((snils) => db.selectFrom('citizens').select('oid').where('snils', '=', snils).executeTakeFirst()),
  );
  if (!chief || !employee) return;
  await db.transaction().execute(async (trx) => {
    const exists = await trx.selectFrom('organisations').select('oid').where('inn', '=', DEMO_ORGANISATION.inn).executeTakeFirst();
    if (exists) return;
    const { oid } = await trx
      .insertInto('organisations')
      .values({ kind: 'legal', full_name: record.fullName, short_name: record.shortName, inn: DEMO_ORGANISATION.inn, ogrn: DEMO_ORGANISATION.ogrn, kpp: record.kpp, created_at: now })
      .returning('oid')
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('organisation_members')
      .values([
        { organisation_oid: oid, citizen_oid: chief.oid, roles: ['chief'], joined_at: now },
        { organisation_oid: oid, citizen_oid: employee.oid, roles: ['employee'], joined_at: now },
      ])
      .execute();
    await recordAudit(trx, { type: 'organisation.added', citizenOid: chief.oid, actor: { type: 'system', name: 'demo-seed' }, details: { organisationOid: String(oid), kind: 'legal' } });
  });
}
