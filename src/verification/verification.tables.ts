import type { ColumnType, Generated, Selectable } from 'kysely';
import type { DateColumn } from '../citizens/citizen.table.ts';

export type RegistryCheckStatus = 'pending' | 'verified' | 'rejected' | 'superseded';

/** What was submitted for the check; the check verifies exactly this. */
export interface RegistryCheckSnapshot {
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: string;
  snils: string;
  passport: { series: string; number: string; issueDate: string };
}

export interface RegistryChecksTable {
  id: Generated<string>;
  citizen_oid: string;
  status: ColumnType<RegistryCheckStatus, RegistryCheckStatus | undefined, RegistryCheckStatus>;
  snapshot: RegistryCheckSnapshot;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  leased_until: Date | null;
  reason_code: string | null;
  last_error: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  finished_at: Date | null;
}

export type RegistryCheck = Selectable<RegistryChecksTable>;

export interface MockRegistryPersonsTable {
  id: Generated<string>;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  birth_date: DateColumn;
  snils: string | null;
  passport_series: string | null;
  passport_number: string | null;
  passport_valid: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface ConfirmationLettersTable {
  id: Generated<string>;
  citizen_oid: string;
  state: ColumnType<'sent' | 'confirmed' | 'locked' | 'expired', 'sent' | undefined, 'confirmed' | 'locked' | 'expired'>;
  address_str: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  expires_at: Date;
}

export type ConfirmationLetter = Selectable<ConfirmationLettersTable>;
