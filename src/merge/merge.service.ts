import { sql } from 'kysely';
import type Provider from 'oidc-provider';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { notifyCitizen } from '../sessions/notification-settings.ts';
import { endSessionsInTransaction } from '../sessions/sessions.service.ts';
import { groupLogouts, sendPendingLogouts, type PendingLogout } from '../sessions/backchannel-logout.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-session.ts';
import { refusalsFor, type MergeRefusal } from './merge-rules.ts';
import { completeFlow, findActiveLink, findCandidates, findLiveFlow, loadMergeSide, lockCitizens, type Candidate } from './merge.repository.ts';
import { returnRows, transferRows, type TransferResult } from './moved-rows.ts';
import { findConflictingPowers } from './power-conflicts.ts';

/**
 * Linking, re-ordering and unlinking one person's accounts. Each is ONE transaction over locked
 * citizen rows; relying parties hear (back-channel logout) only after the commit.
 *
 * The group: one primary account and its aliases (`citizens.merged_into_oid` = the primary). Only the
 * primary is ever a session's account; the aliases' phones, e-mails and SNILS sign in to it.
 */
export interface MergeDeps {
  provider: Provider;
  db: Db;
  /** MERGE_UNDO_DAYS */
  undoDays: number;
}

interface Request {
  now: Date;
  requestId?: string;
}

/** The candidate the signed-in (primary) citizen may try to link, or undefined: unknown, an alias, or not sharing anything. */
export async function findCandidate(db: DbOrTrx, citizen: Citizen, oid: string): Promise<Candidate | undefined> {
  return (await findCandidates(db, citizen)).find((c) => c.oid === oid);
}

/** What stops these two accounts from being linked now (empty: nothing). */
export async function evaluateMerge(db: DbOrTrx, citizen: Citizen, candidate: Citizen, now: Date): Promise<MergeRefusal[]> {
  // One query at a time: inside a transaction they share one connection anyway.
  const self = await loadMergeSide(db, citizen);
  const other = await loadMergeSide(db, candidate);
  return refusalsFor(self, other, await findConflictingPowers(db, citizen.oid, candidate.oid, now));
}

export type MergeOutcome =
  | { result: 'merged'; aliasOid: string }
  | { result: 'not_found' }
  /** No proof of control in force (never given, expired, or already spent). */
  | { result: 'not_proved' }
  | { result: 'refused'; refusals: MergeRefusal[] };

/**
 * Links `candidateOid` into the signed-in account, which survives with its OID. The other account
 * becomes an alias: its consents, login history, memberships, children's records and powers of
 * attorney move over (moved-rows.ts; its own aliases, if any, follow it),
 * its sessions and every token issued to it end, and both accounts' owners are told.
 */
