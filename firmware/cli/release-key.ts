/** `nymote release-key init|show`: the key that signs firmware releases, on the laptop. */
import { NymoteError, UsageError, prepareDataDir } from '../runtime/index.js';
import { ReleaseKey, formatTrustedKeys } from '../ota/index.js';
import { dataOption, expectPositionals, type OptionSpec, type Parsed } from './args.js';

export const RELEASE_KEY_OPTIONS: OptionSpec = {};

export const RELEASE_KEY_USAGE = [
  'usage: nymote release-key init    make the key that signs releases (secrets/release/release.key)',
  '       nymote release-key show    its id, and the release-keys.json that images are built with',
  '',
  'Devices take only releases signed by a key their image trusts; keep a backup of this one.',
].join('\n');

export async function releaseKeyCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  const { secrets } = prepareDataDir(dataOption(values));
  if (action === 'init') {
    expectPositionals('release-key init', rest, []);
    const key = ReleaseKey.init(secrets);
    process.stdout.write(`release key ${key.id} in ${ReleaseKey.file(secrets)}: back it up\n${formatTrustedKeys([key.publicKey])}`);
    return 0;
  }
  if (action === 'show') {
    expectPositionals('release-key show', rest, []);
    const key = ReleaseKey.load(secrets);
    if (key === undefined) throw new NymoteError('ENOKEY', "release-key show: no release key here; 'nymote release-key init' makes one");
    process.stdout.write(`release key ${key.id}\n${formatTrustedKeys([key.publicKey])}`);
    return 0;
  }
  throw new UsageError(action === undefined ? 'release-key: missing action (init, show)' : `release-key: unknown action '${action}' (init, show)`);
}
