import type { ChildField, RegistryParent } from './family.tables.ts';

/**
 * The civil registry (ЗАГС, ЕГР ЗАГС) a child record is checked against. Production would ask it
 * through СМЭВ; development and tests use the mock in mock-civil-registry.ts.
 *
 * A verdict is the registry's answer about the data. A registry that cannot answer (timeout,
 * outage) throws RegistryUnavailableError (src/verification/state-registries.ts) instead: the check
 * is retried later, never refused for it at once.
 */
export interface CivilRegistry {
  checkBirthRecord(query: BirthRecordQuery): Promise<BirthRecordVerdict>;
}

/** What the parent entered, and who the parent is (a birth record names its parents). */
export interface BirthRecordQuery {
  certificate: { series: string; number: string; issueDate: string };
  child: { lastName: string; firstName: string; middleName: string | null; birthDate: string; gender: 'M' | 'F'; snils: string | null };
  applicant: RegistryParent;
}

/**
 * `certificate_not_found`: no such certificate, or its record does not name the applicant as a
 * parent — one answer for both, so a stranger holding someone else's certificate number learns
 * nothing. `data_mismatch` lists what differs from the record; it is given only to a named parent,
 * who holds the certificate and can compare.
 */
export type BirthRecordVerdict =
  | { ok: true }
  | { ok: false; reason: 'certificate_not_found' }
  | { ok: false; reason: 'data_mismatch'; fields: ChildField[] };
