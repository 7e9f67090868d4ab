import type { Db, DbOrTrx } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { pruneExpiredArtifacts } from './adapter.ts';
import { pruneDeliveredMessages } from '../notifications/outbox.ts';
import { DEFAULT_LOGIN_HISTORY_DAYS, pruneSecurityState } from '../security/prune.ts';
import { expireDuePowers } from '../powers/powers.service.ts';
import { pruneStaleChoices } from '../acting/acting.repository.ts';
import { CONTACT_CODE_POLICY } from '../codes/codes.service.ts';
import { pruneSpentCodes } from '../codes/prune.ts';
import { LETTER_CODE_POLICY } from '../verification/letter.service.ts';
import { pruneEndedRegistrationFlows } from '../registration/registration.repository.ts';
import { pruneEndedRecoveryFlows } from '../recovery/recovery.repository.ts';
import { pruneOrphanSessionDevices } from '../sessions/sessions.repository.ts';
import { pruneEndedContactChanges } from '../account/contacts.service.ts';
import { pruneEndedMergeFlows } from '../merge/merge.repository.ts';

/** REFRESH_REUSE_WINDOW_SECONDS unless configured: a day. */
export const DEFAULT_REFRESH_REUSE_WINDOW_SECONDS = 24 * 3600;

/**
 * How long past its expiry a registration or recovery flow stays, so that a citizen coming back
 * to its page soon after is told it expired (410) rather than that it does not exist (404).
 */
export const ENDED_FLOW_GRACE_SECONDS = 15 * 60;

/** How long rows that are kept past their use stay (LOGIN_HISTORY_DAYS, REFRESH_REUSE_WINDOW_SECONDS). */
export interface PruneRetention {
  loginHistoryDays: number;
  refreshReuseWindowSeconds?: number;
}

export interface PruneCounts {
  oidcArtifacts: number;
  consumedArtifacts: number;
  deliveredMessages: number;
  securityState: number;
  spentCodes: number;
  endedFlows: number;
  orphanSessionDevices: number;
  expiredPowers: number;
  actingChoices: number;
}

/** Everything that expires, in one place for the timer and the CLI: returns how many rows of each kind went. */
export async function pruneEverything(db: Db, clock: Clock, retention: PruneRetention = { loginHistoryDays: DEFAULT_LOGIN_HISTORY_DAYS }): Promise<PruneCounts> {
  const now = clock.now();
  return {
    oidcArtifacts: await pruneExpiredArtifacts(db, clock),
    consumedArtifacts: await pruneConsumedArtifacts(db, now, retention.refreshReuseWindowSeconds ?? DEFAULT_REFRESH_REUSE_WINDOW_SECONDS),
    deliveredMessages: await pruneDeliveredMessages(db, clock),
    securityState: await pruneSecurityState(db, clock, retention.loginHistoryDays),
    spentCodes: await pruneSpentCodes(db, now, { sms: CONTACT_CODE_POLICY, email: CONTACT_CODE_POLICY, post: LETTER_CODE_POLICY }),
    endedFlows: (await pruneEndedRegistrationFlows(db, now, ENDED_FLOW_GRACE_SECONDS)) + (await pruneEndedRecoveryFlows(db, now, ENDED_FLOW_GRACE_SECONDS))
      + (await pruneEndedContactChanges(db, now, ENDED_FLOW_GRACE_SECONDS)) + (await pruneEndedMergeFlows(db, now, ENDED_FLOW_GRACE_SECONDS)),
    // Device rows of sessions that ended or expired (after the sessions themselves went, above).
    orphanSessionDevices: await pruneOrphanSessionDevices(db),
    // Not a deletion: active powers of attorney past their end are marked expired and both sides told.
    expiredPowers: await expireDuePowers(db, now),
    // Role choices whose session and refresh tokens are all gone (after the artifacts above).
    actingChoices: await pruneStaleChoices(db, now),
  };
}

/**
 * Refresh tokens and authorization codes consumed more than `reuseWindowSeconds` ago. With rotation
 * a refresh token is consumed as soon as it is exchanged, yet oidc-provider keeps the row until the
 * token's own expiry (REFRESH_TOKEN_TTL, 30 days) — only so that a replay of it is recognised and
 * revokes the whole grant (the token was probably stolen). Kept that long, the table grows with
 * refresh rate × TTL. After the window a replayed token is simply unknown: the RP gets invalid_grant
 * as before, but the grant and its newer tokens are no longer revoked. Returns how many went.
 */
export async function pruneConsumedArtifacts(db: DbOrTrx, now: Date, reuseWindowSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('consumed_at', '<', new Date(now.getTime() - reuseWindowSeconds * 1000))
    .where('model', 'in', ['RefreshToken', 'AuthorizationCode'])
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deletes expired OIDC artifacts every `intervalSeconds` (0 turns it off); returns a stop function. */
export function startPruning(db: Db, clock: Clock, logger: Logger, intervalSeconds: number, retention?: PruneRetention): () => void {
  if (intervalSeconds <= 0) return () => {};
  // A pass that outlasts the interval (a backlog after downtime) is not joined by a second one.
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    pruneEverything(db, clock, retention)
      .then((deleted) => Object.values(deleted).some(Boolean) && logger.info({ deleted }, 'pruned'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed; will retry'))
      .finally(() => { running = false; });
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