export async function mergeAccounts(deps: MergeDeps, input: Request & { citizenOid: string; candidateOid: string }): Promise<MergeOutcome> {
  const { now } = input;
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const citizens = await lockCitizens(trx, [input.citizenOid, input.candidateOid]);
    const citizen = citizens.get(input.citizenOid);
    const candidate = citizens.get(input.candidateOid);
    if (!citizen || !candidate || citizen.oid === candidate.oid || citizen.merged_into_oid || candidate.merged_into_oid) return { result: 'not_found' as const };
    const flow = await findLiveFlow(trx, citizen.oid, candidate.oid, now, { lock: true });
    if (!flow || flow.state !== 'proved' || !flow.proof_method) return { result: 'not_proved' as const };
    const refusals = await evaluateMerge(trx, citizen, candidate, now);
    if (refusals.length > 0) return { result: 'refused' as const, refusals };
    if (!(await completeFlow(trx, flow.id))) return { result: 'not_proved' as const };

    const survivor = citizen.oid;
    const alias = candidate.oid;
    // Before the groups join: a shared membership's record of whose roles it holds is read per group.
    const moved = await transferRows(trx, alias, survivor);
    // The candidate's own aliases (it was a primary) now belong to the survivor's group.
    await trx.updateTable('citizens').set({ merged_into_oid: survivor }).where('merged_into_oid', '=', alias).execute();
    await trx.updateTable('account_merges').set({ survivor_oid: survivor }).where('survivor_oid', '=', alias).where('unlinked_at', 'is', null).execute();
    await trx.updateTable('citizens').set({ merged_into_oid: survivor }).where('oid', '=', alias).execute();
    await trx
      .insertInto('account_merges')
      .values({ survivor_oid: survivor, alias_oid: alias, proof_method: flow.proof_method, merged_at: now, undo_until: new Date(now.getTime() + deps.undoDays * 86_400_000) })
      .execute();

    const logouts = await retireAccount(trx, alias, moved.clientIds, input.requestId);
    for (const [oid, other] of [[survivor, alias], [alias, survivor]]) {
      await recordAudit(trx, { type: 'account.merged', citizenOid: oid, actor: { type: 'citizen', oid: survivor }, details: { survivorOid: survivor, aliasOid: alias, otherOid: other, method: flow.proof_method, ...movedCounts(moved) }, requestId: input.requestId });
      await notifyCitizen(trx, { oid, kind: 'security', template: 'security_notice', payload: { event: 'accounts_linked', at: now.toISOString() }, now });
    }
    return { result: 'merged' as const, aliasOid: alias, logouts };
  });
  if (outcome.result !== 'merged') return outcome;
  await sendPendingLogouts(deps.provider, outcome.aliasOid, outcome.logouts);
  return { result: 'merged', aliasOid: outcome.aliasOid };
}

export type LinkChangeOutcome = { result: 'done' } | { result: 'not_found' } | { result: 'window_over'; undoUntil: Date };

/**
 * «Сделать основным»: the alias becomes the primary (its OID is the subject from now on) and the
 * primary its alias. Everything the group holds moves to the new primary; the old primary's sessions
 * end, this browser's included — the citizen signs in again and lands in the new primary.
 */
export async function makePrimary(deps: MergeDeps, input: Request & { primaryOid: string; aliasOid: string }): Promise<LinkChangeOutcome> {
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const group = await lockGroup(trx, input.primaryOid);
    const primary = group.get(input.primaryOid);
    const alias = group.get(input.aliasOid);
    const link = primary && alias ? await findActiveLink(trx, primary.oid, alias.oid) : undefined;
    if (!primary || primary.merged_into_oid || alias?.merged_into_oid !== primary.oid || !link) return { result: 'not_found' as const };

    const moved = await transferRows(trx, primary.oid, alias.oid);
    await trx.updateTable('citizens').set({ merged_into_oid: null }).where('oid', '=', alias.oid).execute();
    await trx.updateTable('citizens').set({ merged_into_oid: alias.oid }).where('merged_into_oid', '=', primary.oid).execute();
    await trx.updateTable('citizens').set({ merged_into_oid: alias.oid }).where('oid', '=', primary.oid).execute();
    await trx.updateTable('account_merges').set({ survivor_oid: alias.oid, alias_oid: primary.oid }).where('id', '=', link.id).execute();
    await trx.updateTable('account_merges').set({ survivor_oid: alias.oid }).where('survivor_oid', '=', primary.oid).where('unlinked_at', 'is', null).execute();

    const logouts = await retireAccount(trx, primary.oid, moved.clientIds, input.requestId);
    for (const oid of [primary.oid, alias.oid]) {
      await recordAudit(trx, { type: 'account.primary_changed', citizenOid: oid, actor: { type: 'citizen', oid: primary.oid }, details: { primaryOid: alias.oid, aliasOid: primary.oid, ...movedCounts(moved) }, requestId: input.requestId });
      await notifyCitizen(trx, { oid, kind: 'security', template: 'security_notice', payload: { event: 'primary_account_changed', at: input.now.toISOString() }, now: input.now });
    }
    return { result: 'done' as const, oldPrimary: primary.oid, logouts };
  });
  if (outcome.result !== 'done') return outcome;
  await sendPendingLogouts(deps.provider, outcome.oldPrimary, outcome.logouts);
  return { result: 'done' };
}

