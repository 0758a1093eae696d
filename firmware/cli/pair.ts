/**
 * `nymote pair HOST[:PORT]`: the owner's side of pairing, run where `nymote owner init` ran.
 * The device must be waiting (`pair` on its console). Both show a code; once the person said
 * yes on both, the device gets its certificate, and it is recorded in the owner's store
 * (signpost/devices/, which syncs to the other devices) with where it was reached.
 */
import path from 'node:path';
import readline from 'node:readline/promises';
import { UserDirectory } from '../accounts/index.js';
import { NymoteError, PORTS, UsageError, parsePort, prepareDataDir } from '../runtime/index.js';
import { DeviceKeys, EndpointBook, OwnerCa, OwnerKey, OwnerRecords, Trust, deviceCertificatePath, formatDeviceCertificate, pairWithDevice } from '../signpost/index.js';
import { Store } from '../store/index.js';
import { dataOption, expectPositionals, stringOption, type OptionSpec, type Parsed } from './args.js';

export const PAIR_OPTIONS: OptionSpec = {
  days: { type: 'string' },
};

export const PAIR_USAGE = [
  'usage: nymote pair HOST[:PORT] [--days N]',
  '',
  `Pair the device at HOST (channel port, default ${PORTS.channel.device}) with the owner key held here.`,
  "Type 'pair' on the device's console first. Both sides show a six-digit code: answer y on",
  'both only if the codes are the same. The device gets a certificate from the owner key and a',
  "TLS certificate from the owner's CA; the owner's store records it. --days: how long the",
  'certificates last (default 365; the device renews them through this computer before they end).',
].join('\n');

export async function pairCommand({ values, positionals }: Parsed): Promise<number> {
  const [target] = expectPositionals('pair', positionals, ['HOST[:PORT]']) as [string];
  const { host, port } = parseTarget(target);
  const daysText = stringOption(values, 'days');
  const days = daysText === undefined ? undefined : Number(daysText);
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new UsageError(`pair: invalid --days '${daysText}' (1-3650)`);
  const data = prepareDataDir(dataOption(values));
  const owner = OwnerKey.load(data.secrets);
  const ca = OwnerCa.load(data.secrets);
  if (owner === undefined || ca === undefined) throw new NymoteError('ENOOWNER', "pair: the owner key is not here; run 'nymote owner init' first (on your laptop)");
  const user = new UserDirectory(data.secrets).owner();
  if (user === undefined) throw new NymoteError('ENOUSER', "pair: no owner's store here to record the device in; add a user with 'nymote user add NAME'");
  const store = Store.open(path.join(data.store, `${user}.git`));
  const prompt = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
  try {
    const main = store.branch('main');
    const own = Trust.load(data.secrets)?.certificate;
    const devices = new OwnerRecords(main, owner.publicKey).devices();
    if (own !== undefined && !devices.some((d) => d.id === own.id)) devices.push(own);
    process.stdout.write(`connecting to ${host}:${port}…\n`);
    const certificate = await pairWithDevice({
      host,
      port,
      owner,
      ca,
      keys: DeviceKeys.loadOrCreate(data.secrets),
      devices,
      ...(days === undefined ? {} : { days }),
      person: {
        say: (line) => process.stdout.write(`${line}\n`),
        confirm: async (question) => /^\s*y(es)?\s*$/i.test(await prompt.question(question)),
      },
    });
    // The endpoint first: a running instance acts on the store's new commit and looks it up then.
    new EndpointBook(data.config).set(certificate.id, { address: host, port });
    const commit = await main.set(deviceCertificatePath(certificate.id), formatDeviceCertificate(certificate), {
      message: `signpost: pair device ${certificate.device} (${certificate.id})`,
    });
    process.stdout.write(`paired: ${certificate.device} (${certificate.id}), certified until ${certificate.notAfter}; recorded in ${user}'s store (${commit.slice(0, 12)})\n`);
    return 0;
  } finally {
    prompt.close();
    await store.close();
  }
}

function parseTarget(target: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(target);
  if (match === null) throw new UsageError(`pair: invalid address '${target.slice(0, 100)}' (HOST or HOST:PORT, [IPv6]:PORT)`);
  const port = match[3] === undefined ? PORTS.channel.device : parsePort(match[3], 'port');
  if (port === 0) throw new UsageError('pair: port 0 is not a device');
  return { host: match[1] ?? match[2]!, port };
}
