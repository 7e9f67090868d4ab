import type { DbOrTrx } from '../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AuditActor } from '../audit/audit.table.ts';
import type { TrustLevel } from '../citizens/citizen.table.ts';

/**
 * The one way a citizen's trust level changes: the new level and its audit event (who, when,
 * how) are written together. Call inside the use case's transaction. Returns the previous level.
 */
export async function changeTrustLevel(
  trx: DbOrTrx,
  input: { citizenOid: string; level: TrustLevel; actor: AuditActor; method: string; details?: Record<string, unknown>; requestId?: string | null; now: Date },
): Promise<TrustLevel> {
  const current = await trx.selectFrom('citizens').select('trust_level').where('oid', '=', input.citizenOid).forUpdate().executeTakeFirstOrThrow();
  if (current.trust_level === input.level) return current.trust_level;
  await trx.updateTable('citizens').set({ trust_level: input.level, updated_at: input.now }).where('oid', '=', input.citizenOid).execute();
  await recordAudit(trx, {
    type: 'trust_level.changed',
    citizenOid: input.citizenOid,
    actor: input.actor,
    details: { from: current.trust_level, to: input.level, method: input.method, ...input.details },
    requestId: input.requestId,
  });
  return current.trust_level;
}
