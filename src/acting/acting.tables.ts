/** What a citizen acts as at one relying party in one session (see migrations/…_acting_roles.ts). */
export type ActingKind = 'person' | 'organisation' | 'representative';

export interface ActingChoicesTable {
  session_uid: string;
  client_id: string;
  citizen_oid: string;
  kind: ActingKind;
  organisation_oid: string | null;
  power_id: string | null;
  chosen_at: Date;
}
