/** Command-line parsing on node:util parseArgs, with errors as one UsageError line. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { UserDirectory } from '../accounts/index.js';
import { NymoteError, UsageError, dataDirPath, type Mode } from '../runtime/index.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type ParsedValues = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: ParsedValues;
  positionals: string[];
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionSpec = {
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export function parse(command: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedValues, positionals };
  } catch (err) {
    throw new UsageError(`${command}: ${usageMessage(err)} (see 'nymote ${command} --help')`);
  }
}

function usageMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const option = /'(-[^']*)'/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option === undefined ? 'option needs a value' : `option ${option.split(' ')[0]} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'unexpected argument';
    default:
      return e.message.split('\n')[0] ?? 'bad arguments';
  }
}

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function modeOption(values: ParsedValues): Mode {
  const mode = stringOption(values, 'mode') ?? process.env.NYMOTE_MODE ?? 'host';
  if (mode !== 'host' && mode !== 'device') throw new UsageError(`invalid mode '${mode}': expected host or device`);
  return mode;
}

export function dataOption(values: ParsedValues): string {
  return dataDirPath(stringOption(values, 'data'), modeOption(values));
}

export function expectPositionals(command: string, positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`${command}: missing ${names.slice(positionals.length).join(' ')}`);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`${command}: unexpected argument '${positionals[names.length]}'`);
  }
  return positionals;
}

/** The user a command acts for: --user, or the only user there is. */
export function pickUser(command: string, users: UserDirectory, requested: string | undefined): string {
  const names = users.list().map((u) => u.name);
  if (requested !== undefined) {
    if (!names.includes(requested)) throw new NymoteError('ENOUSER', `no user '${requested}'`);
    return requested;
  }
  if (names.length === 1) return names[0]!;
  throw new UsageError(names.length === 0 ? `${command}: no users yet; add one with 'nymote user add NAME'` : `${command}: several users; name one with --user`);
}
