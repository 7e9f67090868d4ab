import type { Db } from '../db/database.ts';
import type { PasswordHasher } from '../citizens/passwords.ts';
import { createCitizen } from '../citizens/citizens.service.ts';
import { findCitizenByLogin } from '../citizens/citizens.repository.ts';
import type { TrustLevel } from '../citizens/citizen.table.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import { findClientMetadata } from '../oidc/clients.repository.ts';
import { registerClient, type ValidateClientMetadata } from '../oidc/clients.service.ts';

/** Demo citizens, one per trust level. Development only: config refuses DEMO in production. */
export const DEMO_CITIZENS: Array<{ lastName: string; firstName: string; middleName: string; phone: string; email: string; password: string; trustLevel: TrustLevel }> = [
  { lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', phone: '79990000001', email: 'ivanov@example.ru', password: 'Demo-Confirmed-1', trustLevel: 'confirmed' },
  { lastName: 'Смирнова', firstName: 'Анна', middleName: 'Петровна', phone: '79990000002', email: 'smirnova@example.ru', password: 'Demo-Standard-2', trustLevel: 'standard' },
  { lastName: 'Петров', firstName: 'Пётр', middleName: 'Сергеевич', phone: '79990000003', email: 'petrov@example.ru', password: 'Demo-Simple-3', trustLevel: 'simplified' },
];

export const DEMO_CLIENT_ID = 'mosru';

export interface DemoData {
  citizens: typeof DEMO_CITIZENS;
  mosruClient: { clientId: string; clientSecret: string };
}

/** Seeds what is missing (safe to run on every start) and returns what the demo needs. */
export async function seedDemoData(db: Db, hasher: PasswordHasher, secretBox: SecretBox, validate: ValidateClientMetadata, mosruUrl: string): Promise<DemoData> {
  for (const citizen of DEMO_CITIZENS) {
    if (!(await findCitizenByLogin(db, { kind: 'phone', value: citizen.phone }))) await createCitizen(db, hasher, citizen);
  }
  let metadata = await findClientMetadata(db, secretBox, DEMO_CLIENT_ID);
  if (!metadata) {
    await registerClient(db, secretBox, validate, {
      clientId: DEMO_CLIENT_ID,
      name: 'Mos.ru (демо)',
      redirectUris: [`${mosruUrl}/callback`],
      postLogoutRedirectUris: [`${mosruUrl}/`],
      backchannelLogoutUri: `${mosruUrl}/backchannel-logout`,
    });
    metadata = await findClientMetadata(db, secretBox, DEMO_CLIENT_ID);
  }
  return { citizens: DEMO_CITIZENS, mosruClient: { clientId: DEMO_CLIENT_ID, clientSecret: String(metadata!.client_secret) } };
}
