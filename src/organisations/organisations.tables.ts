import type { ColumnType, Generated } from 'kysely';

export type OrganisationKind = 'legal' | 'sole_proprietor';
export const ORG_ROLES = ['chief', 'admin', 'employee'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
/** Roles an invitation may carry: the head comes from the state register only. */
export type InvitedRole = Exclude<OrgRole, 'chief'>;

export interface OrganisationsTable {
  /** ESIA-like numeric OID from organisation_oid_seq; bigint comes back from pg as a string. */
  oid: ColumnType<string, string | undefined, never>;
  kind: OrganisationKind;
  full_name: string;
  short_name: string | null;
  inn: string;
  ogrn: string;
  kpp: string | null;
  created_at: Date;
}

/** One row per active member; deleting it ends the member's organisation-scoped access. */
export interface OrganisationMembersTable {
  organisation_oid: string;
  citizen_oid: string;
  roles: OrgRole[];
  joined_at: Date;
}

export const INVITATION_STATES = ['pending', 'accepted', 'declined', 'cancelled', 'expired'] as const;
export type InvitationState = (typeof INVITATION_STATES)[number];

export interface OrganisationInvitationsTable {
  id: Generated<string>;
  organisation_oid: string;
  invitee_snils: string | null;
  invitee_email: string | null;
  roles: InvitedRole[];
  state: InvitationState;
  invited_by_oid: string | null;
  decided_by_oid: string | null;
  created_at: Date;
  expires_at: Date;
  decided_at: Date | null;
}
