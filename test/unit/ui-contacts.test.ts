/**
 * The web UI's contacts API on a real store: cards written as CardDAV stores them (vCard 3.0,
 * CRLF, folded, escaped), the default address book made as the DAV server makes it, edits that
 * keep what other clients wrote, ETags, and refusals that commit nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseVCard, unescapeValue } from '../../firmware/apps/contacts/vcard.js';
import { HttpError } from '../../firmware/http/index.js';
import { MAX_LISTED, contactRoutes } from '../../firmware/ui/api/contacts.js';
import type { UiRequest } from '../../firmware/ui/api/context.js';
import { Store, parseJson, unfoldLines } from '../../firmware/store/index.js';
import { rejects } from '../_lib/assert.js';
import { tempDir } from '../_lib/tmp.js';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.map((line) => `${line}\r\n`).join(''));

/** A card as an iPhone PUTs it, with what the UI does not show. */
const APPLE = crlf(
  'BEGIN:VCARD',
  'VERSION:3.0',
  'PRODID:-//Apple Inc.//iPhone OS 17.4//EN',
  'N:Appleseed;Johnny;Q.;Dr.;Jr.',
  'FN:Dr. Johnny Q. Appleseed Jr.',
  'ORG:Apple Inc.;Engineering',
  'item1.EMAIL;type=INTERNET;type=HOME;type=pref:johnny@example.com',
  'item1.X-ABLabel:_$!<Other>!$_',
  'EMAIL;type=INTERNET;type=WORK:jappleseed@apple.example',
  'TEL;type=CELL;type=VOICE;type=pref:+1 (408) 555-0100',
  'item2.ADR;type=HOME;type=pref:;;1 Infinite Loop;Cupertino;CA;95014;United States',
  'NOTE:Line one\\nLine two\\, with a comma',
  'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0a',
  'UID:6B29FC40-CA47-1067-B31D-00DD010662DA',
  'X-SOCIALPROFILE;type=twitter:https://twitter.com/johnny',
  'END:VCARD',
);

function open() {
  const store = Store.open(`${tempDir()}/alice.git`, { durability: 'none' });
  return { store, main: store.branch('main') };
}

/** A UiRequest as the server builds it: the JSON body a readable stream, the query in the URL. */
function request(store: Store, params: Record<string, string>, options: { query?: Record<string, string>; body?: unknown } = {}): UiRequest {
  const req = Readable.from(options.body === undefined ? [] : [Buffer.from(JSON.stringify(options.body))]) as unknown as IncomingMessage;
  req.headers = { 'content-type': 'application/json' };
  const url = new URL(`https://nymote.local/ui/api/contacts?${new URLSearchParams(options.query ?? {})}`);
  return { req, res: {} as ServerResponse, url, user: 'alice', owner: true, store, params };
}

async function call<T = any>(method: string, path: string, store: Store, params: Record<string, string> = {}, options: { query?: Record<string, string>; body?: unknown } = {}): Promise<T> {
  const route = contactRoutes.find((r) => r.method === method && r.path === path);
  assert.ok(route, `${method} ${path}`);
  return (await route.handler(request(store, params, options))) as T;
}

const failsWith = (status: number, code: string) => (err: unknown) => err instanceof HttpError && err.status === status && err.code === code;

