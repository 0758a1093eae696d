/**
 * The contacts of the web UI: the user's CardDAV address books (`contacts/<book>/`, each a
 * collection holding its `.props.json`, on branch main), read and written the way the DAV
 * server reads and writes them, so CardDAV clients see what the UI changed and the UI keeps
 * what they wrote. A contact is named by its book and its member name: the file name
 * (`<uuid>.vcf` for cards made here, whatever a client chose for others). ETags are blob ids,
 * as in DAV.
 *
 *   GET    contacts?q=text            → {contacts: [{book, name, uid, fullName, emails, phones, org?}], truncated}
 *          sorted by name; `q` matches the name, emails, phones and organization in any case;
 *          at most MAX_LISTED contacts, `truncated` when more matched. Cards that do not parse are left out.
 *   GET    contacts/books             → [{name, displayName}] (the default book, made on the first
 *                                        contact saved, when the user has none yet)
 *   GET    contacts/:book/:name       → {book, name, uid, fullName, emails, phones, org, note, etag}
 *   POST   contacts/:book             {fullName, emails?, phones?, org?, note?} → {book, name, uid, etag}
 *   PUT    contacts/:book/:name       {fullName, emails?, phones?, org?, note?, etag} → {book, name, uid, etag}
 *   DELETE contacts/:book/:name[?etag=…] → {book, name}
 *
 * A new card is vCard 3.0: UID, FN, N, EMAIL, TEL, ORG, NOTE. An edit rewrites only what the
 * form shows (FN, N when the name changed, every EMAIL and TEL, the first ORG and NOTE) and
 * keeps every other line as it was written (PHOTO, ADR, X-…, UID, VERSION; unchanged values
 * with their parameters and groups). Every card is checked with parseVCard before it is stored.
 *
 * Errors: 400 EINVAL (bad input: nothing is committed), 404 ENOTFOUND, 412 EETAG (the card
 * changed since it was read), 422 EVCARD (the stored card does not parse: edit it elsewhere).
 */
import { randomUUID } from 'node:crypto';
import { contactsKind, InvalidVCard, parseVCard, unescapeValue, type VCard, type VCardProperty } from '../../apps/contacts/index.js';
import { collectionDisplayName, collectionNames, makeHome, PROPS_FILE, removeMember } from '../../http/dav/index.js';
import { HttpError, stringField } from '../../http/index.js';
import { ByteLru, foldLine, unfoldLines, type Branch, type ObjectId, type Store, type TreeView } from '../../store/index.js';
import { UI_BRANCH, commitInfo, readBody, type UiRequest, type UiRoute } from './context.js';

const HOME = contactsKind.home;
const DEFAULT_BOOK = contactsKind.defaultCollection!;
export const MAX_LISTED = 2000;
const MAX_TEXT_CHARS = 1000;
const MAX_NOTE_CHARS = 10_000;
/** Emails or phones one card may be given. */
const MAX_VALUES = 100;
/** EMAIL and TEL are lists the form sends whole; of the other edited properties it shows the first. */
const LISTS = new Set(['EMAIL', 'TEL']);

/** What the form shows and edits of a card. */
interface ContactFields {
  fullName: string;
  emails: string[];
  phones: string[];
  org: string;
  note: string;
}

interface Contact extends ContactFields {
  uid: string;
}

/** A content line of a stored card: its parsed property and the line as written (unfolded). */
interface CardLine {
  property: VCardProperty;
  raw: string;
}

/** Cards read for listing, by blob id (null: does not parse), so a search does not parse every card again. */
const listedCards = new ByteLru<ObjectId, Contact | null>(2 * 1024 * 1024, (contact) => (contact === null ? 64 : 256 + 2 * JSON.stringify(contact).length));

export const contactRoutes: UiRoute[] = [
  { method: 'GET', path: 'contacts', handler: listContacts },
  { method: 'GET', path: 'contacts/books', handler: listBooks },
  { method: 'GET', path: 'contacts/:book/:name', handler: getContact },
  { method: 'POST', path: 'contacts/:book', handler: createContact },
  { method: 'PUT', path: 'contacts/:book/:name', handler: updateContact },
  { method: 'DELETE', path: 'contacts/:book/:name', handler: deleteContact },
];

// ------------------------------------------------------------------------------- handlers

