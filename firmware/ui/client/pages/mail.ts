/**
 * Mail, read-only: the mailboxes, a mailbox's messages newest first, one message, and a
 * mailbox's history (its commits, each linked to the History page's diff).
 *
 *   #/mail?mailbox=INBOX                  the mailbox's messages ('Load more' for older ones)
 *   #/mail/read?mailbox=INBOX&uid=N       one message
 *   #/mail/history?mailbox=INBOX          the mailbox's commits
 *
 * Mailbox names travel in the query, as they may hold '/'. Reading a message leaves it unread
 * (the mail clients keep \Seen). On a phone an open message or history hides the mailbox list.
 */
import './mail.css';
import { api } from '../api.js';
import { errorText, formatBytes, formatDateTime, h, notice, replace } from '../dom.js';
import { href, type Page } from '../page.js';

interface Mailbox {
  name: string;
  specialUse: string | null;
  messages: number;
  unseen: number;
}

interface MessageSummary {
  uid: number;
  subject: string;
  from: string;
  date: string;
  size: number;
  flags: string[];
}

interface MessageDetails {
  uid: number;
  flags: string[];
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string | null;
  text: string;
  truncated: boolean;
  attachments: { filename: string; type: string; size: number }[];
}

interface HistoryEntry {
  commit: string;
  date: string;
  message: string;
}

const PAGE_SIZE = 50;
const HISTORY_SIZE = 100;

export const mailPage: Page = {
  name: 'mail',
  title: 'Mail',
  async render(view, context) {
    const mailbox = context.query.get('mailbox') ?? 'INBOX';
    const [mode] = context.path;
    const boxes = h('nav', { class: 'mail-boxes', 'aria-label': 'Mailboxes' });
    const content = h('section', { class: 'mail-content', 'aria-label': mailboxTitle(mailbox) });
    view.append(h('h1', {}, 'Mail'), h('div', { class: `mail${mode === 'read' || mode === 'history' ? ' focused' : ''}` }, boxes, content));
    const draw = mode === 'read' ? drawMessage(content, mailbox, context.query.get('uid') ?? '') : mode === 'history' ? drawHistory(content, mailbox) : drawMessages(content, mailbox);
    await Promise.all([drawMailboxes(boxes, mailbox), draw]);
  },
};

/** The mailbox list, the chosen one marked, each with its count of unread messages. */
async function drawMailboxes(nav: HTMLElement, current: string): Promise<void> {
  const mailboxes = await api<Mailbox[]>('GET', 'mail');
  nav.append(
    h('h2', {}, 'Mailboxes'),
    h(
      'ul',
      {},
      mailboxes.map((box) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: mailboxHref(box.name), 'aria-current': box.name === current ? 'page' : null },
            h('span', { class: 'mail-box-name' }, mailboxTitle(box.name)),
            box.unseen > 0 && h('span', { class: 'mail-count' }, String(box.unseen), h('span', { class: 'visually-hidden' }, ' unread')),
          ),
        ),
      ),
    ),
  );
}

/** The mailbox's messages, newest first, a page at a time. */
async function drawMessages(content: HTMLElement, mailbox: string): Promise<void> {
  const items = h('ul', { class: 'mail-messages' });
  const more = h('button', { type: 'button' }, 'Load more');
  const status = h('div', { 'aria-live': 'polite' });
  content.append(
    h('div', { class: 'mail-heading' }, h('h2', {}, mailboxTitle(mailbox)), h('a', { href: href('mail', ['history'], { mailbox }) }, 'History')),
    items,
    status,
    more,
  );
  const load = async (before?: number) => {
    const query = new URLSearchParams({ mailbox, limit: String(PAGE_SIZE), ...(before === undefined ? {} : { before: String(before) }) });
    const page = await api<{ messages: MessageSummary[]; more: boolean }>('GET', `mail/messages?${query}`);
    const added = page.messages.map((message) => messageItem(mailbox, message));
    items.append(...added);
    more.hidden = !page.more;
    if (items.childElementCount === 0) replace(status, h('p', { class: 'muted' }, 'No messages.'));
    return added;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const last = items.lastElementChild?.getAttribute('data-uid');
      const added = await load(last === null || last === undefined ? undefined : Number(last));
      // Keyboard users go on from the first message that came in.
      added[0]?.querySelector('a')?.focus();
    } catch (err) {
      replace(status, notice(errorText(err)));
    } finally {
      more.disabled = false;
    }
  });
  await load();
}

