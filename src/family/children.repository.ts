import type { DbOrTrx } from '../db/database.ts';
import type { IsoDate } from '../shared/validators.ts';
import { isAdultOn } from './child-form.ts';
import type { Child } from './family.tables.ts';

/** Reads of child records; the state changes are use cases in children.service.ts. */

/** A record id as we write it (no leading zeros), so one record has one URL. */
const NUMERIC_ID = /^[1-9]\d{0,17}$/;

/** A parent's children, oldest first (as ESIA lists them), then by when they were added. */
export async function listChildrenOf(db: DbOrTrx, parentOid: string): Promise<Child[]> {
  return db.selectFrom('children').selectAll().where('parent_oid', '=', parentOid).orderBy('birth_date').orderBy('id').execute();
}

/** One of the parent's children; undefined for another parent's record or a malformed id. */
export async function findChildOf(db: DbOrTrx, parentOid: string, childId: string): Promise<Child | undefined> {
  if (!NUMERIC_ID.test(childId)) return undefined;
  return db.selectFrom('children').selectAll().where('id', '=', childId).where('parent_oid', '=', parentOid).executeTakeFirst();
}

/**
 * What relying parties may see: children the civil registry confirmed who are still under 18 on
 * `today` (the injected clock's date in Moscow) — an adult is no longer anyone's child to report.
 */
export async function listVerifiedChildrenOf(db: DbOrTrx, parentOid: string, today: IsoDate): Promise<Child[]> {
  const rows = await db.selectFrom('children').selectAll().where('parent_oid', '=', parentOid).where('check_status', '=', 'verified').orderBy('birth_date').orderBy('id').execute();
  return rows.filter((child) => !isAdultOn(child.birth_date, today));
}

export async function findVerifiedChildOf(db: DbOrTrx, parentOid: string, childId: string, today: IsoDate): Promise<Child | undefined> {
  const child = await findChildOf(db, parentOid, childId);
  return child?.check_status === 'verified' && !isAdultOn(child.birth_date, today) ? child : undefined;
}

export interface ParentLink {
  childId: string;
  state: 'pending_child_consent' | 'linked';
  parent: { lastName: string; firstName: string; middleName: string | null };
  changedAt: Date | null;
}

/** Seen from the child's own account: parents asking to link, and parents linked. */
export async function listParentLinks(db: DbOrTrx, childOid: string): Promise<ParentLink[]> {
  const rows = await db
    .selectFrom('children')
    .innerJoin('citizens', 'citizens.oid', 'children.parent_oid')
    .select(['children.id', 'children.link_state', 'children.link_changed_at', 'citizens.last_name', 'citizens.first_name', 'citizens.middle_name'])
    .where('children.child_oid', '=', childOid)
    .where('children.link_state', 'in', ['pending_child_consent', 'linked'])
    .orderBy('children.id')
    .execute();
  return rows.map((row) => ({
    childId: row.id,
    state: row.link_state as ParentLink['state'],
    parent: { lastName: row.last_name, firstName: row.first_name, middleName: row.middle_name },
    changedAt: row.link_changed_at,
  }));
}
