import type Provider from 'oidc-provider';

/**
 * Tells a relying party, through its back-channel logout URI (OpenID Connect Back-Channel Logout),
 * that the citizen's sessions there are over: one logout token per session id (`sid`) it knew, or a
 * single token without a session id when there is none. The token is made and posted by
 * oidc-provider's own Client#backchannelLogout (its types omit it). Outcomes are reported through
 * oidc-provider's `backchannel.success` / `backchannel.error` events, as its own logout does, so the
 * provider's listener logs failures. Never throws; says whether any token was delivered.
 */
export async function sendBackchannelLogout(provider: Provider, clientId: string, sub: string, sids: readonly string[]): Promise<boolean> {
  const client = await provider.Client.find(clientId);
  if (!client?.backchannelLogoutUri) return false;
  const notify = (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<unknown> }).backchannelLogout.bind(client);
  const targets = sids.length > 0 ? [...new Set(sids)] : [''];
  const results = await Promise.all(
    targets.map((sid) =>
      notify(sub, sid).then(
        () => {
          provider.emit('backchannel.success', undefined, client, sub, sid);
          return true;
        },
        (error: unknown) => {
          provider.emit('backchannel.error', undefined, error, client, sub, sid);
          return false;
        },
      ),
    ),
  );
  return results.some(Boolean);
}

/** A logout to send once the change that ends the sessions has committed. */
export interface PendingLogout {
  clientId: string;
  sids: string[];
}

/** Sends every pending logout of one citizen (in parallel); returns the clients that were reached. */
export async function sendPendingLogouts(provider: Provider, sub: string, logouts: readonly PendingLogout[]): Promise<string[]> {
  const reached = await Promise.all(logouts.map(async (l) => ((await sendBackchannelLogout(provider, l.clientId, sub, l.sids)) ? l.clientId : undefined)));
  return reached.filter((id): id is string => id !== undefined);
}

/** Groups session ids by client, e.g. from the `authorizations` of ended sessions. */
export function groupLogouts(entries: Iterable<{ clientId: string; sid?: string | null }>): PendingLogout[] {
  const byClient = new Map<string, Set<string>>();
  for (const { clientId, sid } of entries) {
    const sids = byClient.get(clientId) ?? new Set<string>();
    if (sid) sids.add(sid);
    byClient.set(clientId, sids);
  }
  return [...byClient].map(([clientId, sids]) => ({ clientId, sids: [...sids] }));
}
