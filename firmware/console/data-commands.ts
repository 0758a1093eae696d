/**
 * `user`, `store` and `sync` on the console: the same actions as `nymote user`, `nymote store`
 * and `nymote sync`, on the running firmware's own stores (sync with a paired device runs here,
 * where the Signpost channel is). Passwords are asked for twice, never echoed, never
 * taken as arguments (they would sit in the history).
 */
import { parse, pickUser, stringOption } from '../cli/args.js';
import { STORE_OPTIONS, storeAction } from '../cli/store.js';
import { SYNC_OPTIONS, describeSync } from '../cli/remote.js';
import type { UserDirectory } from '../accounts/index.js';
import { NymoteError, UsageError } from '../runtime/index.js';
import { Remotes, syncRemote, type RemoteTransport } from '../git/index.js';
import type { UserStores } from '../store/index.js';
import { askNewPassword } from './setup.js';
import type { Shell } from './shell.js';

export interface DataCommandContext {
  users: UserDirectory;
  stores: UserStores;
  secretsDir: string;
  /** Reaches remotes that are not plain HTTP(S): signpost://<device>. */
  transport?: RemoteTransport;
}

export function addDataCommands(shell: Shell, { users, stores, secretsDir, transport }: DataCommandContext): void {
  shell.add({
    name: 'user',
    summary: 'add, list, change the password of, or remove users',
    usage: 'user add NAME | user passwd NAME | user list | user remove NAME',
    completions: ['add', 'passwd', 'list', 'remove'],
    run: async ([action, name, ...extra], io) => {
      if (extra.length > 0) throw new UsageError(`user: unexpected argument '${extra[0]}'`);
      const needName = () => {
        if (name === undefined) throw new UsageError(`user ${action}: missing NAME`);
        return name;
      };
      switch (action) {
        case 'list':
          for (const user of users.list()) io.line(`${user.name}  ${user.created}`);
          return;
        case 'add': {
          const user = needName();
          if (users.exists(user)) throw new NymoteError('EEXIST', `user ${user} exists`);
          await users.add(user, (await askNewPassword(io, `password for ${user}`))!);
          stores.ensure(user);
          io.line(`added user ${user}`);
          return;
        }
        case 'passwd': {
          const user = needName();
          if (!users.exists(user)) throw new NymoteError('ENOUSER', `no user '${user}'`);
          await users.setPassword(user, (await askNewPassword(io, `new password for ${user}`))!);
          io.line(`changed the password of ${user}`);
          return;
        }
        case 'remove': {
          const user = needName();
          users.remove(user);
          io.line(`removed user ${user} (their store stays)`);
          return;
        }
        default:
          throw new UsageError(`user: ${action === undefined ? 'missing action' : `unknown action '${action}'`} (add, passwd, list, remove)`);
      }
    },
  });
  shell.add({
    name: 'store',
    summary: "get, set, remove, list and log values in a user's store",
    usage: 'store get|set|rm|ls|log PATH [VALUE] [--user U] [--branch B] [-n N]',
    completions: ['get', 'set', 'rm', 'ls', 'log'],
    run: async (args, io) => {
      const { values, positionals } = parse('store', args, STORE_OPTIONS);
      const [action, ...rest] = positionals;
      const user = pickUser('store', users, stringOption(values, 'user'));
      const branch = stores.get(user).branch(stringOption(values, 'branch') ?? 'main');
      let text = '';
      await storeAction(branch, action, rest, values, {
        write: (chunk) => (text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')),
        readValue: () => Promise.reject(new UsageError('store set: give PATH and VALUE')),
      });
      for (const line of text.replace(/\n$/, '').split('\n')) io.line(line);
    },
  });
  shell.add({
    name: 'sync',
    summary: 'fetch, merge and push a branch with a remote (another nymote, a paired device, any git server)',
    usage: 'sync NAME [--user U] [--branch B]',
    run: async (args, io) => {
      const { values, positionals } = parse('sync', args, SYNC_OPTIONS);
      if (positionals.length !== 1) throw new UsageError('usage: sync NAME [--user U] [--branch B]');
      const user = pickUser('sync', users, stringOption(values, 'user'));
      const store = stores.get(user);
      const result = await syncRemote(store, new Remotes(store.gitDir, secretsDir, user), positionals[0]!, stringOption(values, 'branch') ?? 'main', transport);
      io.line(describeSync(result));
    },
  });
}
