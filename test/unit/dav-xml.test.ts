/** The DAV XML parser: namespaces, no DTD (no XXE, no entity expansion), bounds; writing back. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseXml, serializeElement, XmlError } from '../../firmware/http/dav/xml.js';
import { Random } from '../_lib/random.js';

test('namespaces resolve by URI, whatever the prefix', () => {
  const root = parseXml('<?xml version="1.0"?><a:propfind xmlns:a="DAV:"><a:prop><x:getctag xmlns:x="http://calendarserver.org/ns/"/><plain xmlns=""/></a:prop></a:propfind>');
  assert.is(root.ns, 'DAV:');
  assert.is(root.name, 'propfind');
  const prop = root.children[0]!;
  assert.equal(prop.children.map((c) => [c.ns, c.name]), [['http://calendarserver.org/ns/', 'getctag'], ['', 'plain']]);
});

const isXmlError = (err: unknown) => err instanceof XmlError;

test('a DOCTYPE is refused: no external entity is read, no entity expands', () => {
  assert.throws(() => parseXml('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'), (err: unknown) => err instanceof XmlError && /DOCTYPE/.test(err.message));
  const laughs = `<!DOCTYPE l [<!ENTITY a "${'a'.repeat(10)}"><!ENTITY b "${'&a;'.repeat(10)}">]><l>${'&b;'.repeat(1000)}</l>`;
  assert.throws(() => parseXml(laughs), isXmlError);
  // Undefined entities are an error, the five predefined ones and character references work.
  assert.throws(() => parseXml('<d>&nbsp;</d>'), isXmlError);
  assert.is(parseXml('<d>&lt;&amp;&#x1F600;</d>').text, '<&\u{1F600}');
});

test('malformed documents and documents over the limits are XmlErrors', () => {
  for (const bad of ['', '<a>', '<a></b>', '<a:b/>', '<a/><b/>', 'text', '<a x="1" x="2"/>']) {
    assert.throws(() => parseXml(bad), isXmlError, bad);
  }
  assert.throws(() => parseXml(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`, { maxDepth: 64, maxElements: 1000, maxTextBytes: 1000 }), /deeper/);
  assert.throws(() => parseXml(`<r>${'<a/>'.repeat(2000)}</r>`, { maxDepth: 64, maxElements: 1000, maxTextBytes: 1000 }), /elements/);
  assert.throws(() => parseXml(`<r>${'x'.repeat(2000)}</r>`, { maxDepth: 64, maxElements: 1000, maxTextBytes: 1000 }), /text/);
});

test('an element written back stands alone: its namespaces declared, text escaped, xml:lang kept', () => {
  const root = parseXml('<D:prop xmlns:D="DAV:" xmlns:Z="http://z/"><Z:v xml:lang="fr">a &amp; b<foo xmlns="http://bar/">c</foo></Z:v><n xmlns="">1</n></D:prop>');
  const written = serializeElement(root.children[0]!);
  assert.is(written, '<x0:v xmlns:x0="http://z/" xmlns:x1="http://bar/" xml:lang="fr">a &amp; b<x1:foo>c</x1:foo></x0:v>');
  const again = parseXml(written);
  assert.equal([again.ns, again.name, again.text, again.children[0]!.ns], ['http://z/', 'v', 'a & b', 'http://bar/']);
  assert.is(serializeElement(root.children[1]!), '<n xmlns="">1</n>');
});


test('fuzz: 3,000 mutated request bodies parse or fail with an XmlError, nothing else', () => {
  const seeds = [
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><C:calendar-data xmlns:C="urn:ietf:params:xml:ns:caldav"/></D:prop></D:propfind>',
    '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://z/"><D:set><D:prop><Z:a xml:lang="en">v &amp; <![CDATA[x<y]]></Z:a></D:prop></D:set></D:propertyupdate>',
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:time-range start="20260101T000000Z"/></C:comp-filter></C:filter></C:calendar-query>',
  ];
  const rng = new Random(12345);
  const random = (below: number) => rng.int(below);
  const alphabet = '<>/&;:="\'![]?xmlns DAV#\u0000\u00e9\ud800';
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const chars = [...seeds[random(seeds.length)]!];
    for (let edits = 1 + random(6); edits > 0; edits--) {
      const at = random(chars.length);
      const op = random(3);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, alphabet[random(alphabet.length)]!);
      else chars.splice(at, random(20));
    }
    try {
      parseXml(chars.join(''));
      parsed++;
    } catch (err) {
      if (!(err instanceof XmlError)) throw err;
    }
  }
  assert.ok(parsed > 100 && parsed < 3000, `${parsed} parsed`);
});

test.run();
