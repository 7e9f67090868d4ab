import type { DbOrTrx } from '../db/database.ts';

/**
 * What deleting an account does to `children` (registered in src/sessions/account-deletion.service.ts
 * ERASED_BY_AREA; runs inside the deletion's transaction):
 * - as a parent: the citizen's records of their children are their data — erased;
 * - as a child with an own account: the parent's record stays (it is the parent's, from the birth
 *   certificate), only the link to the deleted account goes — the record reads as "no account found",
 *   and the parent may link again should the child open a new account.
 */
export async function eraseFamilyOf(trx: DbOrTrx, oid: string): Promise<void> {
  await trx.deleteFrom('children').where('parent_oid', '=', oid).execute();
  await trx.updateTable('children').set({ child_oid: null, link_state: null, link_changed_at: null }).where('child_oid', '=', oid).execute();
}
