import { pruneEverything } from '../../oidc/prune.ts';
import { systemClock } from '../../shared/clock.ts';
import type { CliCommand } from '../command.ts';

export const pruneCommand: CliCommand = {
  name: 'prune',
  summary: 'Delete expired OIDC artifacts and old delivered messages; mark ended powers of attorney expired',
  usage: '',
  description: [
    'Deletes what oidc-provider stored and has since expired (more than a minute ago),',
    'and outbox messages delivered or abandoned more than 30 days ago.',
    'Active powers of attorney past their last day are marked expired (not deleted), and both sides are notified.',
    'The IdP does this by itself every PRUNE_INTERVAL_SECONDS; this runs it once, now.',
  ],
  options: {},
  async run(context) {
    const deleted = await pruneEverything(await context.database(), systemClock, { loginHistoryDays: context.config.loginHistoryDays });
    return {
      json: { deleted: deleted.oidcArtifacts, deletedMessages: deleted.deliveredMessages, expiredPowers: deleted.expiredPowers },
      text: `Deleted ${deleted.oidcArtifacts} expired OIDC artifact(s) and ${deleted.deliveredMessages} old outbox message(s); marked ${deleted.expiredPowers} power(s) of attorney expired.`,
    };
  },
};
