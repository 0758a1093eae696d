/**
 * The DAV server over HTTP, driven by curl against `nymote run`: discovery, CalDAV and CardDAV
 * round trips (ETag = blob id, one commit per change, git can read it), sync-collection,
 * queries with recurrence, free-busy, and bad input refused with the protocol's precondition
 * and nothing stored. Real clients (litmus, vdirsyncer, python-caldav, khal, khard) are in
 * dav-clients.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote, startInstance, tool, type Instance } from '../_lib/cli.js';
import { git } from '../_lib/git.js';
import { tempDir } from '../_lib/tmp.js';

const PASSWORD = 'dav-secret-pass-1';
let data: string;
let instance: Instance;
let gitDir: string;

interface Reply {
  code: number;
  headers: Record<string, string>;
  body: string;
}

/** One request with curl: method, path, optional body and headers, as alice unless `user` says otherwise. */
function dav(method: string, target: string, options: { body?: string; headers?: Record<string, string>; user?: string | null } = {}): Reply {
  const auth = options.user === null ? [] : ['-u', `${options.user ?? 'alice'}:${PASSWORD}`];
  const headers = Object.entries(options.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const body = options.body === undefined ? [] : ['--data-binary', '@-'];
  const headerFile = path.join(data, 'curl-headers');
  const result = tool('curl', ['-sS', '--max-time', '20', '-X', method, '-D', headerFile, ...auth, ...headers, ...body, `${instance.httpUrl}${target}`], options.body);
  assert.is(result.status, 0, result.stderr);
  const blocks = fs.readFileSync(headerFile, 'utf8').split(/\r\n\r\n/).filter((b) => b.startsWith('HTTP/'));
  const last = blocks.at(-1) ?? '';
  const replyHeaders: Record<string, string> = {};
  for (const line of last.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) replyHeaders[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { code: Number(/^HTTP\/\S+ (\d+)/.exec(last)?.[1] ?? 0), headers: replyHeaders, body: result.stdout };
}

const xml = { 'content-type': 'application/xml; charset=utf-8' };
const ics = { 'content-type': 'text/calendar; charset=utf-8' };

function event(uid: string, start: string, extra = '', summary = 'Meeting'): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//dav//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${start}`, 'DURATION:PT1H', `SUMMARY:${summary}`, ...(extra ? [extra] : []), 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

function commits(): number {
  return Number(git(gitDir, ['rev-list', '--count', 'main']).trim());
}

function hrefs(body: string): string[] {
  return [...body.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
}

test.before(async () => {
  data = tempDir('dav');
  for (const user of ['alice', 'bob']) assert.is(nymote(['user', 'add', user, '--password-stdin', '--data', data], { input: `${PASSWORD}\n` }).status, 0);
  gitDir = `${data}/store/alice.git`;
  instance = await startInstance(data);
});

test.after(async () => {
  await instance.stop();
});

test('discovery: well-known redirects, the root names the principal, the principal its homes', () => {
  const wellKnown = dav('PROPFIND', '/.well-known/caldav', { user: null });
  assert.is(wellKnown.code, 301);
  assert.is(wellKnown.headers.location, '/dav/');
  const root = dav('PROPFIND', '/', { user: null });
  assert.is(root.code, 301);
  assert.is(root.headers.location, '/dav/');
  assert.is(dav('PROPFIND', '/dav/', { user: null, headers: { depth: '0' } }).code, 401);
  const davRoot = dav('PROPFIND', '/dav/', { headers: { depth: '0', ...xml }, body: '<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>' });
  assert.is(davRoot.code, 207);
  assert.match(davRoot.body, /<D:current-user-principal><D:href>\/dav\/alice\/<\/D:href>/);
  const principal = dav('PROPFIND', '/dav/alice/', {
    headers: { depth: '0', ...xml },
    body: '<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CR="urn:ietf:params:xml:ns:carddav"><prop><C:calendar-home-set/><CR:addressbook-home-set/><resourcetype/></prop></propfind>',
  });
  assert.match(principal.body, /<C:calendar-home-set><D:href>\/dav\/alice\/calendar\/<\/D:href>/);
  assert.match(principal.body, /<CR:addressbook-home-set><D:href>\/dav\/alice\/contacts\/<\/D:href>/);
  const home = dav('PROPFIND', '/dav/alice/calendar/', { headers: { depth: '1' } });
  assert.ok(hrefs(home.body).includes('/dav/alice/calendar/default/'), home.body);
  assert.match(home.body, /<C:calendar\/>/);
  assert.is(dav('PROPFIND', '/dav/alice/', { user: 'bob', headers: { depth: '0' } }).code, 403);
});

test('CalDAV: MKCALENDAR, PUT with preconditions, ETag is the blob id, one commit each, git reads it', () => {
  const made = dav('MKCALENDAR', '/dav/alice/calendar/work/', {
    headers: xml,
    body: '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Work</D:displayname><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>',
  });
  assert.is(made.code, 201, made.body);
  assert.is(dav('MKCALENDAR', '/dav/alice/calendar/work/').code, 405);
  const before = commits();
  const body = event('standup@test', '20261201T090000Z', 'RRULE:FREQ=DAILY;COUNT=5');
  const put = dav('PUT', '/dav/alice/calendar/work/standup.ics', { headers: { ...ics, 'if-none-match': '*' }, body });
  assert.is(put.code, 201);
  const blob = tool('git', ['hash-object', '--stdin'], body).stdout.trim();
  assert.is(put.headers.etag, `"${blob}"`);
  assert.is(commits(), before + 1);
  assert.match(git(gitDir, ['log', '-1', '--format=%an %s', 'main']), /^alice dav: PUT calendar\/work\/standup\.ics/);
  assert.is(git(gitDir, ['show', 'main:calendar/work/standup.ics']), body);
  const got = dav('GET', '/dav/alice/calendar/work/standup.ics');
  assert.is(got.body, body);
  assert.is(got.headers.etag, `"${blob}"`);
  assert.is(dav('PUT', '/dav/alice/calendar/work/standup.ics', { headers: { ...ics, 'if-none-match': '*' }, body }).code, 412);
  assert.is(dav('PUT', '/dav/alice/calendar/work/standup.ics', { headers: { ...ics, 'if-match': '"0000"' }, body }).code, 412);
  const changed = event('standup@test', '20261201T093000Z', 'RRULE:FREQ=DAILY;COUNT=5');
  assert.is(dav('PUT', '/dav/alice/calendar/work/standup.ics', { headers: { ...ics, 'if-match': `"${blob}"` }, body: changed }).code, 204);
  // VTODO is not in this calendar's component set.
  const todo = body.replaceAll('VEVENT', 'VTODO').replace('standup@test', 'todo@test');
  const refused = dav('PUT', '/dav/alice/calendar/work/todo.ics', { headers: ics, body: todo });
  assert.is(refused.code, 403);
  assert.match(refused.body, /supported-calendar-component/);
  // Renaming within the calendar is fine; a copy beside the original would repeat its UID.
  const move = dav('MOVE', '/dav/alice/calendar/work/standup.ics', { headers: { destination: `${instance.httpUrl}/dav/alice/calendar/work/daily.ics` } });
  assert.is(move.code, 201, move.body);
  const copy = dav('COPY', '/dav/alice/calendar/work/daily.ics', { headers: { destination: '/dav/alice/calendar/work/again.ics' } });
  assert.is(copy.code, 409);
  assert.match(copy.body, /no-uid-conflict/);
  assert.is(dav('COPY', '/dav/alice/calendar/work/', { headers: { destination: '/dav/alice/files/work/' } }).code, 403);
  assert.is(dav('GET', '/dav/alice/calendar/work/standup.ics').code, 404);
  assert.is(dav('GET', '/dav/alice/calendar/work/daily.ics').body, changed);
  const fsck = tool('git', ['--git-dir', gitDir, 'fsck', '--strict']);
  assert.is(fsck.status, 0, fsck.stderr);
});

test('sync-collection: tokens are commits; a change and a delete come back, nothing else', () => {
  const collection = '/dav/alice/calendar/default/';
  for (let i = 0; i < 3; i++) assert.is(dav('PUT', `${collection}e${i}.ics`, { headers: ics, body: event(`e${i}@test`, `2026120${i + 1}T100000Z`) }).code, 201);
  const sync = (token: string) =>
    dav('REPORT', collection, {
      headers: xml,
      body: `<sync-collection xmlns="DAV:"><sync-token>${token}</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>`,
    });
  const first = sync('');
  assert.is(first.code, 207);
  assert.equal(hrefs(first.body).sort(), ['e0.ics', 'e1.ics', 'e2.ics'].map((n) => collection + n));
  const token = /<D:sync-token>([^<]+)<\/D:sync-token>/.exec(first.body)![1]!;
  assert.is(sync(token).body.match(/<D:response>/g), null, 'no changes since the token');
  assert.is(dav('PUT', `${collection}e1.ics`, { headers: ics, body: event('e1@test', '20261202T110000Z') }).code, 204);
  assert.is(dav('DELETE', `${collection}e2.ics`).code, 204);
  const second = sync(token);
  assert.match(second.body, /<D:href>\/dav\/alice\/calendar\/default\/e1.ics<\/D:href><D:propstat><D:prop><D:getetag>/);
  assert.match(second.body, /<D:href>\/dav\/alice\/calendar\/default\/e2.ics<\/D:href><D:status>HTTP\/1.1 404/);
  assert.is(hrefs(second.body).length, 2);
  const bad = sync('http://nymote.org/ns/sync/0123456789012345678901234567890123456789');
  assert.is(bad.code, 403);
  assert.match(bad.body, /valid-sync-token/);
  const ctag = dav('PROPFIND', collection, { headers: { depth: '0', ...xml }, body: '<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:getctag/><sync-token/></prop></propfind>' });
  assert.match(ctag.body, /<CS:getctag>"[0-9a-f]{40}"<\/CS:getctag>/);
  const reports = dav('PROPFIND', collection, { headers: { depth: '0', ...xml }, body: '<propfind xmlns="DAV:"><prop><supported-report-set/></prop></propfind>' });
  for (const name of ['D:sync-collection', 'C:calendar-multiget', 'C:calendar-query', 'C:free-busy-query']) assert.ok(reports.body.includes(`<D:report><${name}/></D:report>`), name);
});

test('calendar-query with time ranges over recurring events, multiget, free-busy', () => {
  const collection = '/dav/alice/calendar/query/';
  assert.is(dav('MKCALENDAR', collection).code, 201);
  const put = (name: string, body: string) => assert.is(dav('PUT', collection + name, { headers: ics, body }).code, 201);
  put('weekly.ics', event('weekly@test', '20260105T090000Z', 'RRULE:FREQ=WEEKLY;UNTIL=20260301T000000Z\r\nEXDATE:20260119T090000Z'));
  put('once.ics', event('once@test', '20260310T120000Z'));
  put('later.ics', event('later@test', '20260601T120000Z'));
  const query = (start: string, end: string) =>
    hrefs(
      dav('REPORT', collection, {
        headers: { depth: '1', ...xml },
        body: `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
      }).body,
    )
      .map((h) => h.slice(collection.length))
      .sort();
  assert.equal(query('20260201T000000Z', '20260401T000000Z'), ['once.ics', 'weekly.ics']);
  // Only the instance of 19 January falls in this range, and it is excluded.
  assert.equal(query('20260119T000000Z', '20260120T000000Z'), []);
  assert.equal(query('20260126T000000Z', '20260127T000000Z'), ['weekly.ics']);
  assert.equal(query('20260501T000000Z', '20270101T000000Z'), ['later.ics']);
  const multiget = dav('REPORT', collection, {
    headers: xml,
    body: `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>${collection}once.ics</D:href><D:href>${collection}missing.ics</D:href></C:calendar-multiget>`,
  });
  assert.match(multiget.body, /<C:calendar-data>BEGIN:VCALENDAR\r?\n?[^]*UID:once@test/);
  assert.match(multiget.body, /missing.ics<\/D:href><D:status>HTTP\/1.1 404/);
  const freeBusy = dav('REPORT', collection, {
    headers: xml,
    body: '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260301T000000Z" end="20260401T000000Z"/></C:free-busy-query>',
  });
  assert.is(freeBusy.code, 200);
  assert.match(freeBusy.body, /BEGIN:VFREEBUSY/);
  assert.match(freeBusy.body, /FREEBUSY[^:]*:20260310T120000Z\/(20260310T130000Z|PT1H)/);
});

test('CardDAV: PUT a vCard, addressbook-query by name, UID conflicts refused', () => {
  const book = '/dav/alice/contacts/default/';
  const card = (uid: string, name: string) => ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:${name}`, `N:${name.split(' ').reverse().join(';')};;;`, 'EMAIL;TYPE=INTERNET:x@example.org', 'END:VCARD', ''].join('\r\n');
  const vcard = { 'content-type': 'text/vcard; charset=utf-8' };
  assert.is(dav('PUT', `${book}ada.vcf`, { headers: vcard, body: card('ada@test', 'Ada Lovelace') }).code, 201);
  assert.is(dav('PUT', `${book}alan.vcf`, { headers: vcard, body: card('alan@test', 'Alan Turing') }).code, 201);
  const clash = dav('PUT', `${book}copy.vcf`, { headers: vcard, body: card('ada@test', 'Ada Again') });
  assert.is(clash.code, 409);
  assert.match(clash.body, /no-uid-conflict/);
  const found = dav('REPORT', book, {
    headers: { depth: '1', ...xml },
    body: '<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><CR:address-data/></D:prop><CR:filter><CR:prop-filter name="FN"><CR:text-match collation="i;unicode-casemap" match-type="contains">lovelace</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>',
  });
  assert.equal(hrefs(found.body), [`${book}ada.vcf`]);
  assert.match(found.body, /<CR:address-data>BEGIN:VCARD/);
});

test('bad input: XXE, billion laughs, malformed XML and data, wrong type, oversize — refused, nothing stored', () => {
  const before = commits();
  const xxe = dav('PROPFIND', '/dav/alice/', { headers: { depth: '0', ...xml }, body: '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><propfind xmlns="DAV:"><prop><displayname>&x;</displayname></prop></propfind>' });
  assert.is(xxe.code, 400);
  assert.not.match(xxe.body, /root:/);
  const laughs = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><propertyupdate xmlns="DAV:"><set><prop><x>&d;&d;&d;&d;</x></prop></set></propertyupdate>';
  assert.is(dav('PROPPATCH', '/dav/alice/calendar/default/', { headers: xml, body: laughs }).code, 400);
  assert.is(dav('PROPFIND', '/dav/alice/', { headers: { depth: '0', ...xml }, body: '<propfind xmlns="DAV:"><prop>' }).code, 400);
  assert.is(dav('PROPFIND', '/dav/alice/', { headers: { depth: 'infinity' } }).code, 403);
  const invalid = dav('PUT', '/dav/alice/calendar/default/bad.ics', { headers: ics, body: 'BEGIN:VCALENDAR\r\nthis is not iCalendar\r\n' });
  assert.is(invalid.code, 403);
  assert.match(invalid.body, /<c:valid-calendar-data xmlns:c="urn:ietf:params:xml:ns:caldav"\/>/);
  const twoUids = event('a@test', '20260101T000000Z').replace('END:VCALENDAR', 'BEGIN:VEVENT\r\nUID:b@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR');
  assert.is(dav('PUT', '/dav/alice/calendar/default/two.ics', { headers: ics, body: twoUids }).code, 403);
  const wrongType = dav('PUT', '/dav/alice/calendar/default/typed.ics', { headers: { 'content-type': 'application/json' }, body: event('t@test', '20260101T000000Z') });
  assert.is(wrongType.code, 415);
  assert.match(wrongType.body, /supported-calendar-data/);
  const badCard = dav('PUT', '/dav/alice/contacts/default/bad.vcf', { headers: { 'content-type': 'text/vcard' }, body: 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nEND:VCARD\r\n' });
  assert.is(badCard.code, 403);
  assert.match(badCard.body, /valid-address-data/);
  const huge = event('huge@test', '20260101T000000Z', `DESCRIPTION:${'x'.repeat(1024 * 1024)}`);
  const tooBig = dav('PUT', '/dav/alice/calendar/default/huge.ics', { headers: ics, body: huge });
  assert.is(tooBig.code, 413);
  assert.match(tooBig.body, /<c:max-resource-size xmlns:c="urn:ietf:params:xml:ns:caldav"\/>/);
  assert.is(dav('PUT', '/dav/alice/calendar/default/deep/x.ics', { headers: ics, body: event('deep@test', '20260101T000000Z') }).code, 409);
  assert.is(dav('PUT', '/dav/alice/calendar/default/a%0Ab.ics', { headers: ics, body: event('nl@test', '20260101T000000Z') }).code, 400);
  assert.is(dav('PUT', '/dav/alice/calendar/default/.props.json', { headers: ics, body: event('props@test', '20260101T000000Z') }).code, 403);
  assert.is(dav('REPORT', '/dav/alice/calendar/default/', { headers: xml, body: '<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="yesterday"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>' }).code, 403);
  assert.is(commits(), before, 'nothing was committed');
  assert.is(dav('GET', '/dav/alice/calendar/default/bad.ics').code, 404);
});

test.run();
