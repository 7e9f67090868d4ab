import type Provider from 'oidc-provider';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { ACCOUNT_CLIENT_ID } from '../account/account-session.ts';
import { groupLogouts, sendPendingLogouts, type PendingLogout } from './backchannel-logout.ts';
import { deleteCitizenSessions, deleteSessionBoundTokens, deleteSessionDevices, findCitizenSessions, findSessionDevices, type StoredSession } from './sessions.repository.ts';
import { describeUserAgent, type DeviceName } from './user-agent.ts';

/** One of the citizen's sessions as the «Активные сеансы» page shows it. */
export interface SessionView {
  uid: string;
  current: boolean;
  device: DeviceName;
  userAgent: string | null;
  ip: string | null;
  signedInAt: Date | null;
  lastSeenAt: Date | null;
  /** Names of the services signed in with this session (the account console itself is not one). */
  services: string[];
}

/** The citizen's live sessions, this browser's first, then the most recently used. */
export async function listCitizenSessions(provider: Provider, db: Db, clock: Clock, input: { oid: string; currentUid?: string }): Promise<SessionView[]> {
  const sessions = await findCitizenSessions(db, input.oid, { liveAt: clock.now() });
  const devices = new Map((await findSessionDevices(db, input.oid)).map((d) => [d.session_uid, d]));
  const names = new Map<string, string>();
  for (const clientId of new Set(sessions.flatMap((s) => Object.keys(s.authorizations)))) {
    if (clientId === ACCOUNT_CLIENT_ID) continue;
    names.set(clientId, (await provider.Client.find(clientId))?.clientName ?? clientId);
  }
  const views = sessions.map((session): SessionView => {
    const device = devices.get(session.uid);
    return {
      uid: session.uid,
      current: session.uid === input.currentUid,
      device: describeUserAgent(device?.user_agent),
      userAgent: device?.user_agent ?? null,
      ip: device?.ip ?? null,
      signedInAt: device?.signed_in_at ?? (session.loginTs ? new Date(session.loginTs * 1000) : null),
      lastSeenAt: device?.last_seen_at ?? null,
      services: Object.keys(session.authorizations).flatMap((clientId) => names.get(clientId) ?? []),
    };
  });
  const recency = (v: SessionView) => (v.lastSeenAt ?? v.signedInAt)?.getTime() ?? 0;
  return views.sort((a, b) => Number(b.current) - Number(a.current) || recency(b) - recency(a));
}

export type WhichSessions = { uids: readonly string[] } | { allExcept?: string };

export interface EndedSessions {
  count: number;
  /** Back-channel logouts to send once the transaction has committed. */
  logouts: PendingLogout[];
}

/**
 * Ends sessions inside the caller's transaction: the Session rows, the tokens and codes bound to them,
 * their device rows, and an audit event. The relying parties are told only after the commit (see
 * `sendPendingLogouts`): a logout token must never announce a change that then rolls back.
 */
export async function endSessionsInTransaction(
  trx: DbOrTrx,
  input: { oid: string; which: WhichSessions; reason: 'citizen' | 'password_changed'; requestId?: string | null },
): Promise<EndedSessions> {
  const ended = await deleteCitizenSessions(trx, input.oid, input.which);
  if (ended.length === 0) return { count: 0, logouts: [] };
  await deleteSessionBoundTokens(trx, ended);
  await deleteSessionDevices(trx, ended.map((s) => s.uid));
  await recordAudit(trx, {
    type: 'session.ended',
    citizenOid: input.oid,
    actor: { type: 'citizen', oid: input.oid },
    details: { sessions: ended.length, reason: input.reason },
    requestId: input.requestId,
  });
  return { count: ended.length, logouts: logoutsFor(ended) };
}

/** Ends sessions on the citizen's request and tells the services signed in with them. */
export async function endSessions(
  provider: Provider,
  db: Db,
  input: { oid: string; which: WhichSessions; requestId?: string | null },
): Promise<{ count: number; notified: string[] }> {
  const ended = await db.transaction().execute((trx) => endSessionsInTransaction(trx, { ...input, reason: 'citizen' }));
  return { count: ended.count, notified: await sendPendingLogouts(provider, input.oid, ended.logouts) };
}

/** Every relying party a set of sessions signed in to, with the session ids it knows them by. */
export function logoutsFor(sessions: readonly StoredSession[]): PendingLogout[] {
  return groupLogouts(
    sessions.flatMap((s) => Object.entries(s.authorizations).map(([clientId, a]) => ({ clientId, sid: a.sid }))).filter((e) => e.clientId !== ACCOUNT_CLIENT_ID),
  );
}
