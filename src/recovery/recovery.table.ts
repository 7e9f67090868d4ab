import type { ColumnType, Generated } from 'kysely';
import type { ContactKind } from '../registration/registration.table.ts';

export interface RecoveryFlowsTable {
  id: Generated<string>;
  state: ColumnType<'awaiting_code' | 'code_verified' | 'completed' | 'failed', 'awaiting_code' | undefined, 'code_verified' | 'completed' | 'failed'>;
  contact_kind: ContactKind;
  contact_value: string;
  citizen_oid: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
}
