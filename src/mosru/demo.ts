import type { Kysely } from 'kysely';
import { insertAccount } from './accounts.repository.ts';
import type { MosruDatabase } from './mosru.tables.ts';
import { hashPassword } from './passwords.ts';

/** The password of every demo Mos.ru account (printed in the README). */
export const MOSRU_DEMO_PASSWORD = 'Mosru-Demo-1';

/**
 * Mos.ru accounts for the IdP's demo citizens, one per journey:
 * Иванов's data match his Госуслуги account (binding succeeds), Смирнова's birth date differs
 * (binding refused, «Дата рождения»), Петров's Госуслуги account is only simplified (the IdP
 * refuses with ESIA-007055). Birth dates are the ones the IdP's demo seed gives them.
 */
export const MOSRU_DEMO_ACCOUNTS = [
  { email: 'ivanov@mos.example', lastName: 'Иванов', firstName: 'Иван', middleName: 'Иванович', birthDate: '1980-01-15', journey: 'данные совпадают — подключение проходит' },
  { email: 'smirnova@mos.example', lastName: 'Смирнова', firstName: 'Анна', middleName: 'Петровна', birthDate: '1990-07-20', journey: 'другая дата рождения — подключение отклоняется' },
  { email: 'petrov@mos.example', lastName: 'Петров', firstName: 'Пётр', middleName: 'Сергеевич', birthDate: '1995-03-10', journey: 'упрощённая учётная запись Госуслуг — уровня недостаточно' },
] as const;

/** Creates the demo accounts that are missing (safe on every start); returns them all for printing. */
export async function seedMosruDemo(db: Kysely<MosruDatabase>): Promise<Array<(typeof MOSRU_DEMO_ACCOUNTS)[number] & { password: string }>> {
  const existing = new Set(
    (await db.selectFrom('mosru.accounts').select('email').where('email', 'in', MOSRU_DEMO_ACCOUNTS.map((a) => a.email)).execute()).map((r) => r.email),
  );
  for (const account of MOSRU_DEMO_ACCOUNTS) {
    if (existing.has(account.email)) continue;
    await insertAccount(db, { ...account, passwordHash: await hashPassword(MOSRU_DEMO_PASSWORD), snils: null });
  }
  return MOSRU_DEMO_ACCOUNTS.map((account) => ({ ...account, password: MOSRU_DEMO_PASSWORD }));
}