function listContacts(ui: UiRequest): unknown {
  const view = branchOf(ui).view();
  const query = (ui.url.searchParams.get('q') ?? '').trim().toLowerCase();
  const found: (Contact & { book: string; name: string })[] = [];
  for (const book of bookNames(view)) {
    for (const entry of view.list(`${HOME}/${book}`)) {
      if (entry.kind !== 'file' || !isPlainName(entry.name)) continue;
      const contact = listedCard(ui.store, view.baseBlobId(`${HOME}/${book}/${entry.name}`)!);
      if (contact !== null && matches(contact, query)) found.push({ book, name: entry.name, ...contact });
    }
  }
  const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  found.sort((a, b) => collator.compare(a.fullName, b.fullName) || collator.compare(a.book, b.book) || collator.compare(a.name, b.name));
  return {
    contacts: found.slice(0, MAX_LISTED).map(({ book, name, uid, fullName, emails, phones, org }) => ({ book, name, uid, fullName, emails, phones, ...(org === '' ? {} : { org }) })),
    truncated: found.length > MAX_LISTED,
  };
}

function listBooks(ui: UiRequest): unknown {
  const view = branchOf(ui).view();
  const names = bookNames(view);
  if (names.length === 0) return [{ name: DEFAULT_BOOK.name, displayName: DEFAULT_BOOK.displayName }];
  return names.map((name) => ({ name, displayName: collectionDisplayName(view, HOME, name) }));
}

function getContact(ui: UiRequest): unknown {
  const { book, name } = ui.params;
  const stored = storedCard(branchOf(ui).view(), book!, name!);
  return { book, name, ...contactOf(stored.card), etag: stored.etag };
}

