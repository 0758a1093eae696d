/** `nymote zone show|set`: the owner's DNS zone, as served and as kept in the store. */
import fs from 'node:fs';
import path from 'node:path';

import { UserDirectory } from '../accounts/index.js';
import { davDiscovery } from '../http/dav/index.js';
import { DeviceSettings, NymoteError, UsageError, defaultListenAddress, parsePort, prepareDataDir, resolvePorts } from '../runtime/index.js';
import { ZONE_PATH, ZoneKey, buildZone, formatTransferKey, loadOrCreateTransferKey, publishedAddresses, showZone, transferKeyFile, zoneKeyFile, type ZoneInputs } from '../signpost/index.js';
import { Store } from '../store/index.js';
import { dataOption, expectPositionals, modeOption, stringOption, type OptionSpec, type Parsed } from './args.js';

export const ZONE_OPTIONS: OptionSpec = {
  mode: { type: 'string' },
  listen: { type: 'string' },
  'port-base': { type: 'string' },
};

export const ZONE_USAGE = [
  'usage: nymote zone show            the zone as served: the owner\'s records and the device\'s own',
  '       nymote zone set FILE|-      replace the owner\'s records (a master file; $ORIGIN names the zone)',
  '       nymote zone transfer-key    the TSIG key for zone transfers (AXFR), as dig -y and kdig -y take it;',
  '                                   give it only to your own devices',
  '',
  'The owner\'s records live in the owner\'s store at signpost/zone; a running instance serves a',
  'change within seconds. show takes the flags `run` was given (--mode, --listen, --port-base) so',
  'that the addresses and SRV ports it prints are the ones served.',
].join('\n');

/** A zone file is a few records; anything near this is a mistake, not a zone. */
const MAX_ZONE_BYTES = 1 << 20;

export async function zoneCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  if (action !== 'show' && action !== 'set' && action !== 'transfer-key') throw new UsageError(action === undefined ? 'zone: missing show, set or transfer-key' : `zone: unknown action '${action}'`);
  const data = prepareDataDir(dataOption(values));
  if (action === 'transfer-key') {
    expectPositionals('zone transfer-key', rest, []);
    process.stdout.write(`${formatTransferKey(loadOrCreateTransferKey(transferKeyFile(data.secrets)))}\n`);
    return 0;
  }
  const owner = new UserDirectory(data.secrets).owner();
  if (owner === undefined) throw new NymoteError('ENOUSER', "zone: no owner yet; add a user with 'nymote user add NAME'");
  const store = Store.open(path.join(data.store, `${owner}.git`));
  try {
    const main = store.branch('main');
    const mode = modeOption(values);
    const listen = stringOption(values, 'listen') ?? defaultListenAddress(mode);
    const baseText = stringOption(values, 'port-base');
    const ports = resolvePorts(mode, baseText === undefined ? 0 : parsePort(baseText, '--port-base'), {});
    const inputs = (text: string | undefined): ZoneInputs => ({
      hostname: new DeviceSettings(data.config).hostname(),
      text,
      addresses: publishedAddresses(listen),
      services: davDiscovery(ports),
      key: ZoneKey.loadOrCreate(zoneKeyFile(data.secrets)),
      serial: Math.floor(Date.now() / 1000),
    });
    if (action === 'show') {
      expectPositionals('zone show', rest, []);
      process.stdout.write(showZone(inputs(main.get(ZONE_PATH)?.toString('utf8'))));
      return 0;
    }
    const [file] = expectPositionals('zone set', rest, ['FILE']) as [string];
    const text = readZoneText(file);
    // Checked whole before anything is written: a zone that does not build is never stored.
    const zone = buildZone(inputs(text));
    const commit = await main.set(ZONE_PATH, text, { message: `zone: set ${zone.origin}` });
    process.stdout.write(`zone ${zone.origin} stored (${commit})\n`);
    return 0;
  } finally {
    await store.close();
  }
}

function readZoneText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
  } catch (error) {
    throw new NymoteError('ENOENT', `zone set: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (bytes.length > MAX_ZONE_BYTES) throw new NymoteError('ETOOBIG', `zone set: ${file} is over ${MAX_ZONE_BYTES} bytes`);
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) throw new NymoteError('EINVAL', `zone set: ${file} is not UTF-8 text`);
  return text;
}
