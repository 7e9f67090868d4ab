import type { DbOrTrx } from '../db/database.ts';
import type { OrgRole } from '../organisations/memberships.ts';
import { sortRoles } from '../organisations/members.service.ts';

/**
 * Organisation memberships (src/organisations) between the accounts of one group. The group's
 * primary holds one row per organisation; when two accounts of the group were members of the same
 * organisation, that row has the union of their roles (at most one was the chief: one per
 * organisation). `merge_moved_rows` (kind `org_membership`, row id `<organisation>:<account>`) keeps
 * each contributing account's own roles and joining date, so «Отвязать» can split the row again.
 *
 * Invariant: the entries of a group's accounts for an organisation describe the primary's row there
 * completely; with none, the row is wholly the primary's own.
 */
const KIND = 'org_membership';

interface Contribution {
  origin: string;
  roles: OrgRole[];
  joinedAt: Date;
}

const entryId = (organisationOid: string, oid: string) => `${organisationOid}:${oid}`;

/** Moves `from`'s memberships to `to`, merging them into `to`'s row where both belong. Returns how many. */
export async function transferMemberships(trx: DbOrTrx, from: string, to: string): Promise<number> {
  // Each account with the accounts linked into it: whose entries describe its rows.
  const fromGroup = await groupOf(trx, from);
  const toGroup = await groupOf(trx, to);
  const rows = await trx.selectFrom('organisation_members').selectAll().where('citizen_oid', '=', from).orderBy('organisation_oid').forUpdate().execute();
  for (const row of rows) {
    const org = row.organisation_oid;
    if ((await contributions(trx, org, fromGroup)).length === 0) await record(trx, org, { origin: from, roles: row.roles, joinedAt: row.joined_at });
    const theirs = await trx.selectFrom('organisation_members').selectAll().where('organisation_oid', '=', org).where('citizen_oid', '=', to).forUpdate().executeTakeFirst();
    if (!theirs) {
      await trx.updateTable('organisation_members').set({ citizen_oid: to }).where('organisation_oid', '=', org).where('citizen_oid', '=', from).execute();
    } else {
      if ((await contributions(trx, org, toGroup)).length === 0) await record(trx, org, { origin: to, roles: theirs.roles, joinedAt: theirs.joined_at });
      // The other row goes first: a chief's role may be what moves (one chief per organisation).
      await trx.deleteFrom('organisation_members').where('organisation_oid', '=', org).where('citizen_oid', '=', from).execute();
      await trx
        .updateTable('organisation_members')
        .set({ roles: sortRoles([...theirs.roles, ...row.roles]), joined_at: row.joined_at < theirs.joined_at ? row.joined_at : theirs.joined_at })
        .where('organisation_oid', '=', org)
        .where('citizen_oid', '=', to)
        .execute();
    }
    // A row wholly `to`'s own again («Сделать основным» back to where it came from) needs no entry.
    const now = await contributions(trx, org, [...new Set([...fromGroup, ...toGroup])]);
    if (now.length === 1 && now[0].origin === to) await trx.deleteFrom('merge_moved_rows').where('kind', '=', KIND).where('row_id', '=', entryId(org, to)).execute();
  }
  return rows.length;
}

/**
 * Gives `origin` back its memberships held by `holder` (the group's primary). A row that was wholly
 * `origin`'s goes back as it is now. A shared row is split: `origin` gets its own row with its own
 * roles, the holder keeps the roles the others brought. Neither gets a role the shared row lost
 * while they were linked (an admin demoted meanwhile stays demoted); an organisation the group left
 * meanwhile is not rejoined. Returns how many rows `origin` got.
 */
export async function returnMemberships(trx: DbOrTrx, origin: string, holder: string): Promise<number> {
  const group = await groupOf(trx, holder);
  const entries = await trx.selectFrom('merge_moved_rows').select(['row_id', 'snapshot']).where('kind', '=', KIND).where('origin_oid', '=', origin).orderBy('row_id').execute();
  let returned = 0;
  for (const entry of entries) {
    const org = entry.row_id.slice(0, entry.row_id.indexOf(':'));
    const own = contributionOf(origin, entry.snapshot);
    const held = await trx.selectFrom('organisation_members').selectAll().where('organisation_oid', '=', org).where('citizen_oid', '=', holder).forUpdate().executeTakeFirst();
    if (!held) continue;
    returned++;
    const others = (await contributions(trx, org, group)).filter((c) => c.origin !== origin);
    if (others.length === 0) {
      await trx.updateTable('organisation_members').set({ citizen_oid: origin }).where('organisation_oid', '=', org).where('citizen_oid', '=', holder).execute();
      continue;
    }
    const kept = new Set(others.flatMap((c) => c.roles));
    const onlyOrigins = own.roles.filter((role) => !kept.has(role));
    const holderRoles = orEmployee(held.roles.filter((role) => !onlyOrigins.includes(role)));
    const originRoles = orEmployee(own.roles.filter((role) => held.roles.includes(role)));
    // The holder's row first: the chief's role may be the one going back (one chief per organisation).
    await trx.updateTable('organisation_members').set({ roles: holderRoles }).where('organisation_oid', '=', org).where('citizen_oid', '=', holder).execute();
    await trx.insertInto('organisation_members').values({ organisation_oid: org, citizen_oid: origin, roles: originRoles, joined_at: own.joinedAt }).execute();
    if (others.length === 1 && others[0].origin === holder) await trx.deleteFrom('merge_moved_rows').where('kind', '=', KIND).where('row_id', '=', entryId(org, holder)).execute();
  }
  return returned;
}

function orEmployee(roles: OrgRole[]): OrgRole[] {
  const sorted = sortRoles(roles);
  return sorted.length > 0 ? sorted : ['employee'];
}

/** The account and the accounts linked into it. */
async function groupOf(trx: DbOrTrx, oid: string): Promise<string[]> {
  const rows = await trx.selectFrom('citizens').select('oid').where((eb) => eb.or([eb('oid', '=', oid), eb('merged_into_oid', '=', oid)])).execute();
  return rows.map((r) => r.oid);
}

async function contributions(trx: DbOrTrx, organisationOid: string, oids: string[]): Promise<Contribution[]> {
  const rows = await trx
    .selectFrom('merge_moved_rows')
    .select(['origin_oid', 'snapshot'])
    .where('kind', '=', KIND)
    .where('row_id', 'in', oids.map((oid) => entryId(organisationOid, oid)))
    .execute();
  return rows.map((r) => contributionOf(r.origin_oid, r.snapshot));
}

function contributionOf(origin: string, snapshot: Record<string, unknown> | null): Contribution {
  return { origin, roles: (snapshot?.roles ?? []) as OrgRole[], joinedAt: new Date(String(snapshot?.joinedAt)) };
}

async function record(trx: DbOrTrx, organisationOid: string, contribution: Contribution): Promise<void> {
  await trx
    .insertInto('merge_moved_rows')
    .values({ kind: KIND, row_id: entryId(organisationOid, contribution.origin), origin_oid: contribution.origin, snapshot: { roles: contribution.roles, joinedAt: contribution.joinedAt.toISOString() } })
    .execute();
}
