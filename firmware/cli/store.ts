/** `nymote store get|set|rm|ls|log`: scriptable access to a user's versioned store. */
import path from 'node:path';
import { UserDirectory } from '../accounts/index.js';
import { NymoteError, UsageError, prepareDataDir } from '../runtime/index.js';
import { MAX_VALUE_BYTES, Store, type Branch } from '../store/index.js';
import { dataOption, expectPositionals, pickUser, stringOption, type OptionSpec, type Parsed } from './args.js';

export const STORE_OPTIONS: OptionSpec = {
  user: { type: 'string', short: 'u' },
  branch: { type: 'string', short: 'b' },
  limit: { type: 'string', short: 'n' },
};

export const STORE_USAGE = [
  'usage: nymote store get PATH            print the value at PATH',
  '       nymote store set PATH [VALUE]    set PATH to VALUE (or standard input); prints the commit',
  '       nymote store rm PATH             remove PATH (a file or a directory)',
  '       nymote store ls [PATH]           list a directory (directories end in /)',
  '       nymote store log [PATH] [-n N]   commits that changed PATH, newest first',
  '',
  'Options: --user U (needed when there is more than one user), --branch B (default main), --data DIR.',
].join('\n');

export async function storeCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  checkStoreAction(action);
  const data = prepareDataDir(dataOption(values));
  const user = pickUser('store', new UserDirectory(data.secrets), stringOption(values, 'user'));
  const store = Store.open(path.join(data.store, `${user}.git`));
  try {
    await storeAction(store.branch(stringOption(values, 'branch') ?? 'main'), action, rest, values, {
      write: (chunk) => void process.stdout.write(chunk),
      readValue: readValueFromStdin,
    });
    return 0;
  } finally {
    await store.close();
  }
}

/** Where a store action prints, and where `set` without VALUE reads the value from. */
export interface StoreActionIO {
  write(chunk: string | Uint8Array): void;
  readValue(): Promise<Uint8Array | string>;
}

/** One `store` action on a branch: shared by the command line and the console. */
export async function storeAction(branch: Branch, action: string | undefined, rest: string[], values: Parsed['values'], io: StoreActionIO): Promise<void> {
  switch (action) {
    case 'get': {
      const [p] = expectPositionals('store get', rest, ['PATH']) as [string];
      const value = branch.get(p);
      if (value === undefined) throw new NymoteError('ENOTFOUND', `no value at ${p}`);
      io.write(value);
      return;
    }
    case 'set': {
      if (rest.length === 0) throw new UsageError('store set: missing PATH');
      const [p, value] = rest.length === 1 ? [rest[0]!, await io.readValue()] : (expectPositionals('store set', rest, ['PATH', 'VALUE']) as [string, string]);
      io.write(`${await branch.set(p, value)}\n`);
      return;
    }
    case 'rm': {
      const [p] = expectPositionals('store rm', rest, ['PATH']) as [string];
      const before = branch.head();
      const after = await branch.remove(p);
      if (after === before) throw new NymoteError('ENOTFOUND', `nothing at ${p}`);
      io.write(`${after}\n`);
      return;
    }
    case 'ls': {
      if (rest.length > 1) throw new UsageError(`store ls: unexpected argument '${rest[1]}'`);
      for (const entry of branch.list(rest[0] ?? '')) io.write(`${entry.name}${entry.kind === 'dir' ? '/' : ''}\n`);
      return;
    }
    case 'log': {
      if (rest.length > 1) throw new UsageError(`store log: unexpected argument '${rest[1]}'`);
      const limitText = stringOption(values, 'limit');
      const limit = limitText === undefined ? undefined : Number(limitText);
      if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) throw new UsageError(`store log: invalid limit '${limitText}'`);
      for (const entry of branch.history(rest[0], limit === undefined ? {} : { limit })) {
        const date = new Date(entry.author.timestamp * 1000).toISOString();
        io.write(`${entry.commit.slice(0, 12)} ${date} ${entry.message.split('\n')[0]}\n`);
      }
      return;
    }
    default:
      checkStoreAction(action);
  }
}

const STORE_ACTIONS = ['get', 'set', 'rm', 'ls', 'log'];

function checkStoreAction(action: string | undefined): void {
  if (action === undefined) throw new UsageError('store: missing action (get, set, rm, ls, log)');
  if (!STORE_ACTIONS.includes(action)) throw new UsageError(`store: unknown action '${action}' (get, set, rm, ls, log)`);
}

async function readValueFromStdin(): Promise<Buffer> {
  if (process.stdin.isTTY === true) throw new UsageError('store set: give VALUE or pipe it on standard input');
  return Buffer.from(await readStdin());
}

/** All of standard input (values may be binary), bounded by the store's value limit. */
async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_VALUE_BYTES) throw new NymoteError('ETOOBIG', `value on stdin is larger than ${MAX_VALUE_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
