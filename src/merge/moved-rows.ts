import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTrx } from '../db/database.ts';
import { returnChildren, transferChildren } from './moved-children.ts';
import { returnMemberships, transferMemberships } from './moved-memberships.ts';
import { moveColumn, POWER_COLUMNS, returnColumn } from './tracked-columns.ts';

/**
 * Moving what belongs to a person between the accounts of one group, and back: consents (grants),
 * login history, organisation memberships (moved-memberships.ts), children's records and the 14+
 * link (moved-children.ts), powers of attorney on either side (tracked-columns.ts). Each moved row
 * remembers the account it was made for (`merge_moved_rows`), so «Отвязать» returns exactly that
 * account's rows, however often the primary changed in between.
 *
 * A grant is not moved in place: it is re-issued under a new id for the new account and the old one
 * is deleted with every token and code issued from it. A token names its account (`sub`) and its
 * grant; a JWT access token is checked only against its grant's existence, so keeping the grant id
 * would keep tokens that name the old account alive.
 */

export interface TransferResult {
  /** Relying parties whose consents moved: their tokens for the old account ended. */
  clientIds: string[];
  grants: number;
  memberships: number;
  children: number;
  childLinks: number;
  powers: number;
}

/**
 * Moves every grant, login-history row, membership, child's record and link, and power of attorney
 * of `from` to `to` (within the caller's transaction). Call it while `from`'s own linked accounts
 * still point at `from`: a membership's record of whose roles it holds is read per group.
 */
export async function transferRows(trx: DbOrTrx, from: string, to: string): Promise<TransferResult> {
  const grants = await trx
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'expires_at'])
    .where('model', '=', 'Grant')
    .where(sql<string>`payload->>'accountId'`, '=', from)
    .execute();
  for (const grant of grants) await reissueGrant(trx, grant, to, (origin) => origin ?? from);

  // Login history: rows not tracked yet were made for `from`; rows made for `to` are home again.
  await sql`
    INSERT INTO merge_moved_rows (kind, row_id, origin_oid)
    SELECT 'login_attempt', id::text, ${from}::bigint FROM login_attempts WHERE citizen_oid = ${from}
    ON CONFLICT (kind, row_id) DO NOTHING`.execute(trx);
  await sql`
    DELETE FROM merge_moved_rows m USING login_attempts a
     WHERE m.kind = 'login_attempt' AND m.row_id = a.id::text AND a.citizen_oid = ${from} AND m.origin_oid = ${to}`.execute(trx);
  await trx.updateTable('login_attempts').set({ citizen_oid: to }).where('citizen_oid', '=', from).execute();

  const memberships = await transferMemberships(trx, from, to);
  const children = await transferChildren(trx, from, to);
  const powers = new Set<string>();
  for (const column of POWER_COLUMNS) for (const id of await moveColumn(trx, column, from, to)) powers.add(id);

  return { clientIds: clientIdsOf(grants), grants: grants.length, memberships, children: children.records, childLinks: children.links, powers: powers.size };
}

/** Sends the rows made for `origin` back to it from `holder` (the group's primary). */
export async function returnRows(trx: DbOrTrx, origin: string, holder: string): Promise<TransferResult> {
  const tracked = (await trx.selectFrom('merge_moved_rows').select('row_id').where('kind', '=', 'grant').where('origin_oid', '=', origin).execute()).map((r) => r.row_id);
  const grants = tracked.length === 0 ? [] : await trx
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'expires_at'])
    .where('model', '=', 'Grant')
    .where('id', 'in', tracked)
    .where(sql<string>`payload->>'accountId'`, '=', holder)
    .execute();
  for (const grant of grants) await reissueGrant(trx, grant, origin, () => origin);

  await sql`
    UPDATE login_attempts a SET citizen_oid = ${origin}
      FROM merge_moved_rows m
     WHERE m.kind = 'login_attempt' AND m.row_id = a.id::text AND m.origin_oid = ${origin} AND a.citizen_oid = ${holder}`.execute(trx);
  const memberships = await returnMemberships(trx, origin, holder);
  const children = await returnChildren(trx, origin, holder);
  const powers = new Set<string>();
  for (const column of POWER_COLUMNS) for (const id of await returnColumn(trx, column, origin, holder)) powers.add(id);
  // Whatever is left under this origin (grants revoked, records removed meanwhile) has nothing to go back to.
  await trx.deleteFrom('merge_moved_rows').where('origin_oid', '=', origin).execute();

  return { clientIds: clientIdsOf(grants), grants: grants.length, memberships, children: children.records, childLinks: children.links, powers: powers.size };
}

type GrantRow = { id: string; payload: Record<string, unknown>; expires_at: Date | null };

/**
 * The grant again under a new id for `to`; the old one goes with its tokens, codes and activity row.
 * `originOf` says, from the old row's tracked origin (if any), whom the grant was made for.
 */
async function reissueGrant(trx: DbOrTrx, grant: GrantRow, to: string, originOf: (tracked: string | undefined) => string): Promise<void> {
  const id = newGrantId();
  await trx
    .insertInto('oidc_payloads')
    .values({ model: 'Grant', id, payload: { ...grant.payload, jti: id, accountId: to }, grant_id: null, user_code: null, uid: null, expires_at: grant.expires_at })
    .execute();
  await trx.deleteFrom('oidc_payloads').where('grant_id', '=', grant.id).execute();
  await trx.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', '=', grant.id).execute();
  await trx.updateTable('grant_activity').set({ grant_id: id, citizen_oid: to }).where('grant_id', '=', grant.id).execute();

  const tracked = await trx.deleteFrom('merge_moved_rows').where('kind', '=', 'grant').where('row_id', '=', grant.id).returning('origin_oid').executeTakeFirst();
  const origin = originOf(tracked?.origin_oid);
  if (origin !== to) await trx.insertInto('merge_moved_rows').values({ kind: 'grant', row_id: id, origin_oid: origin }).execute();
}

/** oidc-provider's own ids are 43 base64url characters of randomness; ours look the same. */
function newGrantId(): string {
  return randomBytes(32).toString('base64url');
}

function clientIdsOf(grants: GrantRow[]): string[] {
  return [...new Set(grants.map((g) => g.payload.clientId).filter((id): id is string => typeof id === 'string'))];
}
