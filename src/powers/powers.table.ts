import type { ColumnType, Generated, Selectable } from 'kysely';

export const POA_RIGHTS = ['view', 'apply', 'manage_poa'] as const;
export type PoaRight = (typeof POA_RIGHTS)[number];

export const POA_STATES = ['draft', 'active', 'expired', 'revoked'] as const;
export type PoaState = (typeof POA_STATES)[number];

export type PrincipalKind = 'citizen' | 'organisation';

export interface PowersOfAttorneyTable {
  /** bigint identity; comes back from pg as a string. */
  id: Generated<string>;
  principal_kind: PrincipalKind;
  principal_citizen_oid: string | null;
  principal_organisation_oid: string | null;
  representative_oid: string;
  rights: PoaRight[];
  /** null = every relying party. */
  client_ids: string[] | null;
  valid_from: Date;
  valid_to: Date;
  state: ColumnType<PoaState, PoaState, PoaState>;
  /** The citizen who drafted it (the principal, or the organisation's head or admin). */
  created_by_oid: string;
  created_at: Date;
  activated_at: Date | null;
  ended_at: Date | null;
  revoke_reason: string | null;
}

export type PowerOfAttorneyRow = Selectable<PowersOfAttorneyTable>;
