/**
 * Contacts: every address book's contacts in one searchable list, and one form to create, edit
 * and delete them.
 *
 *   #/contacts?q=text            the list, filtered by the search (kept in every link)
 *   #/contacts/new               the list and an empty form
 *   #/contacts/<book>/<name>     the list and the contact's form
 *
 * The form shows one email and one phone; the card's further ones are sent back as they were,
 * so saving never drops them. On a phone the form takes the whole screen while it is open.
 */
import './contacts.css';
import { api, ApiError, segments } from '../api.js';
import { errorText, field, h, notice, replace } from '../dom.js';
import { href, type Page, type PageContext } from '../page.js';

interface ListedContact {
  book: string;
  name: string;
  fullName: string;
  emails: string[];
  phones: string[];
  org?: string;
}

interface ContactDetails {
  book: string;
  name: string;
  fullName: string;
  emails: string[];
  phones: string[];
  org: string;
  note: string;
  etag: string;
}

interface Book {
  name: string;
  displayName: string;
}

const SEARCH_DELAY_MS = 250;

export const contactsPage: Page = {
  name: 'contacts',
  title: 'Contacts',
  async render(view, context) {
    const [first, second] = context.path;
    const editing = first === 'new' || second !== undefined;
    const list = h('section', { class: 'contact-list', 'aria-label': 'Contact list' });
    const editor = h('section', { class: 'contact-editor', 'aria-labelledby': 'contact-title' });
    view.append(h('h1', {}, 'Contacts'), h('div', { class: `contacts${editing ? ' editing' : ''}` }, list, editor));
    await Promise.all([drawList(list, view, context), first === 'new' ? drawNew(editor, context) : second !== undefined ? drawContact(editor, context, first!, second) : drawIdle(editor)]);
  },
};

/** The search (label 'Search'), the 'New contact' button and the list it filters as one types. */
async function drawList(section: HTMLElement, view: HTMLElement, context: PageContext): Promise<void> {
  const search = h('input', { type: 'search', name: 'q', value: context.query.get('q') ?? '', autocomplete: 'off' });
  const form = h('form', { role: 'search', class: 'contact-search' }, field('Search', search));
  const create = h('button', { type: 'button', class: 'primary', onclick: () => context.go('contacts', ['new'], searchQuery(search.value)) }, 'New contact');
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const items = h('ul', { class: 'contact-items' });
  section.append(form, h('div', { class: 'toolbar' }, create), status, items);

  const load = async () => {
    const q = search.value.trim();
    const { contacts, truncated } = await api<{ contacts: ListedContact[]; truncated: boolean }>('GET', `contacts?${new URLSearchParams({ q })}`);
    const open = context.path.length === 2 ? context.path.join('/') : undefined;
    replace(items, contacts.map((contact) => contactItem(contact, `${contact.book}/${contact.name}` === open, q)));
    replace(status, truncated ? 'Only the first contacts are shown: search to find the others.' : contacts.length === 0 ? (q === '' ? 'No contacts yet.' : 'No contact matches.') : `${contacts.length} contact${contacts.length === 1 ? '' : 's'}`);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const searchNow = () => {
    clearTimeout(timer);
    // The search goes into the address (without drawing the page again), unless the page is gone.
    if (view.isConnected) history.replaceState(null, '', href('contacts', context.path, searchQuery(search.value)));
    load().catch((err: unknown) => replace(status, notice(errorText(err))));
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(searchNow, SEARCH_DELAY_MS);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    searchNow();
  });
  await load();
}

function contactItem(contact: ListedContact, current: boolean, q: string): HTMLElement {
  const detail = contact.emails[0] ?? contact.phones[0] ?? contact.org;
  return h(
    'li',
    {},
    h(
      'a',
      { href: href('contacts', [contact.book, contact.name], searchQuery(q)), 'aria-current': current ? 'page' : null },
      h('span', { class: 'contact-name' }, contact.fullName),
      detail !== undefined && h('span', { class: 'muted' }, detail),
    ),
  );
}

function drawIdle(editor: HTMLElement): void {
  editor.append(h('h2', { id: 'contact-title', class: 'visually-hidden' }, 'Contact'), h('p', { class: 'muted contact-idle' }, 'Choose a contact, or make a new one.'));
}