test('the first contact makes the default book as the DAV server does; the card is vCard 3.0, CRLF, escaped', async () => {
  const { store, main } = open();
  assert.equal(await call('GET', 'contacts/books', store), [{ name: 'default', displayName: 'Contacts' }]);
  assert.is(main.head(), undefined, 'listing writes nothing');

  const made = await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName: 'Ann Lee', emails: ['ann@example.org', ' '], phones: ['+44 20 7946 0000'], org: 'Acme', note: 'met at FOSDEM' } });
  assert.match(made.name, /^[0-9a-f-]{36}\.vcf$/);
  assert.is(made.name, `${made.uid}.vcf`);
  assert.equal(parseJson(main.get('contacts/.props.json')!), {});
  assert.equal(parseJson(main.get('contacts/default/.props.json')!), { '': { '{DAV:}displayname': '<D:displayname xmlns:D="DAV:">Contacts</D:displayname>' } });

  const bytes = main.get(`contacts/default/${made.name}`)!;
  assert.is(bytes.toString(), `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${made.uid}\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\nEMAIL:ann@example.org\r\nTEL:+44 20 7946 0000\r\nORG:Acme\r\nNOTE:met at FOSDEM\r\nEND:VCARD\r\n`);
  assert.is(made.etag, main.view().baseBlobId(`contacts/default/${made.name}`));
  assert.equal(await call('GET', 'contacts/books', store), [{ name: 'default', displayName: 'Contacts' }]);
  assert.equal(await call('GET', 'contacts/:book/:name', store, { book: 'default', name: made.name }), {
    book: 'default',
    name: made.name,
    uid: made.uid,
    fullName: 'Ann Lee',
    emails: ['ann@example.org'],
    phones: ['+44 20 7946 0000'],
    org: 'Acme',
    note: 'met at FOSDEM',
    etag: made.etag,
  });
});

test('<script> and ;,\\ round-trip exactly; long values fold at 75 octets without splitting a character', async () => {
  const { store, main } = open();
  const fields = {
    fullName: '<script>alert(1)</script>; Doe, \\ Jr.',
    emails: ['a,b@example.org'],
    phones: ['1;2'],
    org: 'A;B, C\\D',
    note: `line one\nline two; é${'é'.repeat(100)}\r\nend`,
  };
  const made = await call('POST', 'contacts/:book', store, { book: 'default' }, { body: fields });
  const bytes = main.get(`contacts/default/${made.name}`)!;
  const card = parseVCard(bytes);
  assert.is(unescapeValue(card.properties.find((p) => p.name === 'FN')!.value), fields.fullName);
  assert.ok(bytes.toString().includes('FN:<script>alert(1)</script>\\; Doe\\, \\\\ Jr.\r\n'));
  for (const line of bytes.toString().split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);
  assert.ok(!bytes.toString().includes('\uFFFD'));
  const read = await call('GET', 'contacts/:book/:name', store, { book: 'default', name: made.name });
  assert.equal({ fullName: read.fullName, emails: read.emails, phones: read.phones, org: read.org, note: read.note }, { ...fields, note: fields.note.replace('\r\n', '\n') });
});

test('search: by name, email, phone or organization in any case, sorted by name, across books', async () => {
  const { store, main } = open();
  for (const [fullName, emails, org] of [['zoë Young', ['zoe@example.org'], 'Initech'], ['Bob Stone', ['BOB@work.example'], ''], ['anna Berg', [], 'Globex']] as const) {
    await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName, emails, org, phones: fullName === 'Bob Stone' ? ['555-0199'] : [] } });
  }
  // A second book, made by a CardDAV client (MKCOL), with a card it PUT.
  await main.transaction((view) => {
    view.set('contacts/work/.props.json', '{"":{"{DAV:}displayname":"<x0:displayname xmlns:x0=\\"DAV:\\">Work &amp; Co</x0:displayname>"}}\n');
    view.set('contacts/work/apple.vcf', APPLE);
    view.set('contacts/work/broken.vcf', 'not a card');
  });
  const names = async (q?: string) => (await call('GET', 'contacts', store, {}, { query: q === undefined ? {} : { q } })).contacts.map((c: { fullName: string }) => c.fullName);
  assert.equal(await names(), ['anna Berg', 'Bob Stone', 'Dr. Johnny Q. Appleseed Jr.', 'zoë Young']);
  assert.equal(await names('ZOË'), ['zoë Young']);
  assert.equal(await names('bob@WORK'), ['Bob Stone']);
  assert.equal(await names('0199'), ['Bob Stone']);
  assert.equal(await names('globex'), ['anna Berg']);
  assert.equal(await names('engineering'), ['Dr. Johnny Q. Appleseed Jr.']);
  assert.equal(await names('nobody'), []);
  const listed = await call('GET', 'contacts', store, {}, { query: { q: 'apple' } });
  assert.equal(listed, {
    contacts: [
      {
        book: 'work',
        name: 'apple.vcf',
        uid: '6B29FC40-CA47-1067-B31D-00DD010662DA',
        fullName: 'Dr. Johnny Q. Appleseed Jr.',
        emails: ['johnny@example.com', 'jappleseed@apple.example'],
        phones: ['+1 (408) 555-0100'],
        org: 'Apple Inc., Engineering',
      },
    ],
    truncated: false,
  });
  assert.equal(await call('GET', 'contacts/books', store), [
    { name: 'default', displayName: 'Contacts' },
    { name: 'work', displayName: 'Work & Co' },
  ]);
});

