import type { ColumnType, Generated, Selectable } from 'kysely';

export type AuditActor = { type: 'citizen' | 'operator'; oid: string } | { type: 'system' | 'cli'; name?: string };

export interface AuditEventsTable {
  id: Generated<string>;
  type: string;
  citizen_oid: string | null;
  actor: AuditActor;
  details: ColumnType<Record<string, unknown>, Record<string, unknown> | undefined, never>;
  request_id: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type AuditEvent = Selectable<AuditEventsTable>;
