import type { Generated } from 'kysely';

export interface StaffRolesTable {
  citizen_oid: string;
  role: 'operator';
  service_centre: string;
  created_at: Generated<Date>;
}
