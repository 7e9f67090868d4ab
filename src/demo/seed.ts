import type { Db } from '../db/database.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { createCitizen } from '../citizens/citizens.service.ts';
import { findCitizenByLogin } from '../citizens/citizens.repository.ts';
import type { TrustLevel } from '../citizens/citizen.table.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { findClientMetadata } from '../oidc/clients.repository.ts';
import { registerClient, type ValidateClientMetadata } from '../oidc/clients.service.ts';
import { seedDemoOrganisation } from '../organisations/demo.ts';
import { seedDemoPower } from '../powers/demo-power.ts';
import { seedDemoFamily } from '../family/demo-family.ts';

/**
 * Demo citizens, one per trust level, with the identity data each level implies. The mock state
 * registries (config/mock-registry.json) know the same people, so a tester can also take Петров
 * from simplified to standard by entering his data. Development only: config refuses DEMO in production.
 */
export interface DemoCitizen {
  lastName: string;
  firstName: string;
  middleName: string;
  phone: string;
  email: string;
  password: string;
  trustLevel: TrustLevel;
  birthDate: string;
  gender: 'M' | 'F';
  snils: string;
  passport: { series: string; number: string; issueDate: string; issueId: string; issuedBy: string };
  registrationAddress: string;
}

export const DEMO_CITIZENS: DemoCitizen[] = [
  {
    lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', phone: '79990000001', email: 'ivanov@example.ru', password: 'Demo-Confirmed-1', trustLevel: 'confirmed',
    birthDate: '1980-01-15', gender: 'M', snils: '11223344595',
    passport: { series: '4501', number: '123456', issueDate: '2000-02-01', issueId: '770-001', issuedBy: 'ОВД района Арбат г. Москвы' },
    registrationAddress: '119002, г. Москва, ул. Арбат, д. 10, кв. 5',
  },
  {
    lastName: 'Смирнова', firstName: 'Анна', middleName: 'Петровна', phone: '79990000002', email: 'smirnova@example.ru', password: 'Demo-Standard-2', trustLevel: 'standard',
    birthDate: '1990-06-20', gender: 'F', snils: '12345670140',
    passport: { series: '4502', number: '234567', issueDate: '2010-07-01', issueId: '770-002', issuedBy: 'ОУФМС России по г. Москве' },
    registrationAddress: '125009, г. Москва, ул. Тверская, д. 7, кв. 12',
  },
  {
    lastName: 'Петров', firstName: 'Пётр', middleName: 'Сергеевич', phone: '79990000003', email: 'petrov@example.ru', password: 'Demo-Simple-3', trustLevel: 'simplified',
    birthDate: '1995-03-10', gender: 'M', snils: '23456781285',
    passport: { series: '4503', number: '345678', issueDate: '2015-03-20', issueId: '770-003', issuedBy: 'ГУ МВД России по г. Москве' },
    registrationAddress: '101000, г. Москва, ул. Мясницкая, д. 3, кв. 1',
  },
];

/**
 * Иванов's second account, opened with another phone and e-mail and confirmed too: the
 * duplicate «Учетные записи» → «Связать аккаунты» offers to link (same SNILS and passport).
 */
export const DEMO_DUPLICATE: DemoCitizen = {
  ...DEMO_CITIZENS[0], phone: '79990000011', email: 'ivan.ivanov@mail.example', password: 'Demo-Duplicate-1',
};

export const DEMO_CLIENT_ID = 'mosru';

export interface DemoData {
  citizens: DemoCitizen[];
  mosruClient: { clientId: string; clientSecret: string };
}

/** Seeds what is missing (safe to run on every start) and returns what the demo needs. */
export async function seedDemoData(db: Db, hasher: PasswordHasher, secretBox: SecretBox, validate: ValidateClientMetadata, mosruUrl: string): Promise<DemoData> {
  for (const citizen of [...DEMO_CITIZENS, DEMO_DUPLICATE]) {
    if (!(await findCitizenByLogin(db, { kind: 'phone', value: citizen.phone }))) await seedCitizen(db, hasher, citizen);
  }
  // Иванов heads the demo ООО «Ромашка» (config/mock-business-registry.json); Смирнова works there.
  await seedDemoOrganisation(db, { chiefSnils: DEMO_CITIZENS[0].snils, employeeSnils: DEMO_CITIZENS[1].snils }, new Date());
  // Смирнова lets Иванов (named by his verified SNILS) view her data at every service for a year.
  const smirnova = await findCitizenByLogin(db, { kind: 'phone', value: DEMO_CITIZENS[1].phone });
  if (smirnova) await seedDemoPower(db, { principalOid: smirnova.oid, representativeSnils: DEMO_CITIZENS[0].snils, now: new Date() });
  // Иванов's children Мария (record only) and Пётр (15, own account awaiting his consent to the link).
  await seedDemoFamily(db, hasher, { parentPhone: DEMO_CITIZENS[0].phone });
  let metadata = await findClientMetadata(db, secretBox, DEMO_CLIENT_ID);
  if (!metadata) {
    await registerClient(db, secretBox, validate, {
      clientId: DEMO_CLIENT_ID,
      name: 'Мос.ру (демо)',
      redirectUris: [`${mosruUrl}/callback`],
      postLogoutRedirectUris: [`${mosruUrl}/`],
      backchannelLogoutUri: `${mosruUrl}/backchannel-logout`,
    });
    metadata = await findClientMetadata(db, secretBox, DEMO_CLIENT_ID);
  }
  return { citizens: DEMO_CITIZENS, mosruClient: { clientId: DEMO_CLIENT_ID, clientSecret: String(metadata!.client_secret) } };
}

/** A demo citizen at their level: the simplified one has only a name and contacts, to fill in by hand. */
async function seedCitizen(db: Db, hasher: PasswordHasher, demo: DemoCitizen): Promise<void> {
  const citizen = await createCitizen(db, hasher, demo);
  if (demo.trustLevel === 'simplified') return;
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('citizens').set({ birth_date: demo.birthDate, gender: demo.gender, birth_place: 'г. Москва', citizenship: 'RUS', snils: demo.snils }).where('oid', '=', citizen.oid).execute();
    await trx.insertInto('citizen_documents').values({
      citizen_oid: citizen.oid, type: 'RF_PASSPORT', series: demo.passport.series, number: demo.passport.number, issue_date: demo.passport.issueDate,
      issue_id: demo.passport.issueId, issued_by: demo.passport.issuedBy, vrf_status: 'verified',
    }).execute();
    await trx.insertInto('citizen_addresses').values({ citizen_oid: citizen.oid, type: 'PRG', address_str: demo.registrationAddress, city: 'Москва', region: 'Москва' }).execute();
    await recordAudit(trx, {
      type: 'trust_level.changed',
      citizenOid: citizen.oid,
      actor: { type: 'system', name: 'demo-seed' },
      details: { from: 'simplified', to: demo.trustLevel, method: demo.trustLevel === 'confirmed' ? 'in_person' : 'registry_check', ...(demo.trustLevel === 'confirmed' ? { serviceCentre: 'МФЦ «Арбат» (демо)' } : {}) },
    });
  });
}
