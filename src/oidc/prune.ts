import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { pruneExpiredArtifacts } from './adapter.ts';
import { pruneDeliveredMessages } from '../notifications/outbox.ts';
import { DEFAULT_LOGIN_HISTORY_DAYS, pruneSecurityState } from '../security/prune.ts';
import { expireDuePowers } from '../powers/powers.service.ts';
import { pruneStaleChoices } from '../acting/acting.repository.ts';

/** How long rows that are kept past their use stay (LOGIN_HISTORY_DAYS). */
export interface PruneRetention {
  loginHistoryDays: number;
}

/** Everything that expires, in one place for the timer and the CLI: returns how many rows of each kind went. */
export async function pruneEverything(db: Db, clock: Clock, retention: PruneRetention = { loginHistoryDays: DEFAULT_LOGIN_HISTORY_DAYS }): Promise<{ oidcArtifacts: number; deliveredMessages: number; securityState: number; expiredPowers: number; actingChoices: number }> {
  return {
    oidcArtifacts: await pruneExpiredArtifacts(db, clock),
    deliveredMessages: await pruneDeliveredMessages(db, clock),
    securityState: await pruneSecurityState(db, clock, retention.loginHistoryDays),
    // Not a deletion: active powers of attorney past their end are marked expired and both sides told.
    expiredPowers: await expireDuePowers(db, clock.now()),
    // Role choices whose session and refresh tokens are all gone (after the artifacts above).
    actingChoices: await pruneStaleChoices(db, clock.now()),
  };
}

/** Deletes expired OIDC artifacts every `intervalSeconds` (0 turns it off); returns a stop function. */
export function startPruning(db: Db, clock: Clock, logger: Logger, intervalSeconds: number, retention?: PruneRetention): () => void {
  if (intervalSeconds <= 0) return () => {};
  const timer = setInterval(() => {
    pruneEverything(db, clock, retention)
      .then((deleted) => Object.values(deleted).some(Boolean) && logger.info({ deleted }, 'pruned'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed; will retry'));
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
