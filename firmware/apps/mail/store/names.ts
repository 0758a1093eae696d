/**
 * Mailbox names and where they live in the store. The hierarchy delimiter is "/", so a
 * mailbox is a directory: `mail/INBOX/`, `mail/Archive/2024/`. Inside one, messages are
 * `<uid>.eml` and the mailbox's state `.mailbox.json`; any other directory is a child mailbox.
 * Names that would clash with those files, or that the store refuses, are refused here with
 * a message IMAP can send in a NO.
 */

export const MAIL_ROOT = 'mail';
export const DELIMITER = '/';
export const INBOX = 'INBOX';
export const STATE_FILE = '.mailbox.json';
export const SUBSCRIPTIONS_FILE = `${MAIL_ROOT}/.subscriptions.json`;
/** The last UIDVALIDITY handed out: a recreated mailbox must never reuse one. */
export const UIDVALIDITY_FILE = `${MAIL_ROOT}/.uidvalidity`;

const MAX_NAME_BYTES = 512;
const MAX_DEPTH = 16;
const MESSAGE_FILE = /^[1-9][0-9]*\.eml$/;

export class InvalidMailboxName extends Error {}

/** The canonical form of a mailbox name ("inbox" and "Inbox/x" become "INBOX", "INBOX/x"), or throws. */
export function canonicalName(name: string): string {
  if (name.length === 0) throw new InvalidMailboxName('empty mailbox name');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new InvalidMailboxName('mailbox name too long');
  const segments = name.split(DELIMITER);
  // A trailing delimiter ("Work/") names the same mailbox: RFC 9051 6.3.4 (CREATE).
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  if (segments.length > MAX_DEPTH) throw new InvalidMailboxName('mailbox hierarchy too deep');
  if (segments[0].toUpperCase() === INBOX) segments[0] = INBOX;
  for (const segment of segments) {
    if (segment === '') throw new InvalidMailboxName('empty level in mailbox name');
    if (segment.startsWith('.')) throw new InvalidMailboxName('a mailbox name level may not start with "."');
    if (MESSAGE_FILE.test(segment)) throw new InvalidMailboxName('a mailbox name level may not look like a message file');
    if (/[\x00-\x1f\x7f]/.test(segment)) throw new InvalidMailboxName('control characters in mailbox name');
    if (segment === '*' || segment === '%' || /[*%]/.test(segment)) throw new InvalidMailboxName('"*" and "%" are not allowed in mailbox names');
  }
  return segments.join(DELIMITER);
}

/** The store directory of a (canonical) mailbox. */
export function mailboxDir(name: string): string {
  return `${MAIL_ROOT}/${name}`;
}

export function statePath(name: string): string {
  return `${mailboxDir(name)}/${STATE_FILE}`;
}

export function messagePath(name: string, uid: number): string {
  return `${mailboxDir(name)}/${uid}.eml`;
}

/** The UID of a message file name, or undefined for anything else in a mailbox directory. */
export function uidOfFile(file: string): number | undefined {
  return MESSAGE_FILE.test(file) ? Number(file.slice(0, -4)) : undefined;
}

export function parentName(name: string): string | undefined {
  const slash = name.lastIndexOf(DELIMITER);
  return slash < 0 ? undefined : name.slice(0, slash);
}
