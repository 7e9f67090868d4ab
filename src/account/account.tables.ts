import type { ColumnType, Generated } from 'kysely';
import type { ContactKind } from '../registration/registration.table.ts';

export interface ContactChangeFlowsTable {
  id: Generated<string>;
  citizen_oid: string;
  state: ColumnType<'awaiting_code' | 'completed' | 'failed', 'awaiting_code' | undefined, 'completed' | 'failed'>;
  contact_kind: ContactKind;
  new_value: string;
  created_at: Generated<Date>;
  expires_at: Date;
}
