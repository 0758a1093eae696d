/**
 * The `nymote` command line: one table of commands, each with its options and usage.
 * Errors are one line on stderr; usage errors exit 2, others 1.
 */
import { attachConsole } from '../console/index.js';
import { sha1 } from '../native.js';
import { UsageError, dataDirLayout } from '../runtime/index.js';
import { VERSION } from '../version.js';
import { dataOption, expectPositionals, parse, type OptionSpec, type Parsed } from './args.js';
import { PAIR_OPTIONS, PAIR_USAGE, pairCommand } from './pair.js';
import { RELEASE_KEY_OPTIONS, RELEASE_KEY_USAGE, releaseKeyCommand } from './release-key.js';
import { RELEASE_OPTIONS, RELEASE_USAGE, releaseCommand } from './release.js';
import { OWNER_OPTIONS, OWNER_USAGE, ownerCommand } from './owner.js';
import { RUN_OPTIONS, runCommand, runUsage } from './run.js';
import { REMOTE_OPTIONS, REMOTE_USAGE, SYNC_OPTIONS, SYNC_USAGE, remoteCommand, syncCommand } from './remote.js';
import { STORE_OPTIONS, STORE_USAGE, storeCommand } from './store.js';
import { MAIL_OPTIONS, MAIL_USAGE, mailCommand } from './mail.js';
import { TOKEN_OPTIONS, TOKEN_USAGE, tokenCommand } from './token.js';
import { USER_OPTIONS, USER_USAGE, userCommand } from './user.js';
import { ZONE_OPTIONS, ZONE_USAGE, zoneCommand } from './zone.js';

interface CliCommand {
  summary: string;
  usage: () => string;
  options: OptionSpec;
  run(parsed: Parsed): Promise<number>;
}

const COMMANDS: Record<string, CliCommand> = {
  run: {
    summary: 'run the firmware (host mode: services on 127.0.0.1)',
    usage: runUsage,
    options: RUN_OPTIONS,
    run: runCommand,
  },
  user: {
    summary: 'add, list, change or remove users',
    usage: () => USER_USAGE,
    options: USER_OPTIONS,
    run: userCommand,
  },
  token: {
    summary: 'add, list or revoke bearer tokens for apps',
    usage: () => TOKEN_USAGE,
    options: TOKEN_OPTIONS,
    run: tokenCommand,
  },
  store: {
    summary: 'get, set, remove, list and log values in a user\'s store',
    usage: () => STORE_USAGE,
    options: STORE_OPTIONS,
    run: storeCommand,
  },
  mail: {
    summary: "a user's mail history, and a mailbox restored as it was",
    usage: () => MAIL_USAGE,
    options: MAIL_OPTIONS,
    run: mailCommand,
  },
  remote: {
    summary: "add, list or remove a user's remotes (another nymote, any git server)",
    usage: () => REMOTE_USAGE,
    options: REMOTE_OPTIONS,
    run: remoteCommand,
  },
  sync: {
    summary: 'fetch, merge and push a branch with a remote',
    usage: () => SYNC_USAGE,
    options: SYNC_OPTIONS,
    run: syncCommand,
  },
  zone: {
    summary: "show the DNS zone, or set the owner's records",
    usage: () => ZONE_USAGE,
    options: ZONE_OPTIONS,
    run: zoneCommand,
  },
  owner: {
    summary: "make the owner's key and CA, show or revoke the owner's devices",
    usage: () => OWNER_USAGE,
    options: OWNER_OPTIONS,
    run: ownerCommand,
  },
  pair: {
    summary: "pair a device with the owner key held here (the device waits with 'pair' on its console)",
    usage: () => PAIR_USAGE,
    options: PAIR_OPTIONS,
    run: pairCommand,
  },
  'release-key': {
    summary: 'make or show the key that signs firmware releases',
    usage: () => RELEASE_KEY_USAGE,
    options: RELEASE_KEY_OPTIONS,
    run: releaseKeyCommand,
  },
  release: {
    summary: 'sign apps into a release commit that devices take by git push',
    usage: () => RELEASE_USAGE,
    options: RELEASE_OPTIONS,
    run: releaseCommand,
  },
  console: {
    summary: 'attach to the console of a running instance',
    usage: () => 'usage: nymote console [--data DIR]',
    options: {},
    run: async ({ values, positionals }) => {
      expectPositionals('console', positionals, []);
      await attachConsole(dataDirLayout(dataOption(values)).consoleSocket);
      return 0;
    },
  },
  version: {
    summary: 'print the version',
    usage: () => 'usage: nymote version',
    options: {},
    run: async ({ positionals }) => {
      expectPositionals('version', positionals, []);
      process.stdout.write(`nymote ${VERSION} (node ${process.version}, ${process.arch}, sha1 ${sha1.implementation})\n`);
      return 0;
    },
  },
};

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'usage: nymote COMMAND [--data DIR] [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "Every command takes --data DIR (env NYMOTE_DATA) and --help. 'nymote COMMAND --help' for more.",
  ].join('\n');
}

/** Runs the CLI; returns the exit status (errors are thrown, and printed by main.ts). */
export async function cli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    // Asked for help: stdout, success. No command at all: a usage error.
    (name === undefined ? process.stderr : process.stdout).write(mainUsage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') return COMMANDS.version!.run({ values: {}, positionals: [] });
  const command = COMMANDS[name];
  if (command === undefined) throw new UsageError(`unknown command '${name}' (see 'nymote --help')`);
  const parsed = parse(name, rest, command.options);
  if (parsed.values.help === true) {
    process.stdout.write(command.usage() + '\n');
    return 0;
  }
  return command.run(parsed);
}
