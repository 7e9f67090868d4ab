import type { Kysely, Transaction } from 'kysely';
import type { Account, MosruDatabase } from './mosru.tables.ts';

type Db = Kysely<MosruDatabase> | Transaction<MosruDatabase>;

export interface NewAccount {
  email: string;
  passwordHash: string;
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: string;
  snils: string | null;
}

/** Inserts the account; undefined when the e-mail is taken (the unique key decides, not a prior read). */
export async function insertAccount(db: Db, input: NewAccount): Promise<Account | undefined> {
  return db
    .insertInto('mosru.accounts')
    .values({
      email: input.email,
      password_hash: input.passwordHash,
      last_name: input.lastName,
      first_name: input.firstName,
      middle_name: input.middleName,
      birth_date: input.birthDate,
      snils: input.snils,
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export function findAccountByEmail(db: Db, email: string): Promise<Account | undefined> {
  return db.selectFrom('mosru.accounts').selectAll().where('email', '=', email).executeTakeFirst();
}

export function findAccount(db: Db, id: string): Promise<Account | undefined> {
  return db.selectFrom('mosru.accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updatePersonalData(db: Db, id: string, data: Pick<NewAccount, 'lastName' | 'firstName' | 'middleName' | 'birthDate' | 'snils'>): Promise<void> {
  await db
    .updateTable('mosru.accounts')
    .set({ last_name: data.lastName, first_name: data.firstName, middle_name: data.middleName, birth_date: data.birthDate, snils: data.snils })
    .where('id', '=', id)
    .execute();
}
