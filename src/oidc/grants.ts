import { sql } from 'kysely';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Db, DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';

/**
 * Consents are remembered across sessions, as users of Keycloak and ESIA expect: a citizen who
 * agreed once is not asked again on the next sign-in, until they revoke the consent under
 * «Связанные сервисы». A grant is found in the session first (oidc-provider's default), then among
 * the citizen's live grants for the client.
 */
export function createLoadExistingGrant(db: Db, clock: Clock) {
  return async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const accountId = ctx.oidc.session?.accountId;
    if (!accountId) return undefined;
    const remembered = (await findGrantIds(db, clock, accountId, client.clientId))[0];
    return remembered ? ctx.oidc.provider.Grant.find(remembered) : undefined;
  };
}

/** The citizen's live grant ids, newest first (optionally for one client). */
export async function findGrantIds(db: DbOrTrx, clock: Clock, accountId: string, clientId?: string): Promise<string[]> {
  let query = db
    .selectFrom('oidc_payloads')
    .select('id')
    .where('model', '=', 'Grant')
    .where(sql<string>`payload->>'accountId'`, '=', accountId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', clock.now())]))
    .orderBy(sql`(payload->>'iat')::bigint`, 'desc');
  if (clientId) query = query.where(sql<string>`payload->>'clientId'`, '=', clientId);
  return (await query.execute()).map((r) => r.id);
}

/** «Last used» is shown to the minute; writing it more often than this would only load the database. */
const ACTIVITY_RESOLUTION_MS = 60_000;
const ACTIVITY_MEMORY = 10_000;

/** Remembers when a grant last issued tokens (fire-and-forget from provider events, at most once a minute per grant). */
export function trackGrantUse(provider: Provider, db: Db, clock: Clock, onError: (error: unknown) => void): void {
  const lastWritten = new Map<string, number>();
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grant = ctx.oidc.entities.Grant as { jti?: string; accountId?: string; clientId?: string } | undefined;
    if (!grant?.jti || !grant.accountId || !grant.clientId) return;
    const now = clock.now();
    const previous = lastWritten.get(grant.jti);
    if (previous !== undefined && now.getTime() - previous < ACTIVITY_RESOLUTION_MS) return;
    if (lastWritten.size >= ACTIVITY_MEMORY) lastWritten.clear();
    lastWritten.set(grant.jti, now.getTime());
    const row = { grant_id: grant.jti, citizen_oid: grant.accountId, client_id: grant.clientId, last_used_at: now };
    db.insertInto('grant_activity')
      .values(row)
      .onConflict((oc) => oc.column('grant_id').doUpdateSet({ last_used_at: row.last_used_at }))
      .execute()
      .catch(onError);
  });
}
