/**
 * `nymote mail log|restore|smarthost`: a user's mail history, a mailbox brought back as it
 * was, and the smarthost that takes mail for other domains.
 */
import path from 'node:path';
import { UserDirectory } from '../accounts/index.js';
import { MailStore, describeSmarthost, loadSmarthost, removeSmarthost, saveSmarthost } from '../apps/mail/index.js';
import { NymoteError, UsageError, prepareDataDir } from '../runtime/index.js';
import { Store } from '../store/index.js';
import { dataOption, expectPositionals, pickUser, stringOption, type OptionSpec, type Parsed } from './args.js';
import { promptSecret, readSecretFromStdin } from './secret-input.js';

export const MAIL_OPTIONS: OptionSpec = {
  user: { type: 'string', short: 'u' },
  limit: { type: 'string', short: 'n' },
  at: { type: 'string' },
  login: { type: 'string' },
  starttls: { type: 'boolean' },
  tls: { type: 'boolean' },
  'password-stdin': { type: 'boolean' },
};

export const MAIL_USAGE = [
  'usage: nymote mail log [MAILBOX] [-n N]         commits that changed the mail (or one mailbox), newest first',
  '       nymote mail restore MAILBOX --at WHEN    bring back what MAILBOX held at WHEN and has lost since;',
  '                                                what came since stays. WHEN: a commit from `mail log`',
  '                                                or a time (2026-11-30T09:00, local time unless it says Z)',
  '       nymote mail smarthost [show]                where mail for other domains goes',
  '       nymote mail smarthost set HOST[:PORT] [--tls | --starttls] [--login USER [--password-stdin]]',
  '                                                port 587 with STARTTLS unless said (465 with --tls);',
  '                                                the password is asked for, kept in secrets/, never shown',
  '       nymote mail smarthost remove             no smarthost: mail for other domains is refused',
  '',
  'Options: --user U (needed when there is more than one user), --data DIR.',
].join('\n');

export async function mailCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  if (action !== 'log' && action !== 'restore' && action !== 'smarthost') {
    throw new UsageError(action === undefined ? 'mail: missing action (log, restore, smarthost)' : `mail: unknown action '${action}' (log, restore, smarthost)`);
  }
  const data = prepareDataDir(dataOption(values));
  if (action === 'smarthost') return smarthostCommand(data.config, data.secrets, rest, values);
  const user = pickUser('mail', new UserDirectory(data.secrets), stringOption(values, 'user'));
  const store = Store.open(path.join(data.store, `${user}.git`));
  try {
    const mail = new MailStore(store);
    if (action === 'log') {
      if (rest.length > 1) throw new UsageError(`mail log: unexpected argument '${rest[1]}'`);
      for (const entry of mail.history(rest[0], limitOption(values))) {
        const date = new Date(entry.author.timestamp * 1000).toISOString();
        process.stdout.write(`${entry.commit.slice(0, 12)} ${date} ${entry.message.split('\n')[0]}\n`);
      }
      return 0;
    }
    const [mailbox] = expectPositionals('mail restore', rest, ['MAILBOX']) as [string];
    const when = stringOption(values, 'at');
    if (when === undefined) throw new UsageError('mail restore: missing --at WHEN (a commit from `mail log`, or a time)');
    const commit = pointInHistory(mail, mailbox, when);
    const uids = await mail.restore(mailbox, commit);
    process.stdout.write(uids.length === 0 ? `nothing to restore: ${mailbox} has everything it held at ${commit.slice(0, 12)}\n` : `restored ${uids.length} message${uids.length === 1 ? '' : 's'} into ${mailbox} (from ${commit.slice(0, 12)})\n`);
    return 0;
  } finally {
    await store.close();
  }
}

function limitOption(values: Parsed['values']): number | undefined {
  const text = stringOption(values, 'limit');
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`mail log: invalid limit '${text}'`);
  return limit;
}

/** A commit of the mailbox's history named by a commit id prefix or by a time. */
function pointInHistory(mail: MailStore, mailbox: string, when: string): string {
  if (/^[0-9a-f]{7,40}$/.test(when)) {
    const found = mail.history(mailbox).find((entry) => entry.commit.startsWith(when));
    if (found === undefined) throw new NymoteError('ENOTFOUND', `no commit ${when} in the history of ${mailbox}`);
    return found.commit;
  }
  const time = Date.parse(when);
  if (Number.isNaN(time)) throw new UsageError(`mail restore: '${when}' is neither a commit nor a time`);
  const commit = mail.commitAt(mailbox, time);
  if (commit === undefined) throw new NymoteError('ENOTFOUND', `${mailbox} has no history before ${new Date(time).toISOString()}`);
  return commit;
}

async function smarthostCommand(configDir: string, secretsDir: string, args: string[], values: Parsed['values']): Promise<number> {
  const [what = 'show', target, ...extra] = args;
  if (extra.length > 0) throw new UsageError(`mail smarthost: unexpected argument '${extra[0]}'`);
  if (what === 'show' || what === 'remove') {
    if (target !== undefined) throw new UsageError(`mail smarthost ${what}: unexpected argument '${target}'`);
    if (what === 'remove') removeSmarthost(configDir, secretsDir);
    process.stdout.write(`${describeSmarthost(loadSmarthost(configDir, secretsDir))}\n`);
    return 0;
  }
  if (what !== 'set') throw new UsageError(`mail smarthost: unknown action '${what}' (show, set, remove)`);
  if (target === undefined) throw new UsageError('mail smarthost set: missing HOST[:PORT]');
  if (values.tls === true && values.starttls === true) throw new UsageError('mail smarthost set: --tls or --starttls, not both');
  const security = values.tls === true ? 'tls' : 'starttls';
  const colon = target.lastIndexOf(':');
  const host = colon > 0 && !target.includes(']') ? target.slice(0, colon) : target;
  const port = colon > 0 && !target.includes(']') ? Number(target.slice(colon + 1)) : security === 'tls' ? 465 : 587;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`mail smarthost set: invalid port in '${target}'`);
  const login = stringOption(values, 'login');
  const password = login === undefined ? undefined : values['password-stdin'] === true ? await readSecretFromStdin() : await promptSecret(`password for ${login} at ${host}: `);
  saveSmarthost(configDir, secretsDir, { host, port, security, ...(login === undefined ? {} : { user: login }) }, password);
  process.stdout.write(`smarthost: ${describeSmarthost(loadSmarthost(configDir, secretsDir))}\n`);
  return 0;
}
