import type { DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { notifyCitizen } from '../sessions/notification-settings.ts';

/** The security events this area tells citizens about (texts: notifications/templates.ts). */
export type SecurityNoticeEvent =
  | 'second_factor_enabled'
  | 'second_factor_disabled'
  | 'recovery_codes_regenerated'
  | 'recovery_code_used'
  | 'account_locked'
  | 'new_device';

/**
 * Queues a `security_notice` where the citizen wants notices of its kind (sessions/notification-settings.ts):
 * a sign-in from a new device is a `logins` notice; everything else is a `security` notice, which always
 * reaches the citizen. Call it with the transaction of the change.
 */
export async function notifySecurityEvent(trx: DbOrTrx, citizen: Pick<Citizen, 'oid'>, event: SecurityNoticeEvent, now: Date, extra: Record<string, string> = {}): Promise<void> {
  await notifyCitizen(trx, {
    oid: citizen.oid,
    kind: event === 'new_device' ? 'logins' : 'security',
    template: 'security_notice',
    payload: { event, at: now.toISOString(), ...extra },
    now,
  });
}
