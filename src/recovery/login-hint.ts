import type { Citizen } from '../citizens/citizen.table.ts';

/**
 * What a "forgot login" message tells the owner of a contact: the identifiers the account can sign
 * in with, masked enough that a message read over a shoulder does not give them away whole.
 */
export function maskedLogins(citizen: Pick<Citizen, 'phone' | 'email' | 'snils'>): string[] {
  const logins: string[] = [];
  if (citizen.phone) logins.push(maskPhone(citizen.phone));
  if (citizen.email) logins.push(maskEmail(citizen.email));
  if (citizen.snils) logins.push('СНИЛС');
  return logins;
}

/** 79991234567 → +7 999 ***-**-67 */
export function maskPhone(phone: string): string {
  return `+7 ${phone.slice(1, 4)} ***-**-${phone.slice(-2)}`;
}

/** ivanov@example.ru → iv***@example.ru; a short local part keeps only its first letter. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  return `${local.slice(0, local.length > 3 ? 2 : 1)}***${email.slice(at)}`;
}
