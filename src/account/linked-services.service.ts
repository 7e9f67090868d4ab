import { sql } from 'kysely';
import type Provider from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { findGrantIds } from '../oidc/grants.ts';
import { ACCOUNT_CLIENT_ID } from './account-session.ts';
import { sendBackchannelLogout } from '../sessions/backchannel-logout.ts';

/** A service the citizen let in: what it receives, since when, and when it last used it. */
export interface LinkedService {
  clientId: string;
  name: string;
  scopes: string[];
  consentedAt: Date;
  lastUsedAt: Date | null;
}

export async function listLinkedServices(provider: Provider, db: Db, clock: Clock, oid: string): Promise<LinkedService[]> {
  const grantIds = await findGrantIds(db, clock, oid);
  const activity = new Map(
    (await db.selectFrom('grant_activity').select(['grant_id', 'last_used_at']).where('citizen_oid', '=', oid).execute()).map((r) => [r.grant_id, r.last_used_at]),
  );
  const byClient = new Map<string, LinkedService>();
  for (const grantId of grantIds) {
    const grant = await provider.Grant.find(grantId);
    if (!grant?.clientId || grant.clientId === ACCOUNT_CLIENT_ID) continue;
    const existing = byClient.get(grant.clientId);
    const scopes = (grant.getOIDCScope() || '').split(' ').filter(Boolean);
    const lastUsedAt = activity.get(grantId) ?? null;
    if (existing) {
      existing.scopes = [...new Set([...existing.scopes, ...scopes])];
      if (lastUsedAt && (!existing.lastUsedAt || lastUsedAt > existing.lastUsedAt)) existing.lastUsedAt = lastUsedAt;
      continue;
    }
    const client = await provider.Client.find(grant.clientId);
    byClient.set(grant.clientId, {
      clientId: grant.clientId,
      name: client?.clientName ?? grant.clientId,
      scopes,
      consentedAt: new Date((grant.iat ?? 0) * 1000),
      lastUsedAt,
    });
  }
  return [...byClient.values()];
}

/**
 * Revokes everything the citizen gave a service: its grants and every token and code issued from
 * them, then tells the service through back-channel logout so it ends its own session at once.
 */
export async function disconnectService(
  provider: Provider,
  db: Db,
  clock: Clock,
  input: { oid: string; clientId: string; requestId?: string },
): Promise<{ revokedGrants: number; notified: boolean }> {
  const grantIds = await findGrantIds(db, clock, input.oid, input.clientId);
  if (grantIds.length === 0) return { revokedGrants: 0, notified: false };
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('oidc_payloads').where('grant_id', 'in', grantIds).execute();
    await trx.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('id', 'in', grantIds).execute();
    await trx.deleteFrom('grant_activity').where('grant_id', 'in', grantIds).execute();
    await recordAudit(trx, {
      type: 'consent.revoked',
      citizenOid: input.oid,
      actor: { type: 'citizen', oid: input.oid },
      details: { clientId: input.clientId, grants: grantIds.length },
      requestId: input.requestId,
    });
  });
  return { revokedGrants: grantIds.length, notified: await notifyBackchannel(provider, db, input.oid, input.clientId) };
}

/** Sends a logout token for each of the citizen's sessions that signed in to the client. */
async function notifyBackchannel(provider: Provider, db: Db, oid: string, clientId: string): Promise<boolean> {
  const sessions = await db
    .selectFrom('oidc_payloads')
    .select(sql<Record<string, { sid?: string }>>`payload->'authorizations'`.as('authorizations'))
    .where('model', '=', 'Session')
    .where(sql<string>`payload->>'accountId'`, '=', oid)
    .execute();
  const sids = sessions.map((s) => s.authorizations?.[clientId]?.sid).filter((sid): sid is string => typeof sid === 'string');
  return sendBackchannelLogout(provider, clientId, oid, sids);
}