async function drawNew(editor: HTMLElement, context: PageContext): Promise<void> {
  const books = await api<Book[]>('GET', 'contacts/books');
  const empty: ContactDetails = { book: '', name: '', fullName: '', emails: [], phones: [], org: '', note: '', etag: '' };
  drawForm(editor, context, empty, books);
  editor.querySelector('input')?.focus();
}

async function drawContact(editor: HTMLElement, context: PageContext, book: string, name: string): Promise<void> {
  const contact = await api<ContactDetails>('GET', `contacts/${segments(book, name)}`);
  drawForm(editor, context, contact, []);
  if (context.query.get('saved') !== null) editor.querySelector('[aria-live]')!.append(notice('Saved.', 'ok'));
}

/** The form: Name, Email, Phone, Organization, Notes; a book to choose when a new contact has several. */
function drawForm(editor: HTMLElement, context: PageContext, contact: ContactDetails, books: readonly Book[]): void {
  const isNew = contact.name === '';
  const input = (name: string, value: string, attributes: Record<string, string | boolean> = {}) => h('input', { name, value, autocomplete: 'off', ...attributes });
  const fullName = input('fullName', contact.fullName, { required: true, maxlength: '1000' });
  const email = input('email', contact.emails[0] ?? '', { inputmode: 'email', autocapitalize: 'none', spellcheck: 'false' });
  const phone = input('phone', contact.phones[0] ?? '', { type: 'tel' });
  const org = input('org', contact.org, { maxlength: '1000' });
  const note = h('textarea', { name: 'note', rows: 4 }, contact.note);
  const book = h('select', { name: 'book' }, books.map((b) => h('option', { value: b.name, selected: b.name === 'default' }, b.displayName)));
  const status = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
  const form = h(
    'form',
    { class: 'contact-form' },
    h('p', { class: 'back' }, h('a', { href: href('contacts', [], searchQuery(context.query.get('q') ?? '')) }, '← All contacts')),
    h('h2', { id: 'contact-title' }, isNew ? 'New contact' : contact.fullName),
    status,
    books.length > 1 && field('Address book', book),
    field('Name', fullName),
    field('Email', email),
    field('Phone', phone),
    field('Organization', org),
    field('Notes', note),
    h('div', { class: 'toolbar' }, save, !isNew && remove),
  );
  const busy = (on: boolean) => {
    save.disabled = on;
    remove.disabled = on;
  };
  const failed = (err: unknown) => {
    replace(status, notice(err instanceof ApiError && err.status === 412 ? 'Someone changed this contact meanwhile. Open it again to see their change, then edit it.' : errorText(err)));
    busy(false);
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    busy(true);
    const body = {
      fullName: fullName.value,
      // The card's further emails and phones, which the form does not show, go back as they were.
      emails: [email.value, ...contact.emails.slice(1)].filter((v) => v.trim() !== ''),
      phones: [phone.value, ...contact.phones.slice(1)].filter((v) => v.trim() !== ''),
      org: org.value,
      note: note.value,
    };
    try {
      const saved = isNew
        ? await api<{ book: string; name: string }>('POST', `contacts/${segments(books.length > 1 ? book.value : (books[0]?.name ?? 'default'))}`, body)
        : await api<{ book: string; name: string }>('PUT', `contacts/${segments(contact.book, contact.name)}`, { ...body, etag: contact.etag });
      context.go('contacts', [saved.book, saved.name], { ...searchQuery(context.query.get('q') ?? ''), saved: String(Date.now()) });
    } catch (err) {
      failed(err);
    }
  });
  remove.addEventListener('click', async () => {
    if (!confirm(`Delete ${contact.fullName}?`)) return;
    busy(true);
    try {
      await api('DELETE', `contacts/${segments(contact.book, contact.name)}?${new URLSearchParams({ etag: contact.etag })}`);
      context.go('contacts', [], searchQuery(context.query.get('q') ?? ''));
    } catch (err) {
      failed(err);
    }
  });
  replace(editor, form);
}

/** The query that keeps the search in a link: none when empty. */
function searchQuery(q: string): Record<string, string> {
  return q.trim() === '' ? {} : { q: q.trim() };
}
