/**
 * The mail of the web UI, read-only: mailboxes, their messages newest first, one message as a
 * person reads it, and the mailbox's history (its commits). Mailbox names go in the query
 * string, as they may hold '/'. Unknown mailboxes and UIDs answer 404 ENOTFOUND.
 *
 *   GET mail                                           → [{name, specialUse, messages, unseen}]
 *   GET mail/messages?mailbox=INBOX&before=UID&limit=50
 *       → {messages: [{uid, subject, from, date, size, flags}], more}
 *         newest first, UIDs below `before` (all when absent); limit 1…200; `more`: older ones remain
 *   GET mail/message?mailbox=INBOX&uid=N
 *       → {uid, flags, subject, from, to, cc, date, text, truncated, attachments: [{filename, type, size}]}
 *         (messageView: plain text, never HTML). Reading does not change flags: the message
 *         stays unseen, as this is a GET and the mail's own clients keep \Seen.
 *   GET mail/history?mailbox=INBOX&limit=50            → [{commit, date, message}] newest first; limit 1…200
 *
 * `mailbox` defaults to INBOX; dates are ISO 8601 (a message's: its Date header, else when it
 * arrived).
 */
import { decodeCachedHeader, INBOX, InvalidMailboxName, messageView, parseMessage, type MailboxSnapshot, type MailStore, type MessageRecord } from '../../apps/mail/index.js';
import { HttpError } from '../../http/index.js';
import { ByteLru, type ObjectId } from '../../store/index.js';
import type { UiRequest, UiRoute } from './context.js';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;
const MAX_SUMMARY_CHARS = 1000;
/** Summaries of messages listed, by blob id: a page shown again is not parsed again. */
const SUMMARY_CACHE_BYTES = 2 * 1024 * 1024;

interface Summary {
  subject: string;
  from: string;
  /** The Date header in ms, null when it has none that reads. */
  sent: number | null;
}

export function mailRoutes(mailOf: (user: string) => Promise<MailStore>): UiRoute[] {
  const summaries = new ByteLru<ObjectId, Summary>(SUMMARY_CACHE_BYTES, (s) => 200 + 2 * (s.subject.length + s.from.length));

  /** A summary of a message of a snapshot, parsed once per blob. */
  const summaryOf = (mail: MailStore, box: MailboxSnapshot, uid: number): Summary => {
    const blob = mail.messageBlob(box.commit, box.name, uid);
    if (blob === undefined) return { subject: '', from: '', sent: null };
    let summary = summaries.get(blob);
    if (summary === undefined) {
      // A listing reads many messages once: not worth a place in the store's cache.
      const { headers, sentDate } = parseMessage(mail.readBlob(blob, { keep: false }));
      summary = { subject: headerText(headers.subject), from: headerText(headers.from), sent: sentDate };
      summaries.set(blob, summary);
    }
    return summary;
  };

  return [
    {
      method: 'GET',
      path: 'mail',
      handler: async (ui) => {
        const mail = await mailOf(ui.user);
        return mail
          .list()
          .filter((entry) => entry.selectable)
          .flatMap((entry) => {
            const box = mail.snapshot(entry.name);
            if (box === undefined) return [];
            const { messages } = box.state;
            return [{ name: box.name, specialUse: box.state.specialUse ?? null, messages: messages.length, unseen: messages.filter(isUnseen).length }];
          });
      },
    },
    {
      method: 'GET',
      path: 'mail/messages',
      handler: async (ui) => {
        const mail = await mailOf(ui.user);
        const box = mailboxOf(mail, ui);
        const before = integerParam(ui, 'before', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        const limit = integerParam(ui, 'limit', DEFAULT_PAGE, MAX_PAGE);
        const { messages } = box.state;
        const end = countBelow(messages, before);
        const start = Math.max(0, end - limit);
        const page = messages.slice(start, end).reverse();
        return {
          messages: page.map((record) => {
            const { subject, from, sent } = summaryOf(mail, box, record.uid);
            return { uid: record.uid, subject, from, date: new Date(sent ?? record.internalDate).toISOString(), size: record.size, flags: record.flags };
          }),
          more: start > 0,
        };
      },
    },
    {
      method: 'GET',
      path: 'mail/message',
      handler: async (ui) => {
        const mail = await mailOf(ui.user);
        const box = mailboxOf(mail, ui);
        const uid = integerParam(ui, 'uid', undefined, 0xffffffff);
        const record = box.state.messages.find((m) => m.uid === uid);
        const message = record === undefined ? undefined : mail.message(box.commit, box.name, uid);
        if (record === undefined || message === undefined) throw new HttpError(404, 'ENOTFOUND', `no message ${uid} in ${box.name}`);
        return { uid, flags: record.flags, ...messageView(message.raw) };
      },
    },
    {
      method: 'GET',
      path: 'mail/history',
      handler: async (ui) => {
        const mail = await mailOf(ui.user);
        const box = mailboxOf(mail, ui);
        const limit = integerParam(ui, 'limit', DEFAULT_PAGE, MAX_PAGE);
        return mail.history(box.name, limit).map((entry) => ({
          commit: entry.commit,
          date: new Date(entry.author.timestamp * 1000).toISOString(),
          message: entry.message.trim(),
        }));
      },
    },
  ];
}

/** The mailbox the query names (INBOX when it names none), as it is now; 404 when there is no such mailbox. */
function mailboxOf(mail: MailStore, ui: UiRequest): MailboxSnapshot {
  const name = ui.url.searchParams.get('mailbox') ?? INBOX;
  let box: MailboxSnapshot | undefined;
  try {
    box = mail.snapshot(name);
  } catch (err) {
    if (!(err instanceof InvalidMailboxName)) throw err;
  }
  if (box === undefined) throw new HttpError(404, 'ENOTFOUND', `no mailbox ${name.slice(0, 200)}`);
  return box;
}

/** A positive integer of the query, at most `max`; `fallback` when absent (required when there is none). */
function integerParam(ui: UiRequest, name: string, fallback: number | undefined, max: number): number {
  const text = ui.url.searchParams.get(name);
  if (text === null && fallback !== undefined) return fallback;
  const value = Number(text);
  if (text === null || !/^[0-9]{1,16}$/.test(text) || value < 1 || value > max) {
    throw new HttpError(400, 'EINVAL', `query parameter '${name}' must be an integer from 1 to ${max}`);
  }
  return value;
}

/** How many messages (sorted by UID) have a UID below `uid`. */
function countBelow(messages: readonly MessageRecord[], uid: number): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (messages[middle]!.uid < uid) low = middle + 1;
    else high = middle;
  }
  return low;
}

function isUnseen(record: MessageRecord): boolean {
  return !record.flags.includes('\\Seen');
}

/** A header as written (encoded-words and all) as bounded text. */
function headerText(value: string | undefined): string {
  return value === undefined ? '' : decodeCachedHeader(value).slice(0, MAX_SUMMARY_CHARS);
}
