import { createCitizen } from '../../citizens/citizens.service.ts';
import { TRUST_LEVELS } from '../../citizens/citizen.table.ts';
import { createPasswordHasher } from '../../citizens/passwords.ts';
import { AppError } from '../../shared/app-error.ts';
import { CliError, UsageError, oneOf, optionalString, requiredString, type CliCommand } from '../command.ts';
import { fields } from '../output.ts';

export const citizensAddCommand: CliCommand = {
  name: 'citizens add',
  summary: 'Create a citizen account',
  usage: '--last-name <name> --first-name <name> (--phone <phone> | --email <email>) --password <password> [options]',
  optionHelp: [
    ['--last-name <name>', 'Фамилия (Cyrillic)'],
    ['--first-name <name>', 'Имя (Cyrillic)'],
    ['--middle-name <name>', 'Отчество, when the citizen has one'],
    ['--phone <phone>', 'Russian mobile number: +7 999 123-45-67, 8 999 1234567 …'],
    ['--email <email>', 'E-mail address (give --phone, --email or both: either is a login)'],
    ['--password <password>', 'At least 8 characters'],
    ['--trust-level <level>', `${TRUST_LEVELS.join(', ')} (default: simplified)`],
  ],
  description: ['Prints the new OID (the ESIA-style account number).'],
  options: {
    'last-name': { type: 'string' },
    'first-name': { type: 'string' },
    'middle-name': { type: 'string' },
    phone: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    'trust-level': { type: 'string' },
  },
  async run(context, args) {
    const command = 'citizens add';
    const input = {
      lastName: requiredString(args, 'last-name', command),
      firstName: requiredString(args, 'first-name', command),
      middleName: optionalString(args, 'middle-name', command),
      phone: optionalString(args, 'phone', command),
      email: optionalString(args, 'email', command),
      password: requiredString(args, 'password', command),
      trustLevel: oneOf(optionalString(args, 'trust-level', command), TRUST_LEVELS, 'trust-level', command),
    };
    if (!input.phone && !input.email) throw new UsageError('give --phone or --email (or both)', command);

    const db = await context.database();
    let citizen;
    try {
      citizen = await createCitizen(db, createPasswordHasher(context.config.argon2), input);
    } catch (error) {
      if (error instanceof AppError) throw new CliError(error.code, describeCitizenError(error));
      throw error;
    }
    const name = [citizen.last_name, citizen.first_name, citizen.middle_name].filter(Boolean).join(' ');
    return {
      json: {
        oid: citizen.oid,
        lastName: citizen.last_name,
        firstName: citizen.first_name,
        middleName: citizen.middle_name,
        phone: citizen.phone ? `+${citizen.phone}` : null,
        email: citizen.email,
        trustLevel: citizen.trust_level,
        createdAt: citizen.created_at,
      },
      text: [
        `Citizen created: OID ${citizen.oid}`,
        fields([
          ['name', name],
          ...(citizen.phone ? [['phone', `+${citizen.phone}`] as [string, string]] : []),
          ...(citizen.email ? [['e-mail', citizen.email] as [string, string]] : []),
          ['trust level', citizen.trust_level],
        ]),
      ].join('\n'),
    };
  },
};

const FIELD_OPTIONS: Record<string, string> = {
  lastName: '--last-name',
  firstName: '--first-name',
  middleName: '--middle-name',
  phone: '--phone',
  email: '--email',
  password: '--password',
  contact: '--phone or --email',
};

const PROBLEMS: Record<string, string> = {
  'name.invalid': 'use Cyrillic letters, with single spaces, hyphens or apostrophes between parts (at most 100 characters)',
  'phone.invalid': 'not a Russian mobile number (for example +7 999 123-45-67)',
  'email.invalid': 'not an e-mail address',
  'contact.required': 'give at least one',
  'password.too_short': 'must be at least 8 characters',
};

/** AppError details (field → problem code) as one line an operator can act on. */
export function describeCitizenError(error: AppError): string {
  const details = Object.entries(error.details ?? {});
  if (details.length === 0) return error.message;
  const problems = details.map(([field, code]) => `${FIELD_OPTIONS[field] ?? field}: ${PROBLEMS[String(code)] ?? String(code)}`);
  return `invalid citizen data: ${problems.join('; ')}`;
}
