import { sql } from 'kysely';
import type { Db, DbOrTrx } from '../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { OrgRole } from './organisations.tables.ts';

/**
 * Who belongs to an organisation and what they may do there. Roles: `chief` — the head named by the
 * state register, exactly one, never invited, never removed; `admin` — manages employees; `employee`.
 * The chief has every power of an admin and some of their own (appointing admins).
 *
 * Rules: the chief or an admin removes members; nobody removes the chief; an admin removes
 * employees but not another admin (only the chief does); anyone but the chief may leave. A removed
 * member's row is deleted, so their organisation-scoped access ends at once (src/acting re-checks it).
 */

export interface Member {
  citizenOid: string;
  lastName: string;
  firstName: string;
  middleName: string | null;
  roles: OrgRole[];
  joinedAt: Date;
}

/** The order roles are shown and stored in. */
const ROLE_ORDER: readonly OrgRole[] = ['chief', 'admin', 'employee'];

export function sortRoles(roles: readonly OrgRole[]): OrgRole[] {
  return ROLE_ORDER.filter((role) => roles.includes(role));
}

export function managesMembers(roles: readonly OrgRole[]): boolean {
  return roles.includes('chief') || roles.includes('admin');
}

/** The chief first, then admins, then everyone else by name. */
export async function listMembers(db: DbOrTrx, organisationOid: string): Promise<Member[]> {
  const rows = await db
    .selectFrom('organisation_members')
    .innerJoin('citizens', 'citizens.oid', 'organisation_members.citizen_oid')
    .select(['organisation_members.citizen_oid', 'organisation_members.roles', 'organisation_members.joined_at', 'citizens.last_name', 'citizens.first_name', 'citizens.middle_name'])
    .where('organisation_members.organisation_oid', '=', organisationOid)
    .orderBy(sql`'chief' = ANY (organisation_members.roles)`, 'desc')
    .orderBy(sql`'admin' = ANY (organisation_members.roles)`, 'desc')
    .orderBy('citizens.last_name')
    .orderBy('citizens.first_name')
    .orderBy('organisation_members.citizen_oid')
    .execute();
  return rows.map((row) => ({
    citizenOid: String(row.citizen_oid),
    lastName: row.last_name,
    firstName: row.first_name,
    middleName: row.middle_name,
    roles: sortRoles(row.roles),
    joinedAt: row.joined_at,
  }));
}

export type RemoveMemberOutcome =
  | { result: 'removed'; left: boolean }
  | { result: 'not_found' }
  | { result: 'forbidden' }
  | { result: 'refused'; reason: 'chief' | 'admin_by_admin' };

/**
 * Removes `memberOid` from the organisation (or lets a member leave when actor = member). Both rows
 * are locked first, in OID order, so two admins removing each other at once cannot both succeed.
 */
export async function removeMember(
  db: Db,
  input: { actorOid: string; organisationOid: string; memberOid: string; requestId?: string | null },
): Promise<RemoveMemberOutcome> {
  const { actorOid, organisationOid, memberOid } = input;
  return db.transaction().execute(async (trx) => {
    const rows = await lockMembers(trx, organisationOid, [actorOid, memberOid]);
    const actor = rows.get(actorOid);
    const member = rows.get(memberOid);
    if (!actor) return { result: 'forbidden' } as const;
    if (!member) return { result: 'not_found' } as const;
    const leaving = actorOid === memberOid;
    if (member.includes('chief')) return { result: 'refused', reason: 'chief' } as const;
    if (!leaving) {
      if (!managesMembers(actor)) return { result: 'forbidden' } as const;
      if (!actor.includes('chief') && member.includes('admin')) return { result: 'refused', reason: 'admin_by_admin' } as const;
    }
    await trx.deleteFrom('organisation_members').where('organisation_oid', '=', organisationOid).where('citizen_oid', '=', memberOid).execute();
    await recordAudit(trx, {
      type: leaving ? 'organisation.member_left' : 'organisation.member_removed',
      citizenOid: memberOid,
      actor: { type: 'citizen', oid: actorOid },
      details: { organisationOid, roles: member },
      requestId: input.requestId,
    });
    return { result: 'removed', left: leaving } as const;
  });
}

export type ChangeAdminOutcome =
  | { result: 'changed' }
  | { result: 'forbidden' }
  | { result: 'refused'; reason: 'not_admin' | 'not_member' | 'already_admin' | 'same_person' };

/**
 * «Сменить администратора» (the chief only): the admin role moves from `fromOid` to `toOid`, who
 * must be a member without it. Without `fromOid` (the organisation has no admin yet) `toOid` is
 * appointed. Both keep the `employee` role.
 */
export async function changeAdmin(
  db: Db,
  input: { actorOid: string; organisationOid: string; fromOid: string | null; toOid: string; requestId?: string | null },
): Promise<ChangeAdminOutcome> {
  const { actorOid, organisationOid, fromOid, toOid } = input;
  if (fromOid === toOid) return { result: 'refused', reason: 'same_person' };
  return db.transaction().execute(async (trx) => {
    const rows = await lockMembers(trx, organisationOid, [actorOid, toOid, ...(fromOid ? [fromOid] : [])]);
    if (!rows.get(actorOid)?.includes('chief')) return { result: 'forbidden' } as const;
    const to = rows.get(toOid);
    if (!to) return { result: 'refused', reason: 'not_member' } as const;
    if (to.includes('admin') || to.includes('chief')) return { result: 'refused', reason: 'already_admin' } as const;
    if (fromOid) {
      const from = rows.get(fromOid);
      if (!from?.includes('admin')) return { result: 'refused', reason: 'not_admin' } as const;
      await setRoles(trx, organisationOid, fromOid, sortRoles([...from.filter((role) => role !== 'admin'), 'employee']));
    }
    await setRoles(trx, organisationOid, toOid, sortRoles([...to, 'admin', 'employee']));
    await recordAudit(trx, {
      type: 'organisation.admin_changed',
      citizenOid: toOid,
      actor: { type: 'citizen', oid: actorOid },
      details: { organisationOid, from: fromOid, to: toOid },
      requestId: input.requestId,
    });
    return { result: 'changed' } as const;
  });
}

/** Locks the named members' rows (in OID order, the same for every caller) and returns their roles. */
async function lockMembers(trx: DbOrTrx, organisationOid: string, citizenOids: string[]): Promise<Map<string, OrgRole[]>> {
  const rows = await trx
    .selectFrom('organisation_members')
    .select(['citizen_oid', 'roles'])
    .where('organisation_oid', '=', organisationOid)
    .where('citizen_oid', 'in', [...new Set(citizenOids)])
    .orderBy('citizen_oid')
    .forUpdate()
    .execute();
  return new Map(rows.map((row) => [String(row.citizen_oid), row.roles]));
}

async function setRoles(trx: DbOrTrx, organisationOid: string, citizenOid: string, roles: OrgRole[]): Promise<void> {
  await trx.updateTable('organisation_members').set({ roles }).where('organisation_oid', '=', organisationOid).where('citizen_oid', '=', citizenOid).execute();
}