test('the list is capped and says so', async () => {
  const { store, main } = open();
  await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName: 'First' } });
  await main.transaction((view) => {
    for (let i = 0; i < MAX_LISTED; i++) view.set(`contacts/default/${i}.vcf`, crlf('BEGIN:VCARD', 'VERSION:3.0', `UID:u${i}`, `FN:Person ${i}`, 'END:VCARD'));
  });
  const { contacts, truncated } = await call('GET', 'contacts', store);
  assert.is(contacts.length, MAX_LISTED);
  assert.is(truncated, true);
  assert.is((await call('GET', 'contacts', store, {}, { query: { q: 'person 1999' } })).truncated, false);
});

test('an edit rewrites what the form shows and keeps every other line as written', async () => {
  const { store, main } = open();
  await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName: 'Placeholder' } });
  await main.set('contacts/default/apple.vcf', APPLE);
  const before = await call('GET', 'contacts/:book/:name', store, { book: 'default', name: 'apple.vcf' });
  // The page edits the first email and sends the others back as they were.
  const saved = await call('PUT', 'contacts/:book/:name', store, { book: 'default', name: 'apple.vcf' }, {
    body: { fullName: 'Johnny Appleseed', emails: ['johnny@home.example', 'jappleseed@apple.example'], phones: before.phones, org: before.org, note: 'New note', etag: before.etag },
  });
  const text = main.get('contacts/default/apple.vcf')!.toString();
  assert.is(saved.etag, main.view().baseBlobId('contacts/default/apple.vcf'));
  assert.is(saved.uid, '6B29FC40-CA47-1067-B31D-00DD010662DA');
  for (const line of text.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);
  assert.equal(
    unfoldLines(text),
    [
      'BEGIN:VCARD',
      'VERSION:3.0',
      'PRODID:-//Apple Inc.//iPhone OS 17.4//EN',
      'N:Appleseed;Johnny;;;',
      'FN:Johnny Appleseed',
      'ORG:Apple Inc.;Engineering',
      'item1.EMAIL;type=INTERNET;type=HOME;type=pref:johnny@home.example',
      'EMAIL;type=INTERNET;type=WORK:jappleseed@apple.example',
      'item1.X-ABLabel:_$!<Other>!$_',
      'TEL;type=CELL;type=VOICE;type=pref:+1 (408) 555-0100',
      'item2.ADR;type=HOME;type=pref:;;1 Infinite Loop;Cupertino;CA;95014;United States',
      'NOTE:New note',
      'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0a',
      'UID:6B29FC40-CA47-1067-B31D-00DD010662DA',
      'X-SOCIALPROFILE;type=twitter:https://twitter.com/johnny',
      'END:VCARD',
      '',
    ],
  );
  // Emptied fields go; the name unchanged leaves N as its writer put it.
  const again = await call('PUT', 'contacts/:book/:name', store, { book: 'default', name: 'apple.vcf' }, { body: { fullName: 'Johnny Appleseed', emails: [], phones: [], org: '', note: '', etag: saved.etag } });
  const card = parseVCard(main.get('contacts/default/apple.vcf')!);
  assert.equal(card.properties.filter((p) => ['EMAIL', 'TEL', 'ORG', 'NOTE'].includes(p.name)), []);
  assert.ok(card.properties.some((p) => p.name === 'N' && p.value === 'Appleseed;Johnny;;;'));
  assert.ok(card.properties.some((p) => p.name === 'PHOTO'));
  assert.is(again.name, 'apple.vcf');
});

