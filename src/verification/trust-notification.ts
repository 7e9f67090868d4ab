import type { DbOrTrx } from '../db/database.ts';
import type { Citizen, TrustLevel } from '../citizens/citizen.table.ts';
import { enqueueMessage } from '../notifications/outbox.ts';

/**
 * Tells the citizen their account level changed: an SMS to the confirmed phone, else an e-mail.
 * Call in the transaction that changed the level, so the message goes out if and only if it did.
 */
export async function notifyTrustLevelChanged(
  trx: DbOrTrx,
  citizen: Pick<Citizen, 'phone' | 'email'>,
  change: { level: TrustLevel; previousLevel: TrustLevel },
  now: Date,
): Promise<void> {
  const to = citizen.phone ? { channel: 'sms' as const, recipient: citizen.phone } : citizen.email ? { channel: 'email' as const, recipient: citizen.email } : undefined;
  if (!to) return;
  await enqueueMessage(trx, { ...to, template: 'trust_level_changed', payload: { level: change.level, previousLevel: change.previousLevel } }, now);
}
