import type { Db } from '../db/database.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { createCitizen } from '../citizens/citizens.service.ts';
import { findCitizenByLogin } from '../citizens/citizens.repository.ts';
import { recordAudit } from '../audit/audit.service.ts';

/**
 * The demo family (demo mode only): Иванов Иван Иванович's children as verified records — Мария
 * (born 2015, no own account) and Пётр (born 2011), who has his own standard account and has not
 * yet answered his father's link request, so a tester can sign in as him and press «Разрешить
 * объединение с родительским аккаунтом». The mock ЗАГС (config/mock-civil-registry.json) holds
 * the same birth records. Safe on every start: it seeds only when Иванов has no children yet.
 */
export const DEMO_CHILD_ACCOUNT = {
  lastName: 'Иванов', firstName: 'Пётр', middleName: 'Иванович', phone: '79990001101', email: 'petr.ivanov@example.ru', password: 'Demo-Child-15',
  birthDate: '2011-02-03', snils: '34512367861',
} as const;

const ZAGS = 'Отдел ЗАГС Арбатского района Управления ЗАГС Москвы';

export async function seedDemoFamily(db: Db, hasher: PasswordHasher, input: { parentPhone: string }): Promise<void> {
  const parent = await findCitizenByLogin(db, { kind: 'phone', value: input.parentPhone });
  if (!parent) return;
  const existing = await db.selectFrom('children').select('id').where('parent_oid', '=', parent.oid).executeTakeFirst();
  if (existing) return;

  const petr = (await findCitizenByLogin(db, { kind: 'phone', value: DEMO_CHILD_ACCOUNT.phone }))
    ?? (await createCitizen(db, hasher, { ...DEMO_CHILD_ACCOUNT, trustLevel: 'standard' }));
  const now = new Date();
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('citizens')
      .set({ birth_date: DEMO_CHILD_ACCOUNT.birthDate, gender: 'M', birth_place: 'г. Москва', citizenship: 'RUS', snils: DEMO_CHILD_ACCOUNT.snils })
      .where('oid', '=', petr.oid).execute();
    const passport = await trx.selectFrom('citizen_documents').select('id').where('citizen_oid', '=', petr.oid).executeTakeFirst();
    if (!passport) {
      await trx.insertInto('citizen_documents').values({
        citizen_oid: petr.oid, type: 'RF_PASSPORT', series: '4525', number: '654321', issue_date: '2025-02-20', issue_id: '770-001', issued_by: 'ГУ МВД России по г. Москве', vrf_status: 'verified',
      }).execute();
      await recordAudit(trx, { type: 'trust_level.changed', citizenOid: petr.oid, actor: { type: 'system', name: 'demo-seed' }, details: { from: 'simplified', to: 'standard', method: 'registry_check' } });
    }
    const verified = { parent_oid: parent.oid, check_status: 'verified' as const, attempts: 1, checked_at: now, created_at: now, updated_at: now };
    await trx.insertInto('children').values([
      {
        ...verified, last_name: 'Иванова', first_name: 'Мария', middle_name: 'Ивановна', birth_date: '2015-04-12', gender: 'F', snils: null,
        cert_series: 'IV-МЮ', cert_number: '612345', cert_issue_date: '2015-04-20', cert_issued_by: ZAGS,
      },
      {
        ...verified, last_name: 'Иванов', first_name: 'Пётр', middle_name: 'Иванович', birth_date: DEMO_CHILD_ACCOUNT.birthDate, gender: 'M', snils: DEMO_CHILD_ACCOUNT.snils,
        cert_series: 'II-МЮ', cert_number: '543210', cert_issue_date: '2011-02-15', cert_issued_by: ZAGS,
        child_oid: petr.oid, link_state: 'pending_child_consent', link_changed_at: now,
      },
    ]).execute();
  });
}
