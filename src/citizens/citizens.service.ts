import type { Db } from '../db/database.ts';
import { AppError } from '../shared/app-error.ts';
import { normalizeEmail, normalizePhone, parseLoginIdentifier } from '../shared/contacts.ts';
import { normalizePersonName } from '../shared/names.ts';
import { isUniqueViolation } from '../db/pg-errors.ts';
import type { Citizen, TrustLevel } from './citizen.table.ts';
import { findCitizenByLogin, findPrimaryAccount, insertCitizen } from './citizens.repository.ts';
import type { PasswordHasher } from './passwords.ts';

export interface CreateCitizenInput {
  lastName: string;
  firstName: string;
  middleName?: string;
  phone?: string;
  email?: string;
  password: string;
  trustLevel?: TrustLevel;
}

/**
 * Creates a citizen directly (operators' CLI and demo data). Self-registration with confirmation
 * codes is its own flow; both end here so the rules stay in one place.
 */
export async function createCitizen(db: Db, hasher: PasswordHasher, input: CreateCitizenInput): Promise<Citizen> {
  const problems: Record<string, string> = {};
  const lastName = normalizePersonName(input.lastName);
  const firstName = normalizePersonName(input.firstName);
  const middleName = input.middleName ? normalizePersonName(input.middleName) : null;
  if (!lastName) problems.lastName = 'name.invalid';
  if (!firstName) problems.firstName = 'name.invalid';
  if (input.middleName && !middleName) problems.middleName = 'name.invalid';
  const phone = input.phone ? normalizePhone(input.phone) : null;
  const email = input.email ? normalizeEmail(input.email) : null;
  if (input.phone && !phone) problems.phone = 'phone.invalid';
  if (input.email && !email) problems.email = 'email.invalid';
  if (!input.phone && !input.email) problems.contact = 'contact.required';
  if (input.password.length < 8) problems.password = 'password.too_short';
  if (Object.keys(problems).length) throw new AppError('citizen.invalid', 400, 'invalid citizen data', problems);

  const passwordHash = await hasher.hash(input.password);
  try {
    return await insertCitizen(db, { lastName: lastName!, firstName: firstName!, middleName, phone, email, passwordHash, trustLevel: input.trustLevel });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('citizen.contact_taken', 409, 'phone or e-mail already belongs to an account');
    throw error;
  }
}

/**
 * Checks a login and password. Unknown logins cost the same argon2 work as wrong passwords and
 * give the same answer, so neither the message nor the timing tells whether an account exists.
 */
export async function authenticateCitizen(db: Db, hasher: PasswordHasher, login: string, password: string): Promise<Citizen | null> {
  const identifier = parseLoginIdentifier(login);
  const citizen = identifier ? await findCitizenByLogin(db, identifier) : undefined;
  if (!citizen) return hasher.verifyAgainstNothing(password).then(() => null);
  if (!(await hasher.verify(citizen.password_hash, password))) return null;
  // An alias's own phone or e-mail and password sign in to the account it was linked into (src/merge).
  return (await findPrimaryAccount(db, citizen)) ?? null;
}
