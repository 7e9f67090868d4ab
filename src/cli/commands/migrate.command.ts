import { migrateToLatest } from '../../db/migrate.ts';
import { CliError, type CliCommand } from '../command.ts';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'Apply pending database migrations',
  usage: '',
  description: ['Brings the schema up to date and lists the migrations applied. Safe to run again.'],
  options: {},
  async run(context) {
    const db = await context.database({ requireSchema: false });
    let applied: string[];
    try {
      applied = await migrateToLatest(db);
    } catch (error) {
      const cause = (error as Error).cause;
      throw new CliError('migrate.failed', `${(error as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}`);
    }
    return {
      json: { applied },
      text: applied.length
        ? `Applied ${applied.length} migration(s):\n${applied.map((name) => `  ${name}`).join('\n')}`
        : 'The database is up to date: no migrations to apply.',
    };
  },
};
