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

export type MovedRowKind = 'grant' | 'login_attempt';

/** A row now on another account of the group than the one it was made for (`origin_oid`). */
export interface MergeMovedRowsTable {
  kind: MovedRowKind;
  row_id: string;
  origin_oid: string;
}
