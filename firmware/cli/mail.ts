/** `nymote mail log|restore`: a user's mail history, and a mailbox brought back as it was. */
import path from 'node:path';
import { UserDirectory } from '../accounts/index.js';
import { MailStore } from '../apps/mail/index.js';
import { NymoteError, UsageError, prepareDataDir } from '../runtime/index.js';
import { Store } from '../store/index.js';
import { dataOption, expectPositionals, pickUser, stringOption, type OptionSpec, type Parsed } from './args.js';

export const MAIL_OPTIONS: OptionSpec = {
  user: { type: 'string', short: 'u' },
  limit: { type: 'string', short: 'n' },
  at: { type: 'string' },
};

export const MAIL_USAGE = [
  'usage: nymote mail log [MAILBOX] [-n N]         commits that changed the mail (or one mailbox), newest first',
  '       nymote mail restore MAILBOX --at WHEN    bring back what MAILBOX held at WHEN and has lost since;',
  '                                                what came since stays. WHEN: a commit from `mail log`',
  '                                                or a time (2026-11-30T09:00, local time unless it says Z)',
  '',
  'Options: --user U (needed when there is more than one user), --data DIR.',
].join('\n');

export async function mailCommand({ values, positionals }: Parsed): Promise<number> {
  const [action, ...rest] = positionals;
  if (action !== 'log' && action !== 'restore') throw new UsageError(action === undefined ? 'mail: missing action (log, restore)' : `mail: unknown action '${action}' (log, restore)`);
  const data = prepareDataDir(dataOption(values));
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
