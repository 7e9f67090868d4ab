import type { ColumnType, Generated, Selectable } from 'kysely';
import type { DateColumn } from '../citizens/citizen.table.ts';

export const CHILD_CHECK_STATUSES = ['pending', 'verified', 'not_found', 'failed'] as const;
/** The registry check of a child record: pending → verified | not_found | failed (the registry never answered). */
export type ChildCheckStatus = (typeof CHILD_CHECK_STATUSES)[number];

/** Why a check did not verify; message keys `family.reason.<code>`. */
export type ChildCheckReason = 'certificate_not_found' | 'data_mismatch' | 'registry_unavailable';

/** The link to the child's own account (14+): pending_child_consent → linked | declined; linked → unlinked. */
export type ChildLinkState = 'pending_child_consent' | 'linked' | 'declined' | 'unlinked';

/** Fields of a child record the registry compares; `family.field.<name>` names them on the page. */
export type ChildField = 'last_name' | 'first_name' | 'middle_name' | 'birth_date' | 'gender' | 'snils' | 'cert_issue_date';

export interface ChildrenTable {
  /** The `kidId` of the REST API; bigint, so a string in TypeScript. */
  id: Generated<string>;
  parent_oid: string;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  birth_date: DateColumn;
  gender: 'M' | 'F';
  /** 11 digits, optional. */
  snils: string | null;
  cert_series: string;
  cert_number: string;
  cert_issue_date: DateColumn;
  cert_issued_by: string;
  check_status: ColumnType<ChildCheckStatus, ChildCheckStatus | undefined, ChildCheckStatus>;
  check_revision: ColumnType<number, number | undefined, number>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  leased_until: Date | null;
  reason_code: ChildCheckReason | null;
  mismatched_fields: ChildField[] | null;
  last_error: string | null;
  checked_at: Date | null;
  child_oid: string | null;
  link_state: ChildLinkState | null;
  link_changed_at: Date | null;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type Child = Selectable<ChildrenTable>;

/** A parent as the birth record names them. */
export interface RegistryParent {
  lastName: string;
  firstName: string;
  middleName: string | null;
  birthDate: string;
}

export interface MockCivilRegistryRecordsTable {
  id: Generated<string>;
  cert_series: string;
  cert_number: string;
  cert_issue_date: DateColumn;
  cert_issued_by: string;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  birth_date: DateColumn;
  gender: 'M' | 'F';
  snils: string | null;
  /** Written as JSON text (pg would send a JS array as a PostgreSQL array), read back as objects. */
  parents: ColumnType<RegistryParent[], string, string>;
}
