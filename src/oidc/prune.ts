import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { pruneExpiredArtifacts } from './adapter.ts';
import { pruneDeliveredMessages } from '../notifications/outbox.ts';
import { pruneSecurityState } from '../security/prune.ts';

/** Everything that expires, in one place for the timer and the CLI: returns how many rows of each kind went. */
export async function pruneEverything(db: Db, clock: Clock): Promise<{ oidcArtifacts: number; deliveredMessages: number; securityState: number }> {
  return {
    oidcArtifacts: await pruneExpiredArtifacts(db, clock),
    deliveredMessages: await pruneDeliveredMessages(db, clock),
    securityState: await pruneSecurityState(db, clock),
  };
}

/** Deletes expired OIDC artifacts every `intervalSeconds` (0 turns it off); returns a stop function. */
export function startPruning(db: Db, clock: Clock, logger: Logger, intervalSeconds: number): () => void {
  if (intervalSeconds <= 0) return () => {};
  const timer = setInterval(() => {
    pruneEverything(db, clock)
      .then((deleted) => Object.values(deleted).some(Boolean) && logger.info({ deleted }, 'pruned'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed; will retry'));
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
