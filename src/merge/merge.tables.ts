import type { ColumnType, Generated, Selectable } from 'kysely';

/** How the citizen proved they control the other account: its password, or a code sent to its phone or e-mail. */
export type ProofMethod = 'password' | 'phone' | 'email';

export type MergeFlowState = 'awaiting_proof' | 'proved' | 'completed';

/** One attempt to link a candidate account: the proof of control lives here, server-side, until it expires. */
export interface MergeFlowsTable {
  id: Generated<string>;
  citizen_oid: string;
  candidate_oid: string;
  state: ColumnType<MergeFlowState, MergeFlowState | undefined, MergeFlowState>;
  proof_method: ProofMethod | null;
  proved_at: Date | null;
  created_at: Date;
  expires_at: Date;
}

export type MergeFlow = Selectable<MergeFlowsTable>;

/** A link between two accounts: active while `unlinked_at` is null; `survivor_oid` is always the group's primary. */
export interface AccountMergesTable {
  id: Generated<string>;
  survivor_oid: string;
  alias_oid: string;
  proof_method: ProofMethod;
  merged_at: Date;
  /** «Отвязать» is possible until then (MERGE_UNDO_DAYS after the link was made). */
  undo_until: Date;
  unlinked_at: Date | null;
}

export type AccountMerge = Selectable<AccountMergesTable>;

/**
 * - `grant`, `login_attempt`: consents and login history (`row_id` = the grant's id / the row's id);
 * - `org_membership`: one account's own membership of an organisation whose row another account of
 *   the group holds (`row_id` = `<organisation OID>:<account OID>`, snapshot = that account's roles);
 * - `child`: a parent's record of a child (`children.parent_oid`); `child_link`: the 14+ link naming
 *   the account as the child (`children.child_oid`);
 * - `child_copy`: a record of a child the group's primary already holds (same certificate), taken
 *   off the tables whole into `snapshot` until its account leaves the group;
 * - `power_principal`, `power_representative`, `power_creator`: a power of attorney's
 *   `principal_citizen_oid`, `representative_oid`, `created_by_oid`.
 */
export type MovedRowKind =
  | 'grant' | 'login_attempt' | 'org_membership' | 'child' | 'child_copy' | 'child_link'
  | 'power_principal' | 'power_representative' | 'power_creator';

/** A row now on another account of the group than the one it was made for (`origin_oid`). */
export interface MergeMovedRowsTable {
  kind: MovedRowKind;
  row_id: string;
  origin_oid: string;
  snapshot: Record<string, unknown> | null;
}
