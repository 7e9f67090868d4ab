import { pruneExpiredArtifacts } from '../../oidc/adapter.ts';
import { systemClock } from '../../shared/clock.ts';
import type { CliCommand } from '../command.ts';

export const pruneCommand: CliCommand = {
  name: 'prune',
  summary: 'Delete expired OIDC artifacts (sessions, codes, tokens, grants)',
  usage: '',
  description: [
    'Deletes what oidc-provider stored and has since expired (more than a minute ago).',
    'The IdP does this by itself every PRUNE_INTERVAL_SECONDS; this runs it once, now.',
  ],
  options: {},
  async run(context) {
    const deleted = await pruneExpiredArtifacts(await context.database(), systemClock);
    return { json: { deleted }, text: `Deleted ${deleted} expired OIDC artifact(s).` };
  },
};
