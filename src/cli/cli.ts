import { operatorsAddCommand, operatorsListCommand, operatorsRemoveCommand } from './commands/operators.command.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { isUniqueViolation, pgCode } from '../db/pg-errors.ts';
import type { IdpRuntime } from '../runtime.ts';
import { AppError } from '../shared/app-error.ts';
import { createLogger } from '../shared/logger.ts';
import { CliError, UsageError, parseCommandArgs, type CliCommand, type CommandContext } from './command.ts';
import { assertSchemaIsCurrent, openCliDatabase, type CliDatabase } from './database.ts';
import { citizensAddCommand } from './commands/citizens.command.ts';
import { clientsAddCommand, clientsListCommand, clientsRemoveCommand } from './commands/clients.command.ts';
import { keysActivateCommand, keysListCommand, keysPruneCommand, keysRotateCommand } from './commands/keys.command.ts';
import { migrateCommand } from './commands/migrate.command.ts';
import { pruneCommand } from './commands/prune.command.ts';

export const COMMANDS: CliCommand[] = [
  migrateCommand,
  clientsAddCommand,
  clientsListCommand,
  clientsRemoveCommand,
  citizensAddCommand,
  keysListCommand,
  keysRotateCommand,
  keysActivateCommand,
  keysPruneCommand,
  operatorsAddCommand,
  operatorsListCommand,
  operatorsRemoveCommand,
  pruneCommand,
];

const PROGRAM = 'npm run cli --';

