/**
 * First-boot setup and the network settings, on the console: `setup` asks for the owner (the
 * first user), hostname, time zone, network and an optional console password; `net` shows
 * the interfaces and changes the network settings. Every answer is checked where it is given,
 * and nothing is written until all of them are in: a setup cut short changes nothing.
 */
import os from 'node:os';
import { passwordProblem, userNameProblem, type UserDirectory } from '../accounts/index.js';
import { NymoteError, formatNetwork, hostnameProblem, parseNetwork, timezoneProblem, type DeviceSettings, type NetworkSettings } from '../runtime/index.js';
import type { ConsolePassword } from './password.js';
import type { ConsoleIO, Shell } from './shell.js';

export interface SetupContext {
  users: UserDirectory;
  settings: DeviceSettings;
  consolePassword: ConsolePassword;
  /** Makes a user's store (the owner gets one like every user). */
  makeStore(user: string): Promise<void>;
  /** Called after the settings changed, to apply them (time zone, network). */
  applied(): void;
}

/** Attempts at one question before setup gives up on it. */
const ATTEMPTS = 3;

/** Asks until `problem` accepts the answer; an empty answer takes `fallback` when there is one. */
async function askValid(io: ConsoleIO, question: string, problem: (answer: string) => string | undefined, fallback?: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const answer = (await io.ask(fallback === undefined ? `${question}: ` : `${question} [${fallback}]: `)).trim();
    const value = answer === '' && fallback !== undefined ? fallback : answer;
    const why = problem(value);
    if (why === undefined) return value;
    if (attempt === ATTEMPTS) throw new NymoteError('EINVAL', why);
    io.line(why);
  }
}

/** A new password, typed twice without echo; empty is allowed only when `optional`. */
export async function askNewPassword(io: ConsoleIO, what: string, optional = false): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const first = await io.ask(`${what}${optional ? ' (empty for none)' : ''}: `, { secret: true });
    if (first === '' && optional) return undefined;
    const why = passwordProblem(first) ?? ((await io.ask(`${what} again: `, { secret: true })) === first ? undefined : 'the two passwords differ');
    if (why === undefined) return first;
    if (attempt === ATTEMPTS) throw new NymoteError('EINVAL', why);
    io.line(why);
  }
}

export function addSetupCommands(shell: Shell, context: SetupContext): void {
  shell.add({
    name: 'setup',
    summary: 'set up this device: owner, hostname, time zone, network, console password',
    run: (_args, io) => setup(io, context),
  });
  shell.add({
    name: 'net',
    summary: 'show the network, or set it: net dhcp | net static ADDRESS/PREFIX [GATEWAY] [dns SERVER...]',
    usage: 'net [dhcp | static ADDRESS/PREFIX [GATEWAY] [dns SERVER...]]',
    completions: ['dhcp', 'static'],
    run: (args, io) => {
      if (args.length > 0) {
        context.settings.setNetwork(parseNetwork(args));
        context.applied();
      }
      showNetwork(io, context.settings.network());
    },
  });
}

async function setup(io: ConsoleIO, context: SetupContext): Promise<void> {
  const { users, settings } = context;
  const existing = users.list()[0]?.name;
  let owner: { name: string; password: string } | undefined;
  if (existing === undefined) {
    const name = await askValid(io, 'owner name', (n) => userNameProblem(n));
    owner = { name, password: (await askNewPassword(io, `password for ${name}`))! };
  } else {
    io.line(`owner: ${existing}`);
  }
  const hostname = await askValid(io, 'hostname', hostnameProblem, settings.hostname());
  const timezone = await askValid(io, 'time zone', timezoneProblem, settings.timezone());
  const network = parseNetworkAnswer(await askValid(io, 'network (dhcp, or static ADDRESS/PREFIX [GATEWAY] [dns SERVER...])', networkProblem, formatNetwork(settings.network())));
  const consolePassword = await askNewPassword(io, 'console password', true);

  // All answers are in: now write, the owner first (the one step that can still be refused).
  if (owner !== undefined) {
    await users.add(owner.name, owner.password);
    await context.makeStore(owner.name);
  }
  settings.setTimezone(timezone);
  settings.setNetwork(network);
  await context.consolePassword.set(consolePassword);
  // Last: a hostname on disk is what marks setup as done.
  settings.setHostname(hostname);
  context.applied();
  io.line(`set up: owner ${owner?.name ?? existing}, hostname ${hostname}, time zone ${timezone}, network ${formatNetwork(network)}, console ${consolePassword === undefined ? 'open' : 'locked by a password'}`);
}

function parseNetworkAnswer(answer: string): NetworkSettings {
  return parseNetwork(answer.split(/\s+/).filter((w) => w !== ''));
}

function networkProblem(answer: string): string | undefined {
  try {
    parseNetworkAnswer(answer);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function showNetwork(io: ConsoleIO, settings: NetworkSettings): void {
  io.line(`settings: ${formatNetwork(settings)}`);
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' || !address.internal) io.line(`  ${name.padEnd(8)} ${address.family.padEnd(4)} ${address.cidr ?? address.address}`);
    }
  }
}