async function createContact(ui: UiRequest): Promise<unknown> {
  const book = ui.params.book!;
  const fields = fieldsOf(await readBody(ui));
  const uid = randomUUID();
  const name = `${uid}.vcf`;
  const bytes = checkedCard(['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, ...revisedLines([], editedValues(fields, true)), 'END:VCARD']);
  await branchOf(ui).transaction((view) => {
    if (book === DEFAULT_BOOK.name && bookNames(view).length === 0) makeHome(view, contactsKind);
    view.set(`${bookPath(view, book)}/${name}`, bytes);
  }, commitInfo(ui, `contacts: add ${book}/${name}`));
  return { book, name, uid, etag: blobId(ui.store, bytes) };
}

async function updateContact(ui: UiRequest): Promise<unknown> {
  const { book, name } = ui.params;
  const body = await readBody(ui);
  const fields = fieldsOf(body);
  const etag = stringField(body, 'etag', { allowEmpty: true, maxChars: 64 });
  const { result } = await branchOf(ui).transaction((view) => {
    const stored = storedCard(view, book!, name!);
    if (stored.etag !== etag) throw new HttpError(412, 'EETAG', 'the contact was changed meanwhile: load it again');
    const nameChanged = fields.fullName !== contactOf(stored.card).fullName;
    const bytes = checkedCard(['BEGIN:VCARD', ...revisedLines(cardLines(stored.bytes, stored.card), editedValues(fields, nameChanged)), 'END:VCARD']);
    view.set(stored.path, bytes);
    return { uid: stored.card.uid, bytes };
  }, commitInfo(ui, `contacts: edit ${book}/${name}`));
  return { book, name, uid: result.uid, etag: blobId(ui.store, result.bytes) };
}

async function deleteContact(ui: UiRequest): Promise<unknown> {
  const { book, name } = ui.params;
  const etag = ui.url.searchParams.get('etag');
  await branchOf(ui).transaction((view) => {
    const dir = bookPath(view, book!);
    const id = isPlainName(name!) ? view.baseBlobId(`${dir}/${name}`) : undefined;
    if (id === undefined) throw notFound(book!, name!);
    if (etag !== null && etag !== id) throw new HttpError(412, 'EETAG', 'the contact was changed meanwhile: load it again');
    removeMember(view, `${dir}/${name}`); // with its dead properties, as DAV's DELETE does
  }, commitInfo(ui, `contacts: delete ${book}/${name}`));
  return { book, name };
}

// ------------------------------------------------------------------------------- books

function branchOf(ui: UiRequest): Branch {
  return ui.store.branch(UI_BRANCH);
}

/** The address books: directories of the home that are collections (hold `.props.json`). */
function bookNames(view: TreeView): string[] {
  return collectionNames(view, HOME).filter(isPlainName);
}

/** A book's store path; 404 when there is no such book. */
function bookPath(view: TreeView, book: string): string {
  const path = `${HOME}/${book}`;
  if (!isPlainName(book) || !view.exists(`${path}/${PROPS_FILE}`)) throw new HttpError(404, 'ENOTFOUND', `no address book '${book.slice(0, 100)}'`);
  return path;
}

/** A name the UI addresses: one path segment, not hidden (`.props.json`) and without controls. */
function isPlainName(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !/[/\u0000-\u001f\u007f]/.test(name);
}

// ------------------------------------------------------------------------------- cards

function storedCard(view: TreeView, book: string, name: string): { path: string; etag: ObjectId; bytes: Buffer; card: VCard } {
  const path = `${bookPath(view, book)}/${name}`;
  const etag = isPlainName(name) ? view.baseBlobId(path) : undefined;
  if (etag === undefined) throw notFound(book, name);
  const bytes = view.get(path)!;
  try {
    return { path, etag, bytes, card: parseVCard(bytes) };
  } catch (err) {
    if (err instanceof InvalidVCard) throw new HttpError(422, 'EVCARD', `the stored card does not read (${err.message}): edit it with another client`);
    throw err;
  }
}

function listedCard(store: Store, id: ObjectId): Contact | null {
  let contact = listedCards.get(id);
  if (contact === undefined) {
    try {
      contact = contactOf(parseVCard(store.odb.readTyped(id, 'blob')));
    } catch (err) {
      if (!(err instanceof InvalidVCard)) throw err;
      contact = null;
    }
    listedCards.set(id, contact);
  }
  return contact;
}

function contactOf(card: VCard): Contact {
  const texts = (name: string) => card.properties.filter((p) => p.name === name).map(textOf);
  const n = card.properties.find((p) => p.name === 'N');
  return {
    uid: card.uid,
    fullName: texts('FN')[0] ?? (n === undefined ? '' : fullNameOfN(n.value)),
    emails: texts('EMAIL'),
    phones: texts('TEL'),
    org: texts('ORG')[0] ?? '',
    note: texts('NOTE')[0] ?? '',
  };
}

/** A property's value as a person reads it: ORG's components (company, department…) joined by ', '. */
function textOf(property: VCardProperty): string {
  if (property.name === 'ORG') return components(property.value).filter((c) => c !== '').join(', ');
  return unescapeValue(property.value);
}

/** N (family; given; additional; prefixes; suffixes) as a name in reading order. */
function fullNameOfN(value: string): string {
  const [family = '', given = '', additional = '', prefixes = '', suffixes = ''] = components(value);
  return [prefixes, given, additional, family, suffixes].filter((c) => c !== '').join(' ');
}

/** The texts of a structured value's components (split at the semicolons that are not escaped). */
function components(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === ';') {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts.map(unescapeValue);
}

function matches(contact: Contact, query: string): boolean {
  return query === '' || [contact.fullName, contact.org, ...contact.emails, ...contact.phones].some((text) => text.toLowerCase().includes(query));
}

// ------------------------------------------------------------------------------- writing

function fieldsOf(body: Record<string, unknown>): ContactFields {
  const fullName = stringField(body, 'fullName', { allowEmpty: true, maxChars: MAX_TEXT_CHARS }).trim();
  if (fullName === '') throw new HttpError(400, 'EINVAL', 'a contact needs a name');
  return {
    fullName,
    emails: listField(body, 'emails'),
    phones: listField(body, 'phones'),
    org: stringField(body, 'org', { allowEmpty: true, fallback: '', maxChars: MAX_TEXT_CHARS }).trim(),
    note: stringField(body, 'note', { allowEmpty: true, fallback: '', maxChars: MAX_NOTE_CHARS }).trim(),
  };
}

function listField(body: Record<string, unknown>, name: string): string[] {
  const value = body[name] ?? [];
  if (!Array.isArray(value) || value.length > MAX_VALUES || !value.every((item) => typeof item === 'string' && item.length <= MAX_TEXT_CHARS)) {
    throw new HttpError(400, 'EINVAL', `field '${name}' must be a list of at most ${MAX_VALUES} strings of at most ${MAX_TEXT_CHARS} characters`);
  }
  return (value as string[]).map((item) => item.trim()).filter((item) => item !== '');
}

/** The texts each edited property gets: N is written again only with a new name, or it keeps what its writer put in it. */
function editedValues(fields: ContactFields, nameChanged: boolean): Map<string, string[]> {
  const optional = (text: string) => (text === '' ? [] : [text]);
  const edited = new Map([['FN', [fields.fullName]]]);
  if (nameChanged) edited.set('N', [fields.fullName]);
  return edited.set('EMAIL', fields.emails).set('TEL', fields.phones).set('ORG', optional(fields.org)).set('NOTE', optional(fields.note));
}

/** A stored card's content lines as written (unfolded), one per parsed property. */
function cardLines(bytes: Buffer, card: VCard): CardLine[] {
  // Split as parseVCard splits: BEGIN first, END last, the properties in between.
  const raw = unfoldLines(new TextDecoder().decode(bytes)).filter((line) => line !== '');
  return card.properties.map((property, i) => ({ property, raw: raw[i + 1]! }));
}

/**
 * The card's lines with the edited properties rewritten where they first stood (or added at
 * the end) and every other line kept as written.
 */
function revisedLines(lines: readonly CardLine[], edited: ReadonlyMap<string, readonly string[]>): string[] {
  const replaced = new Map<string, CardLine[]>();
  for (const name of edited.keys()) {
    const same = lines.filter((line) => line.property.name === name);
    replaced.set(name, LISTS.has(name) ? same : same.slice(0, 1));
  }
  const out: string[] = [];
  const placed = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name)) return;
    placed.add(name);
    out.push(...propertyLines(name, replaced.get(name)!, edited.get(name)!));
  };
  for (const line of lines) {
    if (replaced.get(line.property.name)?.includes(line)) place(line.property.name);
    else out.push(line.raw);
  }
  for (const name of edited.keys()) place(name);
  return out;
}

