import type { ColumnType } from 'kysely';

/** Where and on what a single sign-on session was opened, and when it was last used (by Session uid). */
export interface SessionDevicesTable {
  session_uid: string;
  citizen_oid: string;
  user_agent: string | null;
  ip: string | null;
  signed_in_at: Date;
  last_seen_at: Date;
}

export type NotificationKind = 'logins' | 'security' | 'linked_services';

/** The channels a citizen chose for one kind of notice; no row means the defaults (notification-settings.ts). */
export interface NotificationPreferencesTable {
  citizen_oid: string;
  kind: NotificationKind;
  email: boolean;
  sms: boolean;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}
