import { addYears, calendarDate, parseDate, validateSnils, type IsoDate } from '../shared/validators.ts';
import { POA_RIGHTS, type PoaRight } from './powers.table.ts';

/**
 * The create form of a power of attorney: what the principal typed, and its checks that need no
 * database. Dates are calendar days in Moscow: a power runs from 00:00 МСК of its first day to 24:00
 * МСК of its last day (the last day is included, as people read "по 31.12.2026").
 */
export interface PowerForm {
  /** 'self', or the OID of an organisation the signed-in citizen heads or administers. */
  principal: string;
  representativeSnils: string;
  rights: string[];
  clientIds: string[];
  validFrom: string;
  validTo: string;
}

/** A message key (`powers.error.<field>.<reason>`) and what it names, per form field. */
export interface Problem {
  key: string;
  params?: Record<string, string>;
}
export type PowerFormField = 'principal' | 'representative_snils' | 'rights' | 'clients' | 'valid_from' | 'valid_to' | 'form';
export type PowerFormProblems = Partial<Record<PowerFormField, Problem>>;

export interface PowerTerms {
  snils: string;
  rights: PoaRight[];
  /** null = every relying party. */
  clientIds: string[] | null;
  validFrom: Date;
  validTo: Date;
}

/** The longest power we issue; a longer one is more likely a typo than an intention. */
export const MAX_POWER_YEARS = 3;
/** The longest reason a principal may give for revoking. */
export const REVOKE_REASON_MAX = 500;

/** Reads the posted form: rights are checkboxes `right-<name>=on`, relying parties repeat `clients`. */
export function readPowerForm(body: Record<string, unknown>): PowerForm {
  const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
  const clients = body.clients;
  return {
    principal: text('principal') || 'self',
    representativeSnils: text('representative_snils'),
    rights: POA_RIGHTS.filter((right) => body[`right-${right}`] === 'on'),
    clientIds: (Array.isArray(clients) ? clients : typeof clients === 'string' ? [clients] : []).filter((c): c is string => typeof c === 'string' && c !== ''),
    validFrom: text('valid_from'),
    validTo: text('valid_to'),
  };
}

/** The form's own checks; `knownClientIds` are the registered relying parties. */
export function checkPowerForm(form: PowerForm, now: Date, knownClientIds: ReadonlySet<string>): { ok: true; terms: PowerTerms } | { ok: false; problems: PowerFormProblems } {
  const problems: PowerFormProblems = {};
  const snils = validateSnils(form.representativeSnils);
  if (!snils.ok) problems.representative_snils = { key: `powers.error.representative_snils.${snils.reason}` };

  const rights = POA_RIGHTS.filter((right) => form.rights.includes(right));
  if (rights.length === 0) problems.rights = { key: 'powers.error.rights.required' };

  const clientIds = [...new Set(form.clientIds)];
  if (clientIds.some((id) => !knownClientIds.has(id))) problems.clients = { key: 'powers.error.clients.unknown' };

  const today = calendarDate(now);
  const from = parseDate(form.validFrom);
  const to = parseDate(form.validTo);
  if (!from.ok) problems.valid_from = { key: `powers.error.valid_from.${from.reason}` };
  // A day of grace: a form opened before midnight and sent after it keeps its "today".
  else if (from.value < addDays(today, -1)) problems.valid_from = { key: 'powers.error.valid_from.past' };
  if (!to.ok) problems.valid_to = { key: `powers.error.valid_to.${to.reason}` };
  else if (to.value < today) problems.valid_to = { key: 'powers.error.valid_to.past' };
  else if (from.ok && to.value < from.value) problems.valid_to = { key: 'powers.error.valid_to.before_from' };
  else if (from.ok && to.value >= addYears(from.value, MAX_POWER_YEARS)) problems.valid_to = { key: 'powers.error.valid_to.too_long', params: { years: String(MAX_POWER_YEARS) } };

  if (Object.keys(problems).length > 0 || !snils.ok || !from.ok || !to.ok) return { ok: false, problems };
  return {
    ok: true,
    terms: { snils: snils.value, rights, clientIds: clientIds.length > 0 ? clientIds : null, validFrom: moscowDayStart(from.value), validTo: moscowDayStart(addDays(to.value, 1)) },
  };
}

/** 00:00 МСК of a calendar day (Moscow keeps UTC+3 all year). */
export function moscowDayStart(date: IsoDate): Date {
  return new Date(`${date}T00:00:00+03:00`);
}

/** The last calendar day (МСК) a power runs on: its end is the midnight after it. */
export function lastDayOf(validTo: Date): IsoDate {
  return calendarDate(new Date(validTo.getTime() - 1));
}

export function addDays(date: IsoDate, days: number): IsoDate {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}
