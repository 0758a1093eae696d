/** `nymote token add|list|revoke`: bearer tokens with which apps reach a user's data over HTTP. */
import { UserDirectory } from '../accounts/index.js';
import { TokenStore } from '../accounts/tokens.js';
import { NymoteError, UsageError, prepareDataDir } from '../runtime/index.js';
import { dataOption, expectPositionals, stringOption, type OptionSpec, type Parsed } from './args.js';

export const TOKEN_OPTIONS: OptionSpec = {
  name: { type: 'string' },
};

export const TOKEN_USAGE = [
  'usage: nymote token add USER [--name NAME]   make a token; it is printed once, on standard output',
  '       nymote token list USER                names and creation dates of USER\'s tokens',
  '       nymote token revoke USER NAME         the token stops working at once',
  '',
  'Apps send it as "Authorization: Bearer TOKEN" (over HTTPS, or plain HTTP on this machine).',
  'Only a hash of each token is kept (secrets/tokens.json), so a lost token cannot be shown again.',
].join('\n');

export async function tokenCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  const data = () => prepareDataDir(dataOption(values));
  const requireUser = (name: string) => {
    if (!new UserDirectory(data().secrets).exists(name)) throw new NymoteError('ENOUSER', `no user '${name}'`);
  };
  switch (action) {
    case 'add': {
      const [user] = expectPositionals('token add', rest, ['USER']) as [string];
      requireUser(user);
      const { name, token } = new TokenStore(data().secrets).add(user, stringOption(values, 'name'));
      process.stdout.write(`${token}\n`);
      process.stderr.write(`made token '${name}' for ${user}; it is shown only this once\n`);
      return 0;
    }
    case 'list': {
      const [user] = expectPositionals('token list', rest, ['USER']) as [string];
      requireUser(user);
      for (const t of new TokenStore(data().secrets).list(user)) process.stdout.write(`${t.name}\t${t.created}\n`);
      return 0;
    }
    case 'revoke': {
      const [user, name] = expectPositionals('token revoke', rest, ['USER', 'NAME']) as [string, string];
      new TokenStore(data().secrets).revoke(user, name);
      process.stdout.write(`revoked token '${name}' of ${user}\n`);
      return 0;
    }
    case undefined:
      throw new UsageError('token: missing action (add, list, revoke)');
    default:
      throw new UsageError(`token: unknown action '${action}' (add, list, revoke)`);
  }
}
