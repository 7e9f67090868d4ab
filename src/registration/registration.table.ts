import type { ColumnType, Generated } from 'kysely';

export type ContactKind = 'phone' | 'email';

export interface RegistrationFlowsTable {
  id: Generated<string>;
  state: ColumnType<'awaiting_code' | 'completed' | 'failed', 'awaiting_code' | undefined, 'completed' | 'failed'>;
  last_name: string;
  first_name: string;
  middle_name: string | null;
  contact_kind: ContactKind;
  contact_value: string;
  password_hash: string;
  /** The OIDC interaction to return to after registering, when it started from a login page. */
  interaction_uid: string | null;
  citizen_oid: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
}
