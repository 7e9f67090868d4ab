import { pruneEverything } from '../../oidc/prune.ts';
import { systemClock } from '../../shared/clock.ts';
import type { CliCommand } from '../command.ts';

export const pruneCommand: CliCommand = {
  name: 'prune',
  summary: 'Delete expired OIDC artifacts, spent codes, ended flows and old delivered messages; mark ended powers of attorney expired',
  usage: '',
  description: [
    'Deletes what oidc-provider stored and has since expired (more than a minute ago), refresh tokens and',
    'authorization codes consumed longer ago than REFRESH_REUSE_WINDOW_SECONDS, one-time codes that can no',
    'longer be typed nor count for the send limits, registration and recovery flows 15 minutes past their',
    'expiry, device rows of ended sessions, expired security counters, login history older than',
    'LOGIN_HISTORY_DAYS, and outbox messages delivered or abandoned more than 30 days ago.',
    'Active powers of attorney past their last day are marked expired (not deleted), and both sides are notified.',
    'The IdP does this by itself every PRUNE_INTERVAL_SECONDS; this runs it once, now.',
  ],
  options: {},
  async run(context) {
    const deleted = await pruneEverything(await context.database(), systemClock, {
      loginHistoryDays: context.config.loginHistoryDays,
      refreshReuseWindowSeconds: context.config.refreshReuseWindowSeconds,
    });
    return {
      json: {
        deleted: deleted.oidcArtifacts,
        deletedConsumed: deleted.consumedArtifacts,
        deletedMessages: deleted.deliveredMessages,
        deletedSecurityState: deleted.securityState,
        deletedCodes: deleted.spentCodes,
        deletedFlows: deleted.endedFlows,
        deletedSessionDevices: deleted.orphanSessionDevices,
        deletedActingChoices: deleted.actingChoices,
        expiredPowers: deleted.expiredPowers,
      },
      text: [
        `Deleted ${deleted.oidcArtifacts} expired and ${deleted.consumedArtifacts} consumed OIDC artifact(s), ${deleted.spentCodes} one-time code(s),`,
        `${deleted.endedFlows} ended flow(s), ${deleted.orphanSessionDevices} session device row(s), ${deleted.securityState} security row(s),`,
        `${deleted.actingChoices} role choice(s) and ${deleted.deliveredMessages} old outbox message(s); marked ${deleted.expiredPowers} power(s) of attorney expired.`,
      ].join('\n'),
    };
  },
};
