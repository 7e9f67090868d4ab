import type { Db, DbOrTrx } from '../db/database.ts';
import type { Citizen } from '../citizens/citizen.table.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import type { NotificationKind } from './sessions.tables.ts';

/**
 * Where the citizen wants to hear about what happens to the account: e-mail and/or SMS, per kind of
 * event. Other areas ask `notificationChannelsFor` (or call `notifyCitizen`) instead of picking a
 * contact themselves.
 *
 * Security changes (password, contacts, second factor) always reach the citizen: the form refuses to
 * switch off every channel that has a contact, the table refuses a row with both off, and at send
 * time, when the chosen channels have no contact (say SMS was chosen and the phone later removed),
 * the notice goes to every contact there is.
 */
export const NOTIFICATION_KINDS: readonly NotificationKind[] = ['logins', 'security', 'linked_services'];
export const NOTIFICATION_CHANNELS = ['email', 'sms'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
export type NotificationSettings = Record<NotificationKind, Record<NotificationChannel, boolean>>;
export type { NotificationKind };

/** Until the citizen chooses: security notices everywhere, the rest by e-mail. */
export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = {
  logins: { email: true, sms: false },
  security: { email: true, sms: true },
  linked_services: { email: true, sms: false },
};

export interface NotificationRecipient {
  channel: 'email' | 'sms';
  recipient: string;
}

export function isNotificationKind(value: unknown): value is NotificationKind {
  return typeof value === 'string' && (NOTIFICATION_KINDS as readonly string[]).includes(value);
}

export async function loadNotificationSettings(db: DbOrTrx, oid: string): Promise<NotificationSettings> {
  const rows = await db.selectFrom('notification_preferences').select(['kind', 'email', 'sms']).where('citizen_oid', '=', oid).execute();
  const settings = structuredClone(DEFAULT_NOTIFICATION_SETTINGS);
  for (const row of rows) settings[row.kind] = { email: row.email, sms: row.sms };
  return settings;
}

/** The contacts a notice of this kind goes to now (none when the citizen switched the kind off). */
export async function notificationChannelsFor(db: DbOrTrx, oid: string, kind: NotificationKind): Promise<NotificationRecipient[]> {
  const citizen = await db.selectFrom('citizens').select(['phone', 'email']).where('oid', '=', oid).executeTakeFirst();
  if (!citizen) return [];
  const chosen = (await loadNotificationSettings(db, oid))[kind];
  const available: NotificationRecipient[] = [
    ...(citizen.email ? [{ channel: 'email' as const, recipient: citizen.email }] : []),
    ...(citizen.phone ? [{ channel: 'sms' as const, recipient: citizen.phone }] : []),
  ];
  const picked = available.filter((r) => chosen[r.channel]);
  return picked.length === 0 && kind === 'security' ? available : picked;
}

/** Queues a notice of `kind` to wherever the citizen wants it; call it in the transaction of the change. */
export async function notifyCitizen(
  db: DbOrTrx,
  input: { oid: string; kind: NotificationKind; template: string; payload?: Record<string, unknown>; now?: Date },
): Promise<number> {
  const recipients = await notificationChannelsFor(db, input.oid, input.kind);
  for (const { channel, recipient } of recipients) await enqueueMessage(db, { channel, recipient, template: input.template, payload: input.payload }, input.now);
  return recipients.length;
}

/** Reads the settings form: a ticked box is `<kind>-<channel>=on` (no dot: the body parser would nest it); a channel without a contact stays off. */
export function settingsFromForm(body: Record<string, unknown>, citizen: Pick<Citizen, 'phone' | 'email'>): NotificationSettings {
  const has: Record<NotificationChannel, boolean> = { email: citizen.email !== null, sms: citizen.phone !== null };
  const settings = structuredClone(DEFAULT_NOTIFICATION_SETTINGS);
  for (const kind of NOTIFICATION_KINDS) {
    for (const channel of NOTIFICATION_CHANNELS) settings[kind][channel] = has[channel] && body[`${kind}-${channel}`] === 'on';
  }
  return settings;
}

export type SaveSettingsOutcome = { result: 'saved' } | { result: 'invalid'; error: 'notifications.error.security_required' };

export async function saveNotificationSettings(
  db: Db,
  input: { oid: string; settings: NotificationSettings; now: Date; requestId?: string | null },
): Promise<SaveSettingsOutcome> {
  if (!input.settings.security.email && !input.settings.security.sms) return { result: 'invalid', error: 'notifications.error.security_required' };
  await db.transaction().execute(async (trx) => {
    for (const kind of NOTIFICATION_KINDS) {
      const row = { citizen_oid: input.oid, kind, ...input.settings[kind], updated_at: input.now };
      await trx
        .insertInto('notification_preferences')
        .values(row)
        .onConflict((oc) => oc.columns(['citizen_oid', 'kind']).doUpdateSet({ email: row.email, sms: row.sms, updated_at: row.updated_at }))
        .execute();
    }
    await recordAudit(trx, {
      type: 'notifications.updated',
      citizenOid: input.oid,
      actor: { type: 'citizen', oid: input.oid },
      details: { settings: input.settings },
      requestId: input.requestId,
    });
  });
  return { result: 'saved' };
}