test('a stale etag is refused with 412 and nothing is committed', async () => {
  const { store, main } = open();
  const made = await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName: 'Ann' } });
  await call('PUT', 'contacts/:book/:name', store, { book: 'default', name: made.name }, { body: { fullName: 'Ann B', etag: made.etag } });
  const head = main.head();
  await rejects(() => call('PUT', 'contacts/:book/:name', store, { book: 'default', name: made.name }, { body: { fullName: 'Ann C', etag: made.etag } }), failsWith(412, 'EETAG'));
  await rejects(() => call('DELETE', 'contacts/:book/:name', store, { book: 'default', name: made.name }, { query: { etag: made.etag } }), failsWith(412, 'EETAG'));
  assert.is(main.head(), head);
});

test('bad input is refused with 400 and nothing is committed', async () => {
  const { store, main } = open();
  const made = await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName: 'Ann' } });
  const head = main.head();
  const bodies: unknown[] = [
    {},
    { fullName: '   ' },
    { fullName: 'x'.repeat(1001) },
    { fullName: 42 },
    { fullName: 'Ann', emails: 'ann@example.org' },
    { fullName: 'Ann', phones: [1] },
    { fullName: 'Ann', emails: Array(101).fill('a@b.c') },
    { fullName: 'Bell\u0007' },
    { fullName: 'Ann', note: 'nul \u0000' },
  ];
  for (const body of bodies) {
    await rejects(() => call('POST', 'contacts/:book', store, { book: 'default' }, { body }), failsWith(400, 'EINVAL'), JSON.stringify(body).slice(0, 60));
    await rejects(() => call('PUT', 'contacts/:book/:name', store, { book: 'default', name: made.name }, { body: { ...(body as object), etag: made.etag } }), failsWith(400, 'EINVAL'));
  }
  await rejects(() => call('PUT', 'contacts/:book/:name', store, { book: 'default', name: made.name }, { body: { fullName: 'Ann' } }), failsWith(400, 'EINVAL'), 'no etag');
  assert.is(main.head(), head);
});

test('unknown books and cards are 404; delete removes the card and its dead properties', async () => {
  const { store, main } = open();
  await rejects(() => call('POST', 'contacts/:book', store, { book: 'work' }, { body: { fullName: 'Ann' } }), failsWith(404, 'ENOTFOUND'));
  const made = await call('POST', 'contacts/:book', store, { book: 'default' }, { body: { fullName: 'Ann' } });
  for (const [book, name] of [['default', 'missing.vcf'], ['work', made.name], ['default', '.props.json'], ['..', made.name]]) {
    await rejects(() => call('GET', 'contacts/:book/:name', store, { book: book!, name: name! }), failsWith(404, 'ENOTFOUND'), `${book}/${name}`);
  }
  await main.set('contacts/default/broken.vcf', 'BEGIN:VCARD\r\nEND:VCARD\r\n');
  await rejects(() => call('GET', 'contacts/:book/:name', store, { book: 'default', name: 'broken.vcf' }), failsWith(422, 'EVCARD'));

  // A dead property a client set on the card (PROPPATCH) goes with it, as in DAV.
  await main.set('contacts/default/.props.json', JSON.stringify({ ...(parseJson(main.get('contacts/default/.props.json')!) as object), [made.name]: { '{urn:x}color': '<x:color xmlns:x="urn:x">red</x:color>' } }));
  assert.equal(await call('DELETE', 'contacts/:book/:name', store, { book: 'default', name: made.name }, { query: { etag: made.etag } }), { book: 'default', name: made.name });
  assert.not.ok(main.exists(`contacts/default/${made.name}`));
  assert.equal(Object.keys(parseJson(main.get('contacts/default/.props.json')!) as object), ['']);
  await rejects(() => call('DELETE', 'contacts/:book/:name', store, { book: 'default', name: made.name }), failsWith(404, 'ENOTFOUND'));
  assert.equal((await call('GET', 'contacts', store)).contacts, []);
});

test.run();
