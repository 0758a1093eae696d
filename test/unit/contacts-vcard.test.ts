/**
 * The vCard model of CardDAV and addressbook-query filters: vCards as real clients write them
 * (Apple, Google, Thunderbird, DAVx5, vdirsyncer), the ones an address book must refuse, a
 * seeded fuzz that may only ever produce InvalidVCard, and each kind of filter.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileAddressbookFilter, matchesAddressbookFilter, UnsupportedFilter } from '../../firmware/apps/contacts/filter.js';
import { InvalidVCard, parseVCard, unescapeValue, type VCard, type VCardPrecondition } from '../../firmware/apps/contacts/vcard.js';
import { parseXml } from '../../firmware/http/dav/xml.js';
import { Random } from '../_lib/random.js';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.map((line) => `${line}\r\n`).join(''));

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
  'item2.X-ABADR:us',
  'NOTE:Line one\\nLine two\\, with a comma',
  'BDAY;VALUE=date:1604-03-15',
  'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQ',
  ' NDAsLDBkSEx8QFB0aHx4dGhwcICQuJyAiLCMcHCg3KSwwMTQ0NB8nOT04MjwuMzQy/9k=',
  'X-SOCIALPROFILE;type=twitter:https://twitter.com/johnny',
  'UID:6A1E4C2B-8F3D-4E5A-9B7C-0D1E2F3A4B5C',
  'REV:2024-05-01T12:00:00Z',
  'END:VCARD',
);

const GOOGLE = crlf(
  'BEGIN:VCARD',
  'VERSION:3.0',
  'N:Müller;Anna;;;',
  'FN:Anna Müller',
  'EMAIL;TYPE=INTERNET,WORK:anna.mueller@example.de',
  'TEL;TYPE=CELL:+49 170 1234567',
  'CATEGORIES:myContacts,starred',
  'UID:c0ffee1234567890',
  'END:VCARD',
);

const THUNDERBIRD = crlf(
  'BEGIN:VCARD',
  'VERSION:4.0',
  'EMAIL;PREF=1:bob@example.org',
  'EMAIL;TYPE=work:bob@work.example',
  'FN:Bob Builder',
  'N:Builder;Bob;;;',
  'TEL;TYPE="voice,home";VALUE=TEXT:+44 20 7946 0000',
  'UID:8d6a1b9e-2f4c-4c1e-9a3b-5e7f6d8c9b0a',
  'END:VCARD',
);

// DAVx5 writes 3.0 with LF endings when asked to, groups for custom labels, and 6868 carets.
const DAVX5 = Buffer.from(
  [
    'BEGIN:VCARD',
    'VERSION:3.0',
    'PRODID:+//IDN bitfire.at//DAVx5/4.3.13-ose ez-vcard/0.12.1',
    'UID:2fd6b0e2-4a3f-49d2-8d6a-8a3e6b2f0c11',
    'FN:Chloé Durand',
    'N:Durand;Chloé;;;',
    'item1.TEL:+33 1 23 45 67 89',
    'item1.X-ABLabel:bureau',
    'ADR;LABEL="12 rue de la Paix^n75002 Paris";TYPE=work:;;12 rue de la Paix;Paris;;75002;France',
    'X-ADDRESSBOOKSERVER-KIND:individual',
    'END:VCARD',
    '',
  ].join('\n'),
);

// vdirsyncer passes cards through untouched, so a folded 4.0 card with a tab fold must survive.
const VDIRSYNCER = Buffer.from(
  'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nFN:Dieter\r\n\t Schmidt-Ös\r\n terreich\r\nNOTE:a very long note that a writer folded at seventy-five octets as the RF\r\n C says\r\nEND:VCARD\r\n',
);

function expectInvalid(bytes: Buffer | string, precondition: VCardPrecondition, message?: RegExp): void {
  try {
    parseVCard(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  } catch (err) {
    assert.instance(err, InvalidVCard);
    assert.is((err as InvalidVCard).precondition, precondition);
    if (message !== undefined) assert.match((err as InvalidVCard).message, message);
    return;
  }
  assert.unreachable(`accepted: ${String(bytes).slice(0, 80)}`);
}

const props = (card: VCard, name: string) => card.properties.filter((p) => p.name === name);

// ---- parsing ----------------------------------------------------------------------------------

test('Apple 3.0: groups, repeated TYPE, escapes, a folded base64 PHOTO', () => {
  const card = parseVCard(APPLE);
  assert.is(card.uid, '6A1E4C2B-8F3D-4E5A-9B7C-0D1E2F3A4B5C');
  assert.is(card.version, '3.0');
  const [home, work] = props(card, 'EMAIL');
  assert.is(home!.group, 'ITEM1');
  assert.equal(home!.params.get('TYPE'), ['INTERNET', 'HOME', 'pref']);
  assert.is(home!.value, 'johnny@example.com');
  assert.is(work!.group, undefined);
  assert.is(props(card, 'X-ABLABEL')[0]!.group, 'ITEM1');
  assert.is(props(card, 'NOTE')[0]!.value, 'Line one\\nLine two\\, with a comma');
  assert.is(unescapeValue(props(card, 'NOTE')[0]!.value), 'Line one\nLine two, with a comma');
  const photo = props(card, 'PHOTO')[0]!;
  assert.equal(photo.params.get('ENCODING'), ['b']);
  assert.ok(photo.value.endsWith('KSwwMTQ0NB8nOT04MjwuMzQy/9k='), 'folded base64 joined without the fold space');
  assert.is(Buffer.from(photo.value, 'base64').subarray(0, 3).toString('hex'), 'ffd8ff');
  assert.is(props(card, 'ADR')[0]!.value, ';;1 Infinite Loop;Cupertino;CA;95014;United States');
  assert.is(card.properties.length, 17);
});

test('Google, Thunderbird, DAVx5, vdirsyncer cards parse', () => {
  const google = parseVCard(GOOGLE);
  assert.equal(props(google, 'EMAIL')[0]!.params.get('TYPE'), ['INTERNET', 'WORK']);
  assert.is(props(google, 'FN')[0]!.value, 'Anna Müller');

  const thunderbird = parseVCard(THUNDERBIRD);
  assert.is(thunderbird.version, '4.0');
  assert.equal(props(thunderbird, 'TEL')[0]!.params.get('TYPE'), ['voice', 'home'], 'a quoted TYPE list is a list');
  assert.equal(props(thunderbird, 'TEL')[0]!.params.get('VALUE'), ['TEXT']);
  assert.equal(props(thunderbird, 'EMAIL')[0]!.params.get('PREF'), ['1']);

  const davx5 = parseVCard(DAVX5);
  assert.is(davx5.uid, '2fd6b0e2-4a3f-49d2-8d6a-8a3e6b2f0c11');
  assert.equal(props(davx5, 'ADR')[0]!.params.get('LABEL'), ['12 rue de la Paix\n75002 Paris'], 'RFC 6868 ^n');
  assert.is(props(davx5, 'TEL')[0]!.group, 'ITEM1');

  const vdir = parseVCard(VDIRSYNCER);
  assert.is(vdir.uid, 'urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1');
  assert.is(props(vdir, 'FN')[0]!.value, 'Dieter Schmidt-Österreich');
  assert.is(props(vdir, 'NOTE')[0]!.value, 'a very long note that a writer folded at seventy-five octets as the RFC says');
});

test('leniency real files need: lowercase, a BOM, blank lines, bare parameters, N without FN, VERSION last', () => {
  const card = parseVCard(Buffer.from('\ufeffbegin:vcard\r\n\r\nn:Doe;Jane;;;\r\ntel;cell;home:123\r\nuid:x\\,1\r\nversion:4.0\r\nend:vcard\r\n\r\n'));
  assert.is(card.uid, 'x,1');
  assert.is(card.version, '4.0');
  assert.equal(props(card, 'TEL')[0]!.params.get('TYPE'), ['cell', 'home']);
  assert.is(parseVCard(Buffer.from('BEGIN:VCARD\nVERSION:3.0\nFN:No newline at the end\nUID:1\nEND:VCARD')).uid, '1');
  const odd = parseVCard(crlf('BEGIN:VCARD', 'VERSION:3.0', 'FN;X-A="a;b:c",d;X-B=:x', 'UID:u', 'END:VCARD'));
  assert.equal(props(odd, 'FN')[0]!.params.get('X-A'), ['a;b:c', 'd']);
  assert.equal(props(odd, 'FN')[0]!.params.get('X-B'), ['']);
  assert.is(props(odd, 'FN')[0]!.value, 'x');
});

test('refused: no UID, two vCards, not a vCard, other versions, broken structure', () => {
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'END:VCARD'), 'valid-address-data', /no UID/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:', 'END:VCARD'), 'valid-address-data', /no UID/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:a', 'UID:b', 'END:VCARD'), 'valid-address-data', /more than one UID/);
  expectInvalid(Buffer.concat([GOOGLE, THUNDERBIRD]), 'valid-address-data', /more than one vCard/);
  expectInvalid(crlf('BEGIN:VCALENDAR', 'VERSION:2.0', 'END:VCALENDAR'), 'valid-address-data', /not a vCard/);
  expectInvalid('<?xml version="1.0"?><vcard/>', 'valid-address-data');
  expectInvalid('', 'valid-address-data', /empty/);
  expectInvalid('\r\n\r\n', 'valid-address-data', /empty/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:2.1', 'N;ENCODING=QUOTED-PRINTABLE:=41=', '=42', 'UID:1', 'END:VCARD'), 'supported-address-data', /2\.1/);
  expectInvalid(crlf('BEGIN:VCARD', 'FN:x', 'UID:1', 'END:VCARD'), 'valid-address-data', /no VERSION/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'VERSION:4.0', 'FN:x', 'UID:1', 'END:VCARD'), 'valid-address-data', /more than one VERSION/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:1', 'NOTE:x', 'END:VCARD'), 'valid-address-data', /no FN/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1'), 'valid-address-data', /no END/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1', 'END:VEVENT'), 'valid-address-data', /does not match/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1', 'BEGIN:VCARD', 'END:VCARD', 'END:VCARD'), 'valid-address-data', /nested/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1', 'END:VCARD', 'NOTE:after'), 'valid-address-data', /after END/);
  expectInvalid(crlf('NOTE:before', 'BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1', 'END:VCARD'), 'valid-address-data');
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1', ':no name', 'END:VCARD'), 'valid-address-data', /not a content line/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:x', 'UID:1', 'NOTE no colon', 'END:VCARD'), 'valid-address-data');
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN;X="open:x', 'UID:1', 'END:VCARD'), 'valid-address-data', /unterminated/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN;X=a"b":x', 'UID:1', 'END:VCARD'), 'valid-address-data', /malformed parameter/);
  expectInvalid(crlf('BEGIN:VCARD', 'VERSION:4.0', 'FN:a\u0000b', 'UID:1', 'END:VCARD'), 'valid-address-data', /control/);
  expectInvalid(Buffer.concat([crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:1'), Buffer.from([0x46, 0x4e, 0x3a, 0xff, 0xfe, 0x0d, 0x0a]), crlf('END:VCARD')]), 'valid-address-data', /UTF-8/);
});


test('fuzz: 2,000 mutated cards either parse or throw InvalidVCard, nothing else', () => {
  const rng = new Random(0xcafe);
  const next = (below: number) => rng.int(below);
  const seeds = [APPLE, GOOGLE, THUNDERBIRD, DAVX5, VDIRSYNCER];
  const tokens = ['\r\n', '\n', '\r', ' ', '\t', ':', ';', ',', '"', '=', '.', '\\', '^', 'BEGIN:VCARD', 'END:VCARD', 'VERSION:2.1', 'UID:', '\u0000', '\u00ff', '\ud83d\ude00'].map((t) => Buffer.from(t));
  let parsed = 0;
  for (let i = 0; i < 2000; i++) {
    let bytes = Buffer.from(seeds[next(seeds.length)]!);
    for (let edits = 1 + next(4); edits > 0; edits--) {
      const at = next(bytes.length + 1);
      switch (next(5)) {
        case 0: // flip a byte
          if (at < bytes.length) bytes[at] = next(256);
          break;
        case 1: // insert a token that matters to the grammar
          bytes = Buffer.concat([bytes.subarray(0, at), tokens[next(tokens.length)]!, bytes.subarray(at)]);
          break;
        case 2: // delete a run
          bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + next(20))]);
          break;
        case 3: // truncate
          bytes = bytes.subarray(0, at);
          break;
        default: // duplicate a run
          bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + next(200)), bytes.subarray(at)]);
      }
    }
    try {
      const card = parseVCard(bytes);
      assert.ok(card.uid.trim() !== '' && (card.version === '3.0' || card.version === '4.0'));
      parsed++;
    } catch (err) {
      if (!(err instanceof InvalidVCard)) assert.unreachable(`case ${i} threw ${String(err)} on ${JSON.stringify(bytes.toString('latin1'))}`);
    }
  }
  assert.ok(parsed > 100 && parsed < 1900, `${parsed} of 2,000 parsed: the mutations should hit both sides`);
});

test('hostile sizes stay linear: many parameters, a long quoted TYPE list', () => {
  const manyParams = `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:1\r\nFN${';X-A=b'.repeat(100_000)}:x\r\nEND:VCARD\r\n`;
  const started = performance.now();
  assert.is(props(parseVCard(Buffer.from(manyParams)), 'FN')[0]!.params.get('X-A')!.length, 100_000);
  const longType = `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:1\r\nFN;TYPE="${'a,'.repeat(300_000)}":x\r\nEND:VCARD\r\n`;
  assert.is(props(parseVCard(Buffer.from(longType)), 'FN')[0]!.params.get('TYPE')!.length, 300_001);
  assert.ok(performance.now() - started < 5000);
});

// ---- filters ----------------------------------------------------------------------------------

const CR = 'urn:ietf:params:xml:ns:carddav';
const filterOf = (inner: string, attrs = ''): ReturnType<typeof parseXml> => parseXml(`<C:filter xmlns:C="${CR}" ${attrs}>${inner}</C:filter>`);
const cards = { apple: parseVCard(APPLE), google: parseVCard(GOOGLE), thunderbird: parseVCard(THUNDERBIRD), davx5: parseVCard(DAVX5) };
type CardName = keyof typeof cards;

function expectMatches(inner: string, expected: CardName[], attrs = ''): void {
  const filter = filterOf(inner, attrs);
  const matching = (Object.keys(cards) as CardName[]).filter((name) => matchesAddressbookFilter(cards[name], filter));
  assert.equal(matching, expected, inner);
}

test('filter: an empty filter matches every card; prop-filter existence and is-not-defined', () => {
  expectMatches('', ['apple', 'google', 'thunderbird', 'davx5']);
  expectMatches('<C:prop-filter name="EMAIL"/>', ['apple', 'google', 'thunderbird']);
  expectMatches('<C:prop-filter name="email"/>', ['apple', 'google', 'thunderbird']);
  expectMatches('<C:prop-filter name="EMAIL"><C:is-not-defined/></C:prop-filter>', ['davx5']);
  expectMatches('<C:prop-filter name="item1.X-ABLabel"/>', ['apple', 'davx5']);
});

test('filter: text-match match types, collations, negation', () => {
  expectMatches('<C:prop-filter name="FN"><C:text-match>MÜLLER</C:text-match></C:prop-filter>', ['google']);
  expectMatches('<C:prop-filter name="FN"><C:text-match match-type="equals">bob builder</C:text-match></C:prop-filter>', ['thunderbird']);
  expectMatches('<C:prop-filter name="FN"><C:text-match match-type="starts-with">dr.</C:text-match></C:prop-filter>', ['apple']);
  expectMatches('<C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">.example</C:text-match></C:prop-filter>', ['apple', 'thunderbird']);
  expectMatches('<C:prop-filter name="FN"><C:text-match collation="i;octet">bob</C:text-match></C:prop-filter>', []);
  expectMatches('<C:prop-filter name="FN"><C:text-match collation="i;octet">Bob</C:text-match></C:prop-filter>', ['thunderbird']);
  expectMatches('<C:prop-filter name="FN"><C:text-match collation="i;ascii-casemap">ANNA</C:text-match></C:prop-filter>', ['google']);
  expectMatches('<C:prop-filter name="FN"><C:text-match collation="i;ascii-casemap">müller</C:text-match></C:prop-filter>', ['google']);
  expectMatches('<C:prop-filter name="FN"><C:text-match collation="i;ascii-casemap">MÜLLER</C:text-match></C:prop-filter>', []); // Ü is not ASCII
  expectMatches('<C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap">CHLOÉ</C:text-match></C:prop-filter>', ['davx5']);
  expectMatches('<C:prop-filter name="NOTE"><C:text-match>two, with</C:text-match></C:prop-filter>', ['apple']); // unescaped
  expectMatches('<C:prop-filter name="N"><C:text-match>Durand;Chlo</C:text-match></C:prop-filter>', ['davx5']); // structured, as written
  // Negation applies per property: Apple has a second EMAIL not at example.com.
  expectMatches('<C:prop-filter name="EMAIL"><C:text-match negate-condition="yes">example</C:text-match></C:prop-filter>', []);
  expectMatches('<C:prop-filter name="EMAIL"><C:text-match negate-condition="yes">@example.com</C:text-match></C:prop-filter>', ['apple', 'google', 'thunderbird']);
  expectMatches('<C:prop-filter name="FN"><C:text-match negate-condition="yes">bob</C:text-match></C:prop-filter>', ['apple', 'google', 'davx5']);
  // A negated match still needs the property.
  expectMatches('<C:prop-filter name="NICKNAME"><C:text-match negate-condition="yes">x</C:text-match></C:prop-filter>', []);
});

test('filter: anyof / allof at both levels, within one property', () => {
  const bob = '<C:text-match>bob</C:text-match>';
  const work = '<C:text-match>work</C:text-match>';
  expectMatches(`<C:prop-filter name="EMAIL">${bob}${work}</C:prop-filter>`, ['thunderbird']);
  expectMatches(`<C:prop-filter name="EMAIL" test="allof">${bob}${work}</C:prop-filter>`, ['thunderbird']);
  // allof holds within one EMAIL: Apple's two EMAILs match "johnny" and "apple" apart, never together.
  expectMatches('<C:prop-filter name="EMAIL" test="allof"><C:text-match>johnny</C:text-match><C:text-match>apple</C:text-match></C:prop-filter>', []);
  expectMatches('<C:prop-filter name="EMAIL" test="allof"><C:text-match>jappleseed</C:text-match><C:text-match>apple</C:text-match></C:prop-filter>', ['apple']);
  const anna = '<C:prop-filter name="FN"><C:text-match>anna</C:text-match></C:prop-filter>';
  const cell = '<C:prop-filter name="TEL"><C:param-filter name="TYPE"><C:text-match match-type="equals">cell</C:text-match></C:param-filter></C:prop-filter>';
  expectMatches(anna + cell, ['apple', 'google']);
  expectMatches(anna + cell, ['apple', 'google'], 'test="anyof"');
  expectMatches(anna + cell, ['google'], 'test="allof"');
});

test('filter: param-filter existence, is-not-defined, text-match over list values', () => {
  expectMatches('<C:prop-filter name="EMAIL"><C:param-filter name="PREF"/></C:prop-filter>', ['thunderbird']);
  expectMatches('<C:prop-filter name="TEL"><C:param-filter name="TYPE"><C:is-not-defined/></C:param-filter></C:prop-filter>', ['davx5']);
  expectMatches('<C:prop-filter name="TEL"><C:param-filter name="type"><C:text-match match-type="equals">HOME</C:text-match></C:param-filter></C:prop-filter>', ['thunderbird']);
  expectMatches('<C:prop-filter name="EMAIL"><C:param-filter name="TYPE"><C:text-match match-type="equals">work</C:text-match></C:param-filter></C:prop-filter>', ['apple', 'google', 'thunderbird']);
  // Negated: no TYPE value is "internet"; the parameter must exist.
  expectMatches('<C:prop-filter name="EMAIL"><C:param-filter name="TYPE"><C:text-match match-type="equals" negate-condition="yes">internet</C:text-match></C:param-filter></C:prop-filter>', ['thunderbird']);
  expectMatches('<C:prop-filter name="PHOTO" test="allof"><C:param-filter name="ENCODING"/><C:text-match match-type="starts-with" collation="i;octet">/9j/</C:text-match></C:prop-filter>', ['apple']);
});

test('filter: unsupported collations and malformed filters are refused up front', () => {
  const refused = (inner: string, precondition: string, attrs = '') => {
    try {
      compileAddressbookFilter(filterOf(inner, attrs));
    } catch (err) {
      assert.instance(err, UnsupportedFilter);
      assert.is((err as UnsupportedFilter).precondition, precondition, inner);
      return;
    }
    assert.unreachable(`accepted ${inner}`);
  };
  // Refused even where no card would reach the text-match (the first prop-filter already matches).
  refused('<C:prop-filter name="FN"/><C:prop-filter name="FN"><C:text-match collation="i;basic">x</C:text-match></C:prop-filter>', 'supported-collation');
  refused('<C:prop-filter name="FN"><C:text-match match-type="regex">x</C:text-match></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter name="FN"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter name="FN" test="oneof"/>', 'supported-filter');
  refused('', 'supported-filter', 'test="none"');
  refused('<C:prop-filter/>', 'supported-filter');
  refused('<C:prop-filter name="FN"><C:time-range start="20240101T000000Z"/></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter name="FN"><C:param-filter name="X"><C:text-match>a</C:text-match><C:text-match>b</C:text-match></C:param-filter></C:prop-filter>', 'supported-filter');
  refused('<C:prop-filter name="FN"><C:text-match collation="constructor">x</C:text-match></C:prop-filter>', 'supported-collation');
  assert.throws(() => compileAddressbookFilter(parseXml(`<C:prop-filter xmlns:C="${CR}" name="FN"/>`)), (err: unknown) => err instanceof UnsupportedFilter);
  // Elements of other namespaces are extensions, ignored.
  expectMatches('<C:prop-filter name="FN" xmlns:X="urn:x"><X:fancy/></C:prop-filter>', ['apple', 'google', 'thunderbird', 'davx5']);
});

test.run();
