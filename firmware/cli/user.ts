/** `nymote user add|list|passwd|remove`: the device's users and their passwords. */
import path from 'node:path';
import { UserDirectory } from '../accounts/index.js';
import { UsageError, prepareDataDir } from '../runtime/index.js';
import { Store } from '../store/index.js';
import { dataOption, expectPositionals, type OptionSpec, type Parsed } from './args.js';
import { readNewPassword } from './secret-input.js';

export const USER_OPTIONS: OptionSpec = {
  'password-stdin': { type: 'boolean' },
};

export const USER_USAGE = [
  'usage: nymote user add NAME [--password-stdin]',
  '       nymote user passwd NAME [--password-stdin]',
  '       nymote user list',
  '       nymote user remove NAME',
  '',
  'Passwords are typed twice at a prompt, or read from standard input with --password-stdin.',
].join('\n');

export async function userCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  const data = () => prepareDataDir(dataOption(values));
  const users = () => new UserDirectory(data().secrets);
  const fromStdin = values['password-stdin'] === true;
  switch (action) {
    case 'add': {
      const [name] = expectPositionals('user add', rest, ['NAME']) as [string];
      const directory = users();
      await directory.add(name, await readNewPassword(fromStdin));
      // Every user has a versioned store from the start (store/<name>.git).
      await Store.open(path.join(data().store, `${name}.git`)).close();
      process.stdout.write(`added user ${name}\n`);
      return 0;
    }
    case 'passwd': {
      const [name] = expectPositionals('user passwd', rest, ['NAME']) as [string];
      const directory = users();
      await directory.setPassword(name, await readNewPassword(fromStdin));
      process.stdout.write(`changed the password of ${name}\n`);
      return 0;
    }
    case 'list': {
      expectPositionals('user list', rest, []);
      for (const user of users().list()) process.stdout.write(`${user.name}\t${user.created}\n`);
      return 0;
    }
    case 'remove': {
      const [name] = expectPositionals('user remove', rest, ['NAME']) as [string];
      users().remove(name);
      // Their data is not destroyed by a mistyped command: the repository stays until deleted by hand.
      process.stdout.write(`removed user ${name} (their store stays in ${path.join(data().store, `${name}.git`)})\n`);
      return 0;
    }
    case undefined:
      throw new UsageError(`user: missing action (add, passwd, list, remove)`);
    default:
      throw new UsageError(`user: unknown action '${action}' (add, passwd, list, remove)`);
  }
}