/**
 * «Отвязать», within MERGE_UNDO_DAYS of the link: the alias is an independent account again, with
 * the consents, login history, memberships, children's records and powers that were its own. Tokens issued from those consents while they sat
 * on the primary end (they name the primary).
 */
export async function unlinkAccount(deps: MergeDeps, input: Request & { primaryOid: string; aliasOid: string }): Promise<LinkChangeOutcome> {
  return deps.db.transaction().execute(async (trx): Promise<LinkChangeOutcome> => {
    const citizens = await lockCitizens(trx, [input.primaryOid, input.aliasOid]);
    const primary = citizens.get(input.primaryOid);
    const alias = citizens.get(input.aliasOid);
    const link = primary && alias ? await findActiveLink(trx, primary.oid, alias.oid) : undefined;
    if (!primary || primary.merged_into_oid || alias?.merged_into_oid !== primary.oid || !link) return { result: 'not_found' };
    if (link.undo_until <= input.now) return { result: 'window_over', undoUntil: link.undo_until };

    const returned = await returnRows(trx, alias.oid, primary.oid);
    await trx.updateTable('citizens').set({ merged_into_oid: null }).where('oid', '=', alias.oid).execute();
    await trx.updateTable('account_merges').set({ unlinked_at: input.now }).where('id', '=', link.id).where('unlinked_at', 'is', null).execute();
    for (const oid of [primary.oid, alias.oid]) {
      await recordAudit(trx, { type: 'account.unlinked', citizenOid: oid, actor: { type: 'citizen', oid: primary.oid }, details: { primaryOid: primary.oid, aliasOid: alias.oid, ...movedCounts(returned) }, requestId: input.requestId });
      await notifyCitizen(trx, { oid, kind: 'security', template: 'security_notice', payload: { event: 'accounts_unlinked', at: input.now.toISOString() }, now: input.now });
    }
    return { result: 'done' };
  });
}

/** What moved, for the audit trail (counts only). */
function movedCounts(moved: TransferResult) {
  return { grants: moved.grants, memberships: moved.memberships, children: moved.children, childLinks: moved.childLinks, powers: moved.powers };
}

/**
 * An account stops being anyone's session account: its sessions end (with the tokens bound to
 * them), logins in flight for it are dropped, and so are its role choices at login (src/acting). Returns who must hear of it: the services it was
 * signed in to and those whose consents moved away from it.
 */
async function retireAccount(trx: DbOrTrx, oid: string, movedClientIds: string[], requestId?: string): Promise<PendingLogout[]> {
  const ended = await endSessionsInTransaction(trx, { oid, which: {}, reason: 'citizen', requestId });
  await trx.deleteFrom('pending_logins').where('citizen_oid', '=', oid).execute();
  await trx.deleteFrom('acting_choices').where('citizen_oid', '=', oid).execute();
  await trx
    .deleteFrom('oidc_payloads')
    .where('model', '=', 'Interaction')
    .where((eb) => eb.or([eb(sql<string>`payload->'session'->>'accountId'`, '=', oid), eb(sql<string>`payload->'result'->'login'->>'accountId'`, '=', oid)]))
    .execute();
  return groupLogouts([
    ...ended.logouts.flatMap((l) => (l.sids.length ? l.sids.map((sid) => ({ clientId: l.clientId, sid })) : [{ clientId: l.clientId }])),
    ...movedClientIds.filter((id) => id !== ACCOUNT_CLIENT_ID).map((clientId) => ({ clientId })),
  ]);
}

/** The primary and its aliases, locked in OID order. */
async function lockGroup(trx: DbOrTrx, primaryOid: string): Promise<Map<string, Citizen>> {
  const rows = await trx
    .selectFrom('citizens')
    .selectAll()
    .where((eb) => eb.or([eb('oid', '=', primaryOid), eb('merged_into_oid', '=', primaryOid)]))
    .orderBy('oid')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [r.oid, r]));
}
