import type { DbOrTrx } from '../db/database.ts';
import type { CodePolicy } from './codes.service.ts';
import type { CodeChannel } from './codes.table.ts';

/**
 * How long a code row matters after it was sent, under its policy: the per-contact cap counts the
 * codes of the last hour, and the pause before re-sending is measured from the flow's latest code.
 */
export function codeRelevanceSeconds(policy: CodePolicy): number {
  return Math.max(3600, policy.resendAfterSeconds);
}

/**
 * Deletes codes that can no longer be typed (consumed, or expired) and no longer count for the send
 * limits of their channel's policy. A code that expired but was sent within the window stays: it
 * still counts towards the hourly cap. Returns how many went. For the prune job.
 */
export async function pruneSpentCodes(db: DbOrTrx, now: Date, policies: Record<CodeChannel, CodePolicy>): Promise<number> {
  // One statement per distinct window (not per channel), each bounded by created_at for its index.
  const channelsByWindow = new Map<number, CodeChannel[]>();
  for (const [channel, policy] of Object.entries(policies) as Array<[CodeChannel, CodePolicy]>) {
    const window = codeRelevanceSeconds(policy);
    channelsByWindow.set(window, [...(channelsByWindow.get(window) ?? []), channel]);
  }
  let deleted = 0;
  for (const [window, channels] of channelsByWindow) {
    const result = await db
      .deleteFrom('one_time_codes')
      .where('created_at', '<', new Date(now.getTime() - window * 1000))
      .where('channel', 'in', channels)
      .where((eb) => eb.or([eb('consumed_at', 'is not', null), eb('expires_at', '<=', now)]))
      .executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}