/**
 * The lines of one edited property: a value the card already has keeps its line as written
 * (parameters, group, escapes); a new value takes the parameters of a line whose value went
 * (a corrected email stays TYPE=work), or none.
 */
function propertyLines(name: string, old: readonly CardLine[], values: readonly string[]): string[] {
  const unused = [...old];
  const kept = values.map((value) => {
    const at = unused.findIndex((line) => textOf(line.property) === value);
    return at < 0 ? undefined : unused.splice(at, 1)[0];
  });
  return values.map((value, i) => kept[i]?.raw ?? `${headOf(unused.shift()) ?? name}:${name === 'N' ? structuredName(value) : escapeValue(value)}`);
}

/** `[group.]NAME;params` of a line, unless a VALUE parameter says its value is not text (a tel: URI). */
function headOf(line: CardLine | undefined): string | undefined {
  if (line === undefined || line.property.params.has('VALUE')) return undefined;
  return line.raw.slice(0, line.raw.length - line.property.value.length - 1);
}

/** N from a full name: the last word as family name, the others as given names. */
function structuredName(fullName: string): string {
  const words = fullName.split(/\s+/);
  const family = words.length > 1 ? words.pop()! : '';
  return `${escapeValue(family)};${escapeValue(words.join(' '))};;;`;
}

/** A text value escaped (RFC 6350 §3.4): backslash, comma, semicolon and line breaks. */
function escapeValue(text: string): string {
  return text.replace(/[\\,;]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, '\\n');
}

/** The card's bytes (CRLF, folded), refused with 400 unless the DAV server would store them (size, parse). */
function checkedCard(lines: readonly string[]): Buffer {
  const bytes = Buffer.from(lines.map((line) => `${foldLine(line)}\r\n`).join(''));
  if (bytes.length > contactsKind.maxMemberBytes) throw new HttpError(400, 'EINVAL', `a contact may have at most ${contactsKind.maxMemberBytes} bytes`);
  try {
    parseVCard(bytes);
  } catch (err) {
    if (err instanceof InvalidVCard) throw new HttpError(400, 'EINVAL', `not a valid contact: ${err.message}`);
    throw err;
  }
  return bytes;
}

function blobId(store: Store, bytes: Buffer): ObjectId {
  return store.odb.hashAll([{ type: 'blob', content: bytes }])[0]!;
}

function notFound(book: string, name: string): HttpError {
  return new HttpError(404, 'ENOTFOUND', `no contact '${name.slice(0, 100)}' in '${book.slice(0, 100)}'`);
}
