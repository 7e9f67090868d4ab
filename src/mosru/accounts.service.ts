import type { Kysely } from 'kysely';
import { normalizeEmail } from '../shared/contacts.ts';
import { findAccountByEmail, insertAccount } from './accounts.repository.ts';
import type { Account, MosruDatabase } from './mosru.tables.ts';
import { tokenId } from './tokens.ts';
import { hashPassword, passwordProblem, verifyAgainstNothing, verifyPassword } from './passwords.ts';
import type { FieldErrors, PersonalData } from './personal-data.form.ts';

type Db = Kysely<MosruDatabase>;

export const EMAIL_TAKEN_MESSAGE = 'Этот адрес уже зарегистрирован на Мос.ру. Войдите с паролем — Госуслуги можно подключить в настройках';

/** Checks the e-mail and the two password fields of a registration form. */
export function readCredentials(body: Record<string, unknown>): { ok: true; email: string; password: string } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const rawEmail = typeof body.email === 'string' ? body.email : '';
  const email = normalizeEmail(rawEmail);
  if (!rawEmail.trim()) errors.email = 'Укажите электронную почту';
  else if (!email) errors.email = 'Проверьте адрес электронной почты';
  const password = typeof body.password === 'string' ? body.password : '';
  const repeat = typeof body.passwordRepeat === 'string' ? body.passwordRepeat : '';
  const problem = passwordProblem(password);
  if (problem) errors.password = problem;
  else if (password !== repeat) errors.passwordRepeat = 'Пароли не совпадают';
  return Object.keys(errors).length > 0 || !email ? { ok: false, errors } : { ok: true, email, password };
}

/** Creates a local account; `email_taken` when the address is already registered. */
export async function registerAccount(db: Db, input: { email: string; password: string } & PersonalData): Promise<{ ok: true; account: Account } | { ok: false; reason: 'email_taken' }> {
  const account = await insertAccount(db, { ...input, passwordHash: await hashPassword(input.password) });
  return account ? { ok: true, account } : { ok: false, reason: 'email_taken' };
}

/** The account for this e-mail and password, or undefined — with the same work either way. */
export async function authenticate(db: Db, emailInput: string, password: string): Promise<Account | undefined> {
  const email = normalizeEmail(emailInput);
  const account = email ? await findAccountByEmail(db, email) : undefined;
  if (!account) return verifyAgainstNothing(password).then(() => undefined);
  return (await verifyPassword(account.password_hash, password)) ? account : undefined;
}

class EmailTaken extends Error {}

/**
 * Finishes a registration started by «Войти через Госуслуги»: uses the pending row up (once) and
 * creates the account in one transaction, so a taken e-mail leaves the pending row for another try.
 */
export async function registerFromGosuslugi(
  db: Db,
  pendingToken: string,
  input: { email: string; password: string } & PersonalData,
): Promise<{ ok: true; account: Account } | { ok: false; reason: 'expired' | 'email_taken' }> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.transaction().execute(async (trx) => {
      const used = await trx.deleteFrom('mosru.pending_registrations').where('id', '=', tokenId(pendingToken)).returning('id').executeTakeFirst();
      if (!used) return { ok: false as const, reason: 'expired' as const };
      const account = await insertAccount(trx, { ...input, passwordHash });
      if (!account) throw new EmailTaken();
      return { ok: true as const, account };
    });
  } catch (error) {
    if (error instanceof EmailTaken) return { ok: false, reason: 'email_taken' };
    throw error;
  }
}
