/** `nymote release`: signs apps into a release commit of out/release.git (make release runs it). */
import path from 'node:path';
import { NymoteError, UsageError, prepareDataDir } from '../runtime/index.js';
import { ARCHES, ReleaseKey, buildRelease, RELEASE_BRANCH, type Arch } from '../ota/index.js';
import { Store } from '../store/index.js';
import { dataOption, stringOption, type OptionSpec, type Parsed } from './args.js';

export const RELEASE_OPTIONS: OptionSpec = {
  repo: { type: 'string' },
  version: { type: 'string' },
  counter: { type: 'string' },
  boards: { type: 'string' },
  'valid-days': { type: 'string' },
  'add-key': { type: 'string', multiple: true },
  os: { type: 'string', multiple: true },
};

export const RELEASE_USAGE = [
  'usage: nymote release --repo GITDIR --version X.Y.Z --boards B1,B2 ARCH=APPDIR...',
  '         [--counter N] [--valid-days 180] [--add-key KEY]... [--os BOARD=OSDIR]...',
  '',
  `Signs each arch's app (${ARCHES.join(', ')}; a directory as an app slot holds it) with the release`,
  `key (nymote release-key init) into one commit on branch ${RELEASE_BRANCH} of GITDIR (made if missing).`,
  'The counter is one above the last release there unless given; devices take only a higher one.',
  '--add-key: a new release key (base64url) that devices trust once they run this release.',
  '--os: a full-system update for BOARD: the root file system in OSDIR (out/BOARD/os of make image),',
  '      written to the inactive OS slot and tried once after a reboot.',
  `Then: git --git-dir GITDIR push https://owner@<device>/git/firmware.git ${RELEASE_BRANCH}`,
].join('\n');

const wholeNumber = (text: string | undefined, name: string, max: number): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > max) throw new UsageError(`release: --${name} must be a whole number from 1 to ${max}`);
  return Number(text);
};

export async function releaseCommand({ values, positionals }: Parsed): Promise<number> {
  const repo = stringOption(values, 'repo');
  const version = stringOption(values, 'version');
  const boards = stringOption(values, 'boards')?.split(',').filter(Boolean) ?? [];
  if (repo === undefined || version === undefined || boards.length === 0) throw new UsageError('release: --repo, --version and --boards are needed');
  if (positionals.length === 0) throw new UsageError('release: name at least one ARCH=APPDIR');
  const apps = new Map<Arch, string>();
  for (const word of positionals) {
    const [arch, dir] = word.split(/=(.*)/s) as [string, string | undefined];
    if (!ARCHES.includes(arch as Arch) || !dir) throw new UsageError(`release: '${word}' is not ARCH=APPDIR with ARCH one of ${ARCHES.join(', ')}`);
    apps.set(arch as Arch, path.resolve(dir));
  }
  const os = new Map<string, string>();
  for (const word of (values.os as string[] | undefined) ?? []) {
    const [board, dir] = word.split(/=(.*)/s) as [string, string | undefined];
    if (!board || !dir || !boards.includes(board)) throw new UsageError(`release: --os '${word}' is not BOARD=OSDIR with BOARD one of --boards`);
    os.set(board, path.resolve(dir));
  }
  const { secrets } = prepareDataDir(dataOption(values));
  const key = ReleaseKey.load(secrets);
  if (key === undefined) throw new NymoteError('ENOKEY', "release: no release key here; 'nymote release-key init' makes one");
  const addKeys = ((values['add-key'] as string[] | undefined) ?? []).map((text) => {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length !== 32 || raw.toString('base64url') !== text) throw new UsageError(`release: --add-key '${text.slice(0, 60)}' is not a base64url Ed25519 public key`);
    return raw;
  });
  const store = Store.open(path.resolve(repo));
  try {
    const counter = wholeNumber(stringOption(values, 'counter'), 'counter', 999_999_999);
    const { commit, manifest } = await buildRelease(store, {
      key,
      apps,
      version,
      boards,
      validDays: wholeNumber(stringOption(values, 'valid-days'), 'valid-days', 3650) ?? 180,
      ...(counter === undefined ? {} : { counter }),
      ...(addKeys.length === 0 ? {} : { addKeys }),
      ...(os.size === 0 ? {} : { os }),
    });
    const megabytes = (manifest.totalBytes / 1024 / 1024).toFixed(1);
    process.stdout.write(`release ${manifest.version} (counter ${manifest.counter}) for ${manifest.arches.join(', ')} on ${manifest.boards.join(', ')}${os.size === 0 ? '' : ` with the OS of ${[...os.keys()].join(', ')}`}: ${manifest.files.length} files, ${megabytes} MiB, expires ${manifest.expires}\n${commit} on ${RELEASE_BRANCH} of ${repo}, signed by release key ${key.id}\n`);
  } finally {
    await store.close();
  }
  return 0;
}