export interface CliIo {
  env: Record<string, string | undefined>;
  readFile(path: string): string;
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Runs one command and returns the exit code: 0 done, 1 failed (one line on stderr), 2 wrong usage.
 * Whatever it opened (database, runtime) is closed before it returns.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // Known before parsing, so even a usage error can answer in JSON.
  let json = argv.includes('--json');
  let resources: Resources | undefined;
  try {
    const { command, rest, group } = resolveCommand(argv);
    if (!command) {
      io.stdout(group ? groupHelp(group) : overview());
      return 0;
    }
    const args = parseCommandArgs(command, rest);
    json = args.json;
    if (args.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    resources = createResources(loadCliConfig(io));
    const result = await command.run(resources.context, args);
    io.stdout(json ? JSON.stringify(result.json, null, 2) : result.text);
    return 0;
  } catch (error) {
    const failure = describeFailure(error, resources?.description());
    io.stderr(json ? JSON.stringify({ error: failure.code, message: failure.message }) : `error: ${failure.message}`);
    if (failure.stack && !json) io.stderr(failure.stack);
    return failure.exitCode;
  } finally {
    await resources?.close().catch(() => {});
  }
}

/**
 * The command words come first, optionally after global flags: `clients add --name …`,
 * `--json clients list`. Returns no command when only help was asked for.
 */
function resolveCommand(argv: string[]): { command?: CliCommand; rest: string[]; group?: string } {
  const globals = new Set(['--json', '--help', '-h']);
  let i = 0;
  while (i < argv.length && globals.has(argv[i])) i++;
  const leading = argv.slice(0, i);
  const helpAsked = leading.includes('--help') || leading.includes('-h');
  const [first, second] = [argv[i], argv[i + 1]];
  if (first === undefined || first === 'help') {
    if (helpAsked || first === 'help') return { rest: [] };
    throw new UsageError('missing command');
  }
  const pair = COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (pair) return { command: pair, rest: [...leading, ...argv.slice(i + 2)] };
  const single = COMMANDS.find((c) => c.name === first);
  if (single) return { command: single, rest: [...leading, ...argv.slice(i + 1)] };
  const inGroup = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
  if (inGroup.length === 0) throw new UsageError(`unknown command "${first}"`);
  const subcommands = inGroup.map((c) => c.name.split(' ')[1]).join(', ');
  const groupHelpAsked = helpAsked || argv.slice(i + 1).some((a) => a === '--help' || a === '-h');
  if (second === undefined || second.startsWith('-')) {
    if (groupHelpAsked) return { rest: [], group: first };
    throw new UsageError(`"${first}" needs a subcommand: ${subcommands}`, first);
  }
  throw new UsageError(`unknown command "${first} ${second}" (${first} has: ${subcommands})`, first);
}

function loadCliConfig(io: CliIo): Config {
  const config = loadConfig(io.env, io.readFile);
  // Only `migrate` changes the schema (every other command refuses an unmigrated database), and a
  // one-shot command runs no background work: that is the server's job.
  return { ...config, migrateOnStart: false, runWorkers: false, pruneIntervalSeconds: 0 };
}

interface Resources {
  context: CommandContext;
  description(): string | undefined;
  close(): Promise<void>;
}

function createResources(config: Config): Resources {
  let database: Promise<CliDatabase> | undefined;
  let opened: CliDatabase | undefined;
  let schemaChecked: Promise<void> | undefined;
  let runtime: Promise<IdpRuntime> | undefined;

  const open = (create: boolean) =>
    (database ??= openCliDatabase(config, { create }).then((d) => (opened = d)));
  const context: CommandContext = {
    config,
    async database({ requireSchema = true } = {}) {
      const { handle } = await open(!requireSchema);
      if (requireSchema) await (schemaChecked ??= assertSchemaIsCurrent(handle.db));
      return handle.db;
    },
    runtime() {
      return (runtime ??= (async () => {
        await context.database();
        // Loaded on demand: the whole IdP (oidc-provider, Koa, views) is only needed by commands that
        // use it, and `migrate` or `--help` should not depend on every page module loading.
        const { createIdpRuntime } = await import('../runtime.ts');
        // Quiet: pino writes to stdout, which belongs to the command's output.
        return createIdpRuntime(config, { database: opened!.handle, logger: createLogger({ level: 'silent' }) });
      })());
    },
  };
  return {
    context,
    description: () => opened?.description,
    async close() {
      // The runtime first (it may hold more than the database one day), then the database, which
      // closes once however many times it is asked.
      await (await runtime?.catch(() => undefined))?.close();
      await (await database?.catch(() => undefined))?.handle.close();
    },
  };
}

interface Failure {
  exitCode: 1 | 2;
  code: string;
  message: string;
  /** Only for errors nobody expected: those are bugs, and the stack is what fixes them. */
  stack?: string;
}

// invalid authorization, invalid password, database does not exist, too many connections
const CONNECTION_PG_CODES = new Set(['28000', '28P01', '3D000', '53300']);

/** Could not connect at all: refused, no such host or socket, wrong credentials, no such database. */
function isConnectionFailure(error: unknown): boolean {
  const code = pgCode(error);
  if (code && CONNECTION_PG_CODES.has(code)) return true;
  // Socket errors carry the syscall that failed (a refused IPv4 + IPv6 pair arrives as an AggregateError).
  const syscall = (error as { syscall?: unknown } | null)?.syscall;
  return code !== undefined && /^E[A-Z]+$/.test(code) && (syscall === 'connect' || syscall === 'getaddrinfo' || error instanceof AggregateError);
}

function describeFailure(error: unknown, database: string | undefined): Failure {
  if (error instanceof UsageError) {
    const help = error.command ? `${PROGRAM} ${error.command} --help` : `${PROGRAM} --help`;
    return { exitCode: 2, code: 'usage', message: `${error.message} (see \`${help}\`)` };
  }
  if (error instanceof CliError) return { exitCode: 1, code: error.code, message: error.message };
  if (error instanceof AppError) {
    const details = Object.entries(error.details ?? {}).map(([field, code]) => `${field}: ${String(code)}`);
    return { exitCode: 1, code: error.code, message: details.length ? `${error.message} (${details.join('; ')})` : error.message };
  }
  if (error instanceof ConfigError) {
    return { exitCode: 1, code: 'config.invalid', message: `invalid configuration: ${error.problems.join('; ')}` };
  }
  if (pgCode(error) === '42P01') return { exitCode: 1, code: 'database.not_migrated', message: 'the database has no tables yet: run `npm run migrate` first' };
  if (isConnectionFailure(error)) {
    const reason = (error as Error).message || pgCode(error);
    return { exitCode: 1, code: 'database.unreachable', message: `cannot reach ${database ?? 'the database'}: ${reason}` };
  }
  if (isUniqueViolation(error)) return { exitCode: 1, code: 'database.conflict', message: `already exists: ${(error as Error).message}` };
  const unexpected = error instanceof Error ? error : new Error(String(error));
  return { exitCode: 1, code: 'internal', message: `unexpected failure: ${unexpected.message}`, stack: unexpected.stack };
}

function overview(): string {
  const width = Math.max(...[...COMMANDS.map(label), ...GLOBAL_OPTION_HELP.map(([option]) => option)].map((l) => l.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Operator commands for the esia-idp identity provider.',
    '',
    'Commands:',
    ...columns(COMMANDS.map((c) => [label(c), c.summary]), width),
    '',
    'Global options:',
    ...columns(GLOBAL_OPTION_HELP, width),
    '',
    'Database: DATABASE_URL when set; otherwise the embedded database in DATA_DIR (default ./data),',
    'reached through the running IdP’s socket while `npm start` runs. Only `migrate` changes the schema.',
    `Help for one command: ${PROGRAM} <command> --help`,
  ].join('\n');
}

function groupHelp(group: string): string {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: ${PROGRAM} ${group} <${commands.map((c) => c.name.split(' ')[1]).join('|')}> [options]`,
    '',
    'Commands:',
    ...columns(commands.map((c) => [label(c), c.summary])),
    '',
    `Help for one command: ${PROGRAM} ${group} <command> --help`,
  ].join('\n');
}

function commandHelp(command: CliCommand): string {
  return [
    `Usage: ${PROGRAM} ${command.name}${command.usage ? ` ${command.usage}` : ''} [--json]`,
    '',
    `${command.summary}.`,
    ...(command.description?.length ? ['', ...command.description] : []),
    '',
    'Options:',
    ...columns([...(command.optionHelp ?? []), ...GLOBAL_OPTION_HELP]),
  ].join('\n');
}

// The flags parseCommandArgs adds to every command (GLOBAL_OPTIONS).
const GLOBAL_OPTION_HELP: Array<[string, string]> = [
  ['--json', 'Machine-readable output: JSON on stdout, errors as one JSON line on stderr'],
  ['-h, --help', 'Show this help'],
];

function columns(rows: Array<[string, string]>, width = Math.max(...rows.map(([left]) => left.length)) + 2): string[] {
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
}

function label(command: CliCommand): string {
  return command.positionals ? `${command.name} ${command.usage}` : command.name;
}
