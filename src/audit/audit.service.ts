import type { DbOrTrx } from '../db/database.ts';
import type { AuditActor, AuditEvent } from './audit.table.ts';

/**
 * Security events. Written in the same transaction as the change they record, so a change and
 * its trail land or vanish together. Details never hold personal data beyond ids and codes.
 */
export async function recordAudit(
  db: DbOrTrx,
  event: { type: string; citizenOid?: string | null; actor: AuditActor; details?: Record<string, unknown>; requestId?: string | null },
): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({ type: event.type, citizen_oid: event.citizenOid ?? null, actor: event.actor, details: event.details ?? {}, request_id: event.requestId ?? null })
    .execute();
}

export async function listAuditEvents(db: DbOrTrx, citizenOid: string, limit = 100): Promise<AuditEvent[]> {
  return db.selectFrom('audit_events').selectAll().where('citizen_oid', '=', citizenOid).orderBy('id', 'desc').limit(limit).execute();
}
