import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { pruneExpiredArtifacts } from './adapter.ts';

/** Deletes expired OIDC artifacts every `intervalSeconds` (0 turns it off); returns a stop function. */
export function startPruning(db: Db, clock: Clock, logger: Logger, intervalSeconds: number): () => void {
  if (intervalSeconds <= 0) return () => {};
  const timer = setInterval(() => {
    pruneExpiredArtifacts(db, clock)
      .then((deleted) => deleted && logger.info({ deleted }, 'pruned expired oidc artifacts'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed; will retry'));
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
