import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import type { IdpRuntime } from '../runtime.ts';

/**
 * What every CLI command is: a usage line, its options (node:util parseArgs), and a `run` that
 * returns its result instead of printing it, so `--json` and the human text are chosen in one place.
 */
export interface CliCommand {
  /** The words that select it: `clients add`. */
  name: string;
  summary: string;
  /** Everything after the command words in the usage line. */
  usage: string;
  /** Paragraph lines shown by `--help` under the summary. */
  description?: string[];
  /** [option, explanation] per option, shown by `--help`. */
  optionHelp?: Array<[option: string, text: string]>;
  options: ParseArgsOptionsConfig;
  /** How many positional arguments it takes (default none). */
  positionals?: { min: number; max: number; names: string };
  run(context: CommandContext, args: CommandArgs): Promise<CommandResult>;
}

export interface CommandArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export interface CommandResult {
  /** What `--json` prints (one JSON document on stdout). */
  json: unknown;
  /** What a person reads. */
  text: string;
}

/** Resources are opened on first use, so a command pays only for what it needs; the CLI closes them. */
export interface CommandContext {
  config: Config;
  /** The database, refusing to work on a schema that is not migrated unless told otherwise. */
  database(options?: { requireSchema?: boolean }): Promise<Db>;
  /** The full IdP runtime (secrets, hasher, oidc-provider's client validation) on the same database. */
  runtime(): Promise<IdpRuntime>;
}

/** Wrong invocation: exit code 2 and a hint to `--help`. */
export class UsageError extends Error {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

/** An expected failure with a message for the operator: exit code 1, no stack trace. */
export class CliError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

/** Options every command understands, wherever they appear on the line. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

export function parseCommandArgs(command: CliCommand, argv: string[]): CommandArgs & { json: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...command.options, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error), command.name);
  }
  const { json, help, ...values } = parsed.values;
  const result = { values, positionals: parsed.positionals, json: json === true, help: help === true };
  if (result.help) return result;
  const { min, max, names } = command.positionals ?? { min: 0, max: 0, names: '' };
  if (parsed.positionals.length < min) throw new UsageError(`missing ${names}`, command.name);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`, command.name);
  return result;
}

// parseArgs explains itself at length; the first sentence is what the operator needs.
function parseErrorMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${/'([^']+)'/.exec(message)?.[1] ?? message}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /'(-[^' ]+)/.exec(message)?.[1];
    return option ? (/argument missing/.test(message) ? `${option} needs a value` : `${option} does not take a value`) : message;
  }
  return message.split(/\.\s/)[0];
}

/** A required string option: present and not blank. */
export function requiredString(args: CommandArgs, option: string, command: string): string {
  const value = optionalString(args, option, command);
  if (value === undefined) throw new UsageError(`--${option} is required`, command);
  return value;
}

export function optionalString(args: CommandArgs, option: string, command: string): string | undefined {
  const value = args.values[option];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${option} needs a value`, command);
  return value;
}

export function stringList(args: CommandArgs, option: string, command: string): string[] {
  const value = args.values[option];
  if (value === undefined) return [];
  const list = (Array.isArray(value) ? value : [value]) as string[];
  if (list.some((v) => typeof v !== 'string' || v.trim() === '')) throw new UsageError(`--${option} needs a value`, command);
  return list;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], option: string, command: string): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`--${option} must be one of: ${allowed.join(', ')}`, command);
  return value as T;
}
