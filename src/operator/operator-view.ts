import type { AuditEvent } from '../audit/audit.table.ts';

const MOSCOW_TIME = new Intl.DateTimeFormat('ru-RU', { timeZone: 'Europe/Moscow', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });

/** Audit events as the operator's table shows them: Moscow time, who, and the details as text. */
export function auditRows(events: AuditEvent[]) {
  return events.map((event) => ({
    id: event.id,
    when: MOSCOW_TIME.format(event.created_at),
    type: event.type,
    actorType: event.actor.type,
    actorId: 'oid' in event.actor ? event.actor.oid : (event.actor.name ?? ''),
    details: Object.entries(event.details).map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`),
  }));
}
