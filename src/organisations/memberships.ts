import type { DbOrTrx } from '../db/database.ts';
import type { OrganisationKind, OrgRole } from './organisations.tables.ts';

export type { OrgRole } from './organisations.tables.ts';

/** What other areas (login role choice, tokens, REST) need to know about an organisation. */
export interface OrganisationSummary {
  oid: string;
  kind: OrganisationKind;
  fullName: string;
  shortName: string | null;
  inn: string;
  ogrn: string;
  kpp: string | null;
}

/** A citizen's active membership: the row exists only while they belong to the organisation. */
export interface Membership {
  organisation: OrganisationSummary;
  roles: OrgRole[];
}

const ORGANISATION_COLUMNS = [
  'organisations.oid',
  'organisations.kind',
  'organisations.full_name',
  'organisations.short_name',
  'organisations.inn',
  'organisations.ogrn',
  'organisations.kpp',
] as const;

interface OrganisationRow {
  oid: string;
  kind: OrganisationKind;
  full_name: string;
  short_name: string | null;
  inn: string;
  ogrn: string;
  kpp: string | null;
}

function toSummary(row: OrganisationRow): OrganisationSummary {
  return {
    oid: String(row.oid),
    kind: row.kind,
    fullName: row.full_name,
    shortName: row.short_name,
    inn: row.inn,
    ogrn: row.ogrn,
    kpp: row.kpp,
  };
}

function membershipQuery(db: DbOrTrx) {
  return db
    .selectFrom('organisation_members')
    .innerJoin('organisations', 'organisations.oid', 'organisation_members.organisation_oid')
    .select([...ORGANISATION_COLUMNS, 'organisation_members.roles']);
}

/** Every organisation the citizen belongs to now, ordered by full name. */
export async function listMemberships(db: DbOrTrx, citizenOid: string): Promise<Membership[]> {
  const rows = await membershipQuery(db)
    .where('organisation_members.citizen_oid', '=', citizenOid)
    .orderBy('organisations.full_name')
    .orderBy('organisations.oid')
    .execute();
  return rows.map((row) => ({ organisation: toSummary(row), roles: row.roles }));
}

/** The citizen's membership of one organisation, or undefined once they were removed (or never joined). */
export async function findMembership(db: DbOrTrx, citizenOid: string, organisationOid: string): Promise<Membership | undefined> {
  if (!isOid(organisationOid) || !isOid(citizenOid)) return undefined;
  const row = await membershipQuery(db)
    .where('organisation_members.citizen_oid', '=', citizenOid)
    .where('organisation_members.organisation_oid', '=', organisationOid)
    .executeTakeFirst();
  return row ? { organisation: toSummary(row), roles: row.roles } : undefined;
}

export async function findOrganisation(db: DbOrTrx, organisationOid: string): Promise<OrganisationSummary | undefined> {
  if (!isOid(organisationOid)) return undefined;
  const row = await db.selectFrom('organisations').select(ORGANISATION_COLUMNS).where('oid', '=', organisationOid).executeTakeFirst();
  return row ? toSummary(row) : undefined;
}

/** OIDs arrive from URLs and tokens: anything but a bigint-sized number is simply not found (never a 500). */
export function isOid(value: string): boolean {
  return /^[1-9][0-9]{0,17}$/.test(value);
}