function messageItem(mailbox: string, message: MessageSummary): HTMLElement {
  const unread = !message.flags.includes('\\Seen');
  return h(
    'li',
    { class: unread ? 'unread' : null, 'data-uid': message.uid },
    h(
      'a',
      { href: href('mail', ['read'], { mailbox, uid: String(message.uid) }) },
      unread && h('span', { class: 'visually-hidden' }, 'Unread: '),
      h('span', { class: 'mail-from' }, message.from || '(unknown sender)'),
      h('span', { class: 'mail-subject' }, message.subject || '(no subject)'),
      h('time', { datetime: message.date }, formatDateTime(message.date)),
    ),
  );
}

/** One message: its header as a list of terms, its attachments, its text as text. */
async function drawMessage(content: HTMLElement, mailbox: string, uid: string): Promise<void> {
  const message = await api<MessageDetails>('GET', `mail/message?${new URLSearchParams({ mailbox, uid })}`);
  const header: [string, string][] = [
    ['From', message.from],
    ['To', message.to],
    ['Cc', message.cc],
    ['Date', message.date === null ? '' : formatDateTime(message.date)],
  ];
  content.append(
    h('p', { class: 'mail-back' }, h('a', { href: mailboxHref(mailbox) }, `← ${mailboxTitle(mailbox)}`)),
    h(
      'article',
      { class: 'mail-reader', 'aria-labelledby': 'mail-subject' },
      h('h2', { id: 'mail-subject' }, message.subject || '(no subject)'),
      h('dl', {}, header.filter(([, value]) => value !== '').map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
      message.attachments.length > 0 && [
        h('h3', {}, 'Attachments'),
        h('ul', { class: 'mail-attachments' }, message.attachments.map((a) => h('li', {}, a.filename || '(unnamed)', h('span', { class: 'muted' }, ` ${a.type}, ${formatBytes(a.size)}`)))),
      ],
      h('pre', { class: 'mail-body' }, message.text),
      message.truncated && h('p', { class: 'muted' }, 'The message is longer: only its beginning is shown.'),
    ),
  );
}

/** The mailbox's commits, newest first, each linked to what it changed. */
async function drawHistory(content: HTMLElement, mailbox: string): Promise<void> {
  const entries = await api<HistoryEntry[]>('GET', `mail/history?${new URLSearchParams({ mailbox, limit: String(HISTORY_SIZE) })}`);
  content.append(
    h('p', { class: 'mail-back' }, h('a', { href: mailboxHref(mailbox) }, `← ${mailboxTitle(mailbox)}`)),
    h('h2', {}, `History of ${mailboxTitle(mailbox)}`),
    entries.length === 0
      ? h('p', { class: 'muted' }, 'No changes yet.')
      : h(
          'ol',
          { class: 'commits' },
          entries.map((entry) =>
            h('li', {}, h('a', { href: href('history', [entry.commit]) }, entry.message.split('\n')[0]), h('span', { class: 'muted' }, ` — ${formatDateTime(entry.date)} · `, h('code', {}, entry.commit.slice(0, 12)))),
          ),
        ),
  );
}

function mailboxHref(mailbox: string): string {
  return href('mail', [], { mailbox });
}

function mailboxTitle(name: string): string {
  return name === 'INBOX' ? 'Inbox' : name;
}
