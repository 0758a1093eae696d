/** `nymote remote add|list|remove` and `nymote sync`: a user's store and its remotes. */
import path from 'node:path';
import { UserDirectory } from '../accounts/index.js';
import { Remotes, syncRemote, type SyncResult } from '../git/index.js';
import { UsageError, prepareDataDir } from '../runtime/index.js';
import { Store } from '../store/index.js';
import { dataOption, expectPositionals, pickUser, stringOption, type OptionSpec, type Parsed } from './args.js';
import { readSecretFromStdin } from './secret-input.js';

export const REMOTE_OPTIONS: OptionSpec = {
  user: { type: 'string', short: 'u' },
  every: { type: 'string' },
  username: { type: 'string' },
  'password-stdin': { type: 'boolean' },
};

export const REMOTE_USAGE = [
  'usage: nymote remote add NAME URL [--every SECONDS] [--username U --password-stdin]',
  '       nymote remote list',
  '       nymote remote remove NAME',
  '',
  'URL: http(s)://[user:password@]host/…/repo.git — another nymote (/git/<user>.git) or any git',
  'smart-HTTP server. Credentials are kept in secrets/, never in the repository. --every: seconds',
  'between automatic syncs while nymote runs (default 300; 0 = only `nymote sync`).',
  'Options: --user U (needed when there is more than one user), --data DIR.',
].join('\n');

export const SYNC_OPTIONS: OptionSpec = {
  user: { type: 'string', short: 'u' },
  branch: { type: 'string', short: 'b' },
};

export const SYNC_USAGE = 'usage: nymote sync NAME [--branch B] [--user U]\n\nFetch the branch (default main) from remote NAME, merge it with typed merges, push the result.';

function openUserStore(values: Parsed['values'], command: string) {
  const data = prepareDataDir(dataOption(values));
  const user = pickUser(command, new UserDirectory(data.secrets), stringOption(values, 'user'));
  const store = Store.open(path.join(data.store, `${user}.git`));
  return { store, remotes: new Remotes(store.gitDir, data.secrets, user) };
}

export async function remoteCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  if (!['add', 'list', 'remove'].includes(action ?? '')) {
    throw new UsageError(action === undefined ? 'remote: missing action (add, list, remove)' : `remote: unknown action '${action}' (add, list, remove)`);
  }
  const { store, remotes } = openUserStore(values, 'remote');
  try {
    if (action === 'list') {
      expectPositionals('remote list', rest, []);
      for (const r of await remotes.list()) process.stdout.write(`${r.name}\t${r.url}\tevery ${r.syncEverySeconds}s\n`);
    } else if (action === 'remove') {
      const [name] = expectPositionals('remote remove', rest, ['NAME']) as [string];
      await remotes.remove(name);
      process.stdout.write(`removed remote ${name}\n`);
    } else {
      const [name, url] = expectPositionals('remote add', rest, ['NAME', 'URL']) as [string, string];
      const everyText = stringOption(values, 'every');
      const every = everyText === undefined ? undefined : Number(everyText);
      if (every !== undefined && (!Number.isInteger(every) || every < 0)) throw new UsageError(`remote add: invalid --every '${everyText}'`);
      const username = stringOption(values, 'username');
      if ((username === undefined) !== (values['password-stdin'] !== true)) throw new UsageError('remote add: --username and --password-stdin go together');
      const credentials = username === undefined ? undefined : { username, password: await readSecretFromStdin() };
      const remote = await remotes.add(name, url, { ...(credentials === undefined ? {} : { credentials }), ...(every === undefined ? {} : { syncEverySeconds: every }) });
      process.stdout.write(`added remote ${remote.name} ${remote.url}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

export async function syncCommand({ values, positionals }: Parsed): Promise<number> {
  const [name] = expectPositionals('sync', positionals, ['NAME']) as [string];
  const { store, remotes } = openUserStore(values, 'sync');
  try {
    const result = await syncRemote(store, remotes, name, stringOption(values, 'branch') ?? 'main');
    process.stdout.write(`${describeSync(result)}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

export function describeSync(result: SyncResult): string {
  const conflicts = result.conflicts.length > 0 ? `, ${result.conflicts.length} conflicts kept under conflicts/` : '';
  return `synced ${result.branch} with ${result.remote}: ${result.merge}${conflicts}${result.pushed ? ', pushed' : ''}`;
}
