/**
 * The `vobject` merge type on iCalendar and vCard: property-level merges as clients produce
 * them, true conflicts (which keep both versions), the bookkeeping properties, folding, the
 * fallbacks to opaque, and seeded property tests in the style of merge-types-properties.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_VOBJECT_BYTES, MAX_VOBJECT_DEPTH, mergeVObject, vobjectType, type MergeOutcome, type Value } from '../../firmware/store/merge-types/index.js';
import { Random } from '../_lib/random.js';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.map((line) => `${line}\r\n`).join(''));
const text = (outcome: MergeOutcome): string => {
  if (outcome.kind === 'conflict') return assert.unreachable(`conflict: ${outcome.reason}`) as never;
  return outcome.value!.toString();
};
/** The merge's content lines, unfolded. */
const linesOf = (bytes: Buffer | string): string[] => bytes.toString().replace(/\r\n[ \t]/g, '').split('\r\n').filter((line) => line !== '');

function expectConflict(base: Value, ours: Value, theirs: Value, reason: RegExp): void {
  const outcome = vobjectType.merge(base, ours, theirs);
  assert.is(outcome.kind, 'conflict', outcome.kind === 'merged' ? outcome.value?.toString() : '');
  if (outcome.kind === 'conflict') assert.match(outcome.reason, reason);
}

const event = (uid: string, ...lines: string[]): string[] => ['BEGIN:VEVENT', `UID:${uid}`, ...lines, 'END:VEVENT'];
const calendar = (...lines: string[]): Buffer => crlf('BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Apple Inc.//macOS 14.4//EN', ...lines, 'END:VCALENDAR');

const MEETING = [
  'DTSTAMP:20240501T090000Z',
  'DTSTART;TZID=Europe/Berlin:20240506T100000',
  'DTEND;TZID=Europe/Berlin:20240506T110000',
  'SUMMARY:Weekly sync',
  'RRULE:FREQ=WEEKLY;BYDAY=MO',
  'ORGANIZER;CN=Ann:mailto:ann@example.com',
  'ATTENDEE;CN=Ann;PARTSTAT=ACCEPTED:mailto:ann@example.com',
  'ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com',
  'SEQUENCE:1',
];

// ---- iCalendar --------------------------------------------------------------------------------

test('iCalendar: edits to different properties of one event merge; bookkeeping takes the later', () => {
  const base = calendar(...event('m1', ...MEETING));
  const ours = calendar(...event('m1', ...MEETING.map((l) => (l.startsWith('SUMMARY') ? 'SUMMARY:Weekly sync (room 4)' : l.startsWith('DTSTAMP') ? 'DTSTAMP:20240502T080000Z' : l.startsWith('SEQUENCE') ? 'SEQUENCE:2' : l))));
  const theirs = calendar(
    ...event('m1', ...MEETING.map((l) => (l.startsWith('DTSTAMP') ? 'DTSTAMP:20240503T070000Z' : l.startsWith('SEQUENCE') ? 'SEQUENCE:10' : l)), 'LOCATION:Room 4', 'LAST-MODIFIED:20240503T070000Z'),
  );
  const result = linesOf(text(vobjectType.merge(base, ours, theirs)));
  assert.ok(result.includes('SUMMARY:Weekly sync (room 4)'));
  assert.ok(result.includes('LOCATION:Room 4'));
  assert.ok(result.includes('DTSTAMP:20240503T070000Z'), 'later DTSTAMP');
  assert.ok(result.includes('SEQUENCE:10'), 'SEQUENCE compared as a number, not text');
  assert.ok(result.includes('LAST-MODIFIED:20240503T070000Z'));
  assert.is(result.filter((l) => l.startsWith('SEQUENCE')).length, 1);
});

test('iCalendar: bookkeeping never conflicts — PRODID, X-MOZ-GENERATION, one side dropping LAST-MODIFIED', () => {
  const base = crlf('BEGIN:VCALENDAR', 'PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN', ...event('t', 'SUMMARY:a', 'X-MOZ-GENERATION:9', 'LAST-MODIFIED:20240101T000000Z'), 'END:VCALENDAR');
  const ours = crlf('BEGIN:VCALENDAR', 'PRODID:-//Apple Inc.//macOS 14.4//EN', ...event('t', 'SUMMARY:b', 'X-MOZ-GENERATION:10'), 'END:VCALENDAR');
  const theirs = crlf('BEGIN:VCALENDAR', 'PRODID:-//Apple Inc.//iOS 17.4//EN', ...event('t', 'SUMMARY:a', 'DESCRIPTION:d', 'X-MOZ-GENERATION:11', 'LAST-MODIFIED:20240301T000000Z'), 'END:VCALENDAR');
  const result = linesOf(text(vobjectType.merge(base, ours, theirs)));
  assert.equal(result, ['BEGIN:VCALENDAR', 'PRODID:-//Apple Inc.//iOS 17.4//EN', 'BEGIN:VEVENT', 'UID:t', 'SUMMARY:b', 'DESCRIPTION:d', 'X-MOZ-GENERATION:11', 'LAST-MODIFIED:20240301T000000Z', 'END:VEVENT', 'END:VCALENDAR']);
});

test('iCalendar: attendees are a set; an attendee’s parameters merge like a property', () => {
  const base = calendar(...event('m1', ...MEETING));
  const ours = calendar(...event('m1', ...MEETING.map((l) => l.replace('CN=Bob;PARTSTAT=NEEDS-ACTION', 'CN=Bob;PARTSTAT=ACCEPTED'))));
  const theirs = calendar(...event('m1', ...MEETING.filter((l) => !l.includes('ann@example.com') || l.startsWith('ORGANIZER')), 'ATTENDEE;CN=Cy:mailto:cy@example.com'));
  const result = linesOf(text(vobjectType.merge(base, ours, theirs)));
  assert.equal(
    result.filter((l) => l.startsWith('ATTENDEE')),
    ['ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com', 'ATTENDEE;CN=Cy:mailto:cy@example.com'],
  );
  // Both answer for Bob differently: a true conflict.
  const alsoTheirs = calendar(...event('m1', ...MEETING.map((l) => l.replace('CN=Bob;PARTSTAT=NEEDS-ACTION', 'CN=Bob;PARTSTAT=DECLINED'))));
  expectConflict(base, ours, alsoTheirs, /VCALENDAR#0\/VEVENT\[UID=m1\]\/ATTENDEE:mailto:bob@example.com/);
});

test('iCalendar: EXDATE and CATEGORIES merge item by item', () => {
  const base = calendar(...event('m1', ...MEETING, 'EXDATE;TZID=Europe/Berlin:20240513T100000', 'CATEGORIES:work,weekly'));
  const ours = calendar(...event('m1', ...MEETING, 'EXDATE;TZID=Europe/Berlin:20240513T100000,20240520T100000', 'CATEGORIES:work'));
  // Apple writes one EXDATE a line.
  const theirs = calendar(
    ...event('m1', ...MEETING, 'EXDATE;TZID=Europe/Berlin:20240513T100000', 'EXDATE;TZID=Europe/Berlin:20240603T100000', 'CATEGORIES:work,weekly,team'),
  );
  const result = linesOf(text(vobjectType.merge(base, ours, theirs)));
  assert.equal(result.filter((l) => l.startsWith('EXDATE')), ['EXDATE;TZID=Europe/Berlin:20240513T100000,20240520T100000,20240603T100000']);
  assert.equal(result.filter((l) => l.startsWith('CATEGORIES')), ['CATEGORIES:work,team']);
});

test('iCalendar: events and overrides are matched by UID and RECURRENCE-ID; alarms by position; time zones by TZID', () => {
  const berlin = ['BEGIN:VTIMEZONE', 'TZID:Europe/Berlin', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE'];
  const paris = ['BEGIN:VTIMEZONE', 'TZID:Europe/Paris', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE'];
  const alarm = (trigger: string) => ['BEGIN:VALARM', 'ACTION:DISPLAY', `TRIGGER:${trigger}`, 'END:VALARM'];
  const master = (...extra: string[]) => event('m1', ...MEETING, ...extra);
  const override = (summary: string) => event('m1', 'RECURRENCE-ID;TZID=Europe/Berlin:20240513T100000', 'DTSTART;TZID=Europe/Berlin:20240513T140000', `SUMMARY:${summary}`);
  const base = calendar(...berlin, ...master(...alarm('-PT15M'), ...alarm('-PT1H')));
  const ours = calendar(...paris, ...berlin, ...master(...alarm('-PT10M'), ...alarm('-PT1H')), ...override('Moved'));
  const theirs = calendar(...berlin, ...master(...alarm('-PT15M'), ...alarm('-P1D')), ...event('e2', 'DTSTART:20240601T120000Z', 'SUMMARY:Lunch'));
  const result = linesOf(text(vobjectType.merge(base, ours, theirs)));
  assert.equal(result.filter((l) => l.startsWith('TZID')), ['TZID:Europe/Paris', 'TZID:Europe/Berlin']);
  assert.equal(result.filter((l) => l.startsWith('TRIGGER')), ['TRIGGER:-PT10M', 'TRIGGER:-P1D']);
  // Both sides added after the master: the additions go in content order, e2 before m1's override.
  assert.equal(result.filter((l) => l.startsWith('UID')), ['UID:m1', 'UID:e2', 'UID:m1']);
  assert.ok(result.includes('SUMMARY:Moved') && result.includes('SUMMARY:Lunch'));
  assert.is(result[0], 'BEGIN:VCALENDAR');
  assert.is(result.at(-1), 'END:VCALENDAR');
});

test('iCalendar: an event deleted on one side goes when untouched on the other, conflicts when changed', () => {
  const base = calendar(...event('a', 'SUMMARY:A'), ...event('b', 'SUMMARY:B'));
  const ours = calendar(...event('a', 'SUMMARY:A'));
  const theirs = calendar(...event('a', 'SUMMARY:A'), ...event('b', 'SUMMARY:B'), ...event('c', 'SUMMARY:C'));
  assert.equal(linesOf(text(vobjectType.merge(base, ours, theirs))).filter((l) => l.startsWith('UID')), ['UID:a', 'UID:c']);
  const changed = calendar(...event('a', 'SUMMARY:A'), ...event('b', 'SUMMARY:B!'));
  expectConflict(base, ours, changed, /VEVENT\[UID=b\] \(deleted on one side\)/);
});

// ---- true conflicts ---------------------------------------------------------------------------

test('a true conflict: the merged object is valid with ours for the property, and the outcome is a conflict', () => {
  const base = calendar(...event('m1', ...MEETING));
  const ours = calendar(...event('m1', ...MEETING.map((l) => (l.startsWith('SUMMARY') ? 'SUMMARY:Ours' : l))));
  const theirs = calendar(...event('m1', ...MEETING.map((l) => (l.startsWith('SUMMARY') ? 'SUMMARY:Theirs' : l)), 'LOCATION:Room 4'));
  expectConflict(base, ours, theirs, /^vobject: both sides changed VCALENDAR#0\/VEVENT\[UID=m1\]\/SUMMARY differently$/);
  const result = mergeVObject(base, ours, theirs);
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.equal(result.conflicts, ['VCALENDAR#0/VEVENT[UID=m1]/SUMMARY']);
  const lines = linesOf(result.value);
  assert.ok(lines.includes('SUMMARY:Ours') && !lines.includes('SUMMARY:Theirs'));
  assert.ok(lines.includes('LOCATION:Room 4'), 'theirs’ other changes are applied');
  // The conflict carries that object, so the tree merge keeps it at the path (sides go to conflicts/).
  const outcome = vobjectType.merge(base, ours, theirs);
  assert.ok(outcome.kind === 'conflict' && outcome.value?.equals(result.value));
  // Many conflicts are listed briefly.
  const many = (side: string) => calendar(...['a', 'b', 'c', 'd', 'e', 'f', 'g'].flatMap((uid) => event(uid, `SUMMARY:${side}`)));
  expectConflict(many('base'), many('ours'), many('theirs'), / and 2 more differently$/);
});

// ---- vCard ------------------------------------------------------------------------------------

const card = (...lines: string[]): Buffer => crlf('BEGIN:VCARD', 'VERSION:3.0', 'UID:6A1E4C2B', ...lines, 'END:VCARD');
const JOHNNY = ['N:Appleseed;Johnny;;;', 'FN:Johnny Appleseed', 'item1.EMAIL;type=INTERNET;type=HOME:johnny@example.com', 'item1.X-ABLabel:_$!<Other>!$_', 'TEL;type=CELL:+1 555 0100', 'REV:2024-05-01T12:00:00Z'];

test('vCard: emails and phones are sets, groups keep their labels, REV takes the later', () => {
  const base = card(...JOHNNY);
  const ours = card(...JOHNNY.map((l) => (l.startsWith('REV') ? 'REV:2024-05-02T12:00:00Z' : l.startsWith('TEL') ? 'TEL;type=CELL:+1 555 0199' : l)), 'EMAIL;type=INTERNET;type=WORK:j@work.example');
  const theirs = card(
    ...JOHNNY.map((l) => (l.startsWith('REV') ? 'REV:20240503T120000Z' : l.startsWith('FN') ? 'FN:Johnny Q. Appleseed' : l.includes('X-ABLabel') ? 'item1.X-ABLabel:private' : l)),
    'TEL;type=HOME:+1 555 0200',
    'item2.EMAIL:jq@example.org',
    'item2.X-ABLabel:old',
  );
  const result = linesOf(text(vobjectType.merge(base, ours, theirs)));
  assert.equal(result, [
    'BEGIN:VCARD',
    'VERSION:3.0',
    'UID:6A1E4C2B',
    'N:Appleseed;Johnny;;;',
    'FN:Johnny Q. Appleseed',
    'item1.EMAIL;type=INTERNET;type=HOME:johnny@example.com',
    'item1.X-ABLabel:private',
    'TEL;type=CELL:+1 555 0199',
    'REV:20240503T120000Z',
    // Additions of both sides after REV, ours and theirs ordered by content.
    'EMAIL;type=INTERNET;type=WORK:j@work.example',
    'TEL;type=HOME:+1 555 0200',
    'item2.EMAIL:jq@example.org',
    'item2.X-ABLabel:old',
    'END:VCARD',
  ]);
  assert.equal(vobjectType.merge(base, theirs, ours), vobjectType.merge(base, ours, theirs), 'either way round, the same bytes');
});

test('vCard: the same card added on two devices merges against an empty base', () => {
  const ours = card('FN:Ann', 'EMAIL:ann@home.example');
  const theirs = card('FN:Ann', 'EMAIL:ann@work.example', 'TEL:123');
  assert.equal(linesOf(text(vobjectType.merge(undefined, ours, theirs))).slice(3, -1), ['FN:Ann', 'EMAIL:ann@home.example', 'EMAIL:ann@work.example', 'TEL:123']);
  expectConflict(undefined, card('FN:Ann'), card('FN:Anne'), /VCARD\[UID=6A1E4C2B\]\/FN/);
});

test('vCard: a file of several cards merges card by card', () => {
  const two = (a: string, b: string) => Buffer.concat([crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:a', `FN:${a}`, 'END:VCARD'), crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:b', `FN:${b}`, 'END:VCARD')]);
  assert.is(text(vobjectType.merge(two('A', 'B'), two('A2', 'B'), two('A', 'B2'))), two('A2', 'B2').toString());
});

// ---- writing ----------------------------------------------------------------------------------

test('output: CRLF, folded at 75 octets without splitting a character; LF input is fine', () => {
  const long = `DESCRIPTION:${'Grüße aus Köln 😀 '.repeat(12)}`;
  const base = Buffer.from(['BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'UID:x', 'SUMMARY:a', 'END:VEVENT', 'END:VCALENDAR', ''].join('\n'));
  const ours = Buffer.from(['BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'UID:x', 'SUMMARY:b', 'END:VEVENT', 'END:VCALENDAR', ''].join('\n'));
  const theirs = Buffer.from(['BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'UID:x', 'SUMMARY:a', long.slice(0, 40), ` ${long.slice(40)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\n'));
  const outcome = vobjectType.merge(base, ours, theirs);
  assert.is(outcome.kind, 'merged');
  const bytes = outcome.kind === 'merged' ? outcome.value! : Buffer.alloc(0);
  assert.ok(bytes.toString().endsWith('END:VCALENDAR\r\n'));
  assert.not.ok(/[^\r]\n/.test(bytes.toString()), 'every line ends in CRLF');
  const physical = bytes.toString().split('\r\n');
  for (const line of physical) {
    assert.ok(Buffer.byteLength(line) <= 75, `${Buffer.byteLength(line)} octets: ${line}`);
    assert.not.ok(line.includes('\ufffd'));
  }
  assert.is(physical.filter((line) => line.startsWith(' ')).length, 3, 'the long line (288 octets) is folded in four');
  assert.ok(linesOf(bytes).includes(long), 'unfolding gives the line back');
  assert.ok(linesOf(bytes).includes('SUMMARY:b'));
});

// ---- fallbacks --------------------------------------------------------------------------------

test('what cannot be merged property by property is a conflict, as opaque', () => {
  const good = calendar(...event('a', 'SUMMARY:A'));
  const other = calendar(...event('a', 'SUMMARY:B'));
  const third = calendar(...event('a', 'SUMMARY:C'));
  expectConflict(good, Buffer.from('not a calendar'), other, /ours has a line that is not a content line/);
  expectConflict(good, other, crlf('BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'END:VCALENDAR'), /theirs ends VCALENDAR where VEVENT is open/);
  expectConflict(good, other, crlf('BEGIN:VCALENDAR', 'BEGIN:VEVENT'), /does not end VEVENT/);
  expectConflict(good, other, crlf('SUMMARY:loose'), /outside any component/);
  expectConflict(good, other, Buffer.from([0x42, 0xff, 0x0d, 0x0a]), /not UTF-8/);
  expectConflict(good, other, crlf('BEGIN:VCALENDAR', 'X;Y="unclosed:z', 'END:VCALENDAR'), /not a content line/);
  expectConflict(good, other, crlf('BEGIN:', 'END:'), /no name/);
  expectConflict(good, other, card('FN:x'), /different kinds of objects \(VCALENDAR, VCARD\)/);
  const deep = (n: number) => crlf(...Array.from({ length: n }, (_, i) => `BEGIN:X${i}`), ...Array.from({ length: n }, (_, i) => `END:X${n - 1 - i}`));
  expectConflict(good, other, deep(MAX_VOBJECT_DEPTH + 1), /nested deeper than 16/);
  assert.ok(mergeVObject(deep(MAX_VOBJECT_DEPTH), deep(MAX_VOBJECT_DEPTH), deep(MAX_VOBJECT_DEPTH)).ok, 'the bound itself is fine');
  const big = calendar(...event('a', `DESCRIPTION:${'x'.repeat(MAX_VOBJECT_BYTES)}`));
  expectConflict(big, other, third, /over 1048576 bytes, merged as opaque/);
  // The shared rules still hold without parsing anything.
  assert.equal(vobjectType.merge(big, big, other), { kind: 'merged', value: other });
  assert.equal(vobjectType.merge(good, undefined, good), { kind: 'merged', value: undefined });
  expectConflict(good, undefined, other, /deleted in ours, modified in theirs/);
});

test('fuzz: mutated calendars never make the merge itself throw', () => {
  const random = new Random(40);
  const seed = calendar(...event('m1', ...MEETING, 'BEGIN:VALARM', 'TRIGGER:-PT5M', 'END:VALARM'), ...event('m2', 'SUMMARY:Grüße 😀', 'CATEGORIES:a,b\\,c'));
  const tokens = ['\r\n', '\n', ' ', ':', ';', ',', '"', '\\', '.', 'BEGIN:VEVENT', 'END:VEVENT', 'BEGIN:', 'UID:m1', 'EXDATE:1,2', '\u00ff', '\ud83d\ude00'];
  const mutate = (bytes: Buffer): Buffer => {
    for (let edits = 1 + random.int(2); edits > 0; edits--) {
      const at = random.int(bytes.length + 1);
      if (random.chance(0.3)) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + random.int(30))]);
      else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(random.pick(tokens)), bytes.subarray(at)]);
    }
    return bytes;
  };
  let mergedCount = 0;
  for (let i = 0; i < 1000; i++) {
    const [b, o, t] = [random.chance(0.3) ? seed : mutate(seed), mutate(seed), mutate(seed)];
    if (mergeVObject(b, o, t).ok) mergedCount++;
  }
  assert.ok(mergedCount > 50, `only ${mergedCount} of 1,000 merged`);
});

// ---- property tests ---------------------------------------------------------------------------


const CASES = 400;

/** A card's content: single-valued slots by name, and EMAIL/TEL elements by value with their parameters. */
interface Content {
  singles: Map<string, string>;
  emails: Map<string, string>;
}

const SLOTS = ['FN', 'N', 'ORG', 'TITLE', 'NOTE', 'BDAY', 'item1.X-ABLabel', 'X-PHONETIC-FIRST-NAME'];
const SLOT_VALUES = ['Ann', 'Bob', 'a long value that has to be folded because it goes on and on beyond seventy-five octets', 'Zoë', 'x\\, y', ''];
const ADDRESSES = ['EMAIL:a@example.com', 'EMAIL:b@example.com', 'EMAIL:c@example.com', 'TEL:+1 555 0100', 'TEL:+1 555 0199', 'item1.EMAIL:g@example.com'];
const PARAMS = ['', ';TYPE=HOME', ';TYPE=WORK', ';TYPE=INTERNET,pref'];

/** Property lines of a content, in a shuffled order so that additions land anywhere. */
function linesOfContent(content: Content, random: Random): string[] {
  const singles = [...content.singles].map(([slot, value]) => `${slot}:${value}`);
  const elements = [...content.emails].map(([address, params]) => {
    const colon = address.indexOf(':');
    return `${address.slice(0, colon)}${params}${address.slice(colon)}`;
  });
  return random.shuffle([...singles, ...elements]);
}

const write = (lines: string[]): Buffer => crlf('BEGIN:VCARD', 'VERSION:4.0', 'UID:u1', ...lines, 'END:VCARD');

function randomContent(random: Random): Content {
  return {
    singles: new Map(SLOTS.filter(() => random.chance(0.5)).map((slot) => [slot, random.pick(SLOT_VALUES)])),
    emails: new Map(ADDRESSES.filter(() => random.chance(0.4)).map((address) => [address, random.pick(PARAMS)])),
  };
}

/** A changed copy touching only `slots` and `addresses`: values replaced, added, deleted. */
function mutate(content: Content, random: Random, slots: readonly string[], addresses: readonly string[]): Content {
  const singles = new Map(content.singles);
  const emails = new Map(content.emails);
  for (const slot of slots) {
    if (!random.chance(0.5)) continue;
    if (singles.has(slot) && random.chance(0.3)) singles.delete(slot);
    else singles.set(slot, random.pick(SLOT_VALUES));
  }
  for (const address of addresses) {
    if (!random.chance(0.5)) continue;
    if (emails.has(address) && random.chance(0.5)) emails.delete(address);
    else emails.set(address, random.pick(PARAMS));
  }
  return { singles, emails };
}

/** A card's lines by what they are: EMAIL and TEL elements by name and value, any other line by its name. */
function keyedLines(bytes: Buffer | undefined): Map<string, string> {
  const keyed = new Map<string, string>();
  for (const line of bytes === undefined ? [] : linesOf(bytes)) {
    const head = /^[^;:]+/.exec(line)![0];
    keyed.set(/^(item1\.)?(EMAIL|TEL)$/.test(head) ? `${head}:${line.slice(line.indexOf(':') + 1)}` : head, line);
  }
  return keyed;
}

/**
 * A merged card against an oracle working on keyed lines: a line changed by one side takes
 * that side, an element removed by either side is gone, nothing else may differ (it would
 * have been a conflict); in particular nothing added by one side is lost.
 */
function checkMerged(base: Buffer | undefined, ours: Buffer, theirs: Buffer, result: Buffer, where: string): void {
  const [b, o, t, r] = [base, ours, theirs, result].map(keyedLines) as [Map<string, string>, Map<string, string>, Map<string, string>, Map<string, string>];
  for (const key of new Set([...b.keys(), ...o.keys(), ...t.keys(), ...r.keys()])) {
    const [bl, ol, tl] = [b.get(key), o.get(key), t.get(key)];
    let expected: string | undefined;
    if (ol === tl || bl === tl) expected = ol;
    else if (bl === ol) expected = tl;
    else if (key.includes(':') && (ol === undefined || tl === undefined)) expected = undefined;
    else assert.unreachable(`${key} changed differently on both sides, yet merged: ${where}`);
    assert.is(r.get(key), expected, `${key}: ${where}`);
    if (bl === undefined && (ol !== undefined || tl !== undefined)) assert.ok(r.has(key), `added ${key} lost: ${where}`);
  }
}

test('property: disjoint edits always merge, commute byte for byte, lose nothing added', () => {
  const random = new Random(41);
  for (let i = 0; i < CASES; i++) {
    const baseContent = randomContent(random);
    const slots = random.shuffle(SLOTS);
    const addresses = random.shuffle(ADDRESSES);
    const cut = random.int(SLOTS.length + 1);
    const addressCut = random.int(ADDRESSES.length + 1);
    const base = random.chance(0.1) ? undefined : write(linesOfContent(baseContent, random));
    const from = base === undefined ? { singles: new Map<string, string>(), emails: new Map<string, string>() } : baseContent;
    const ours = write(linesOfContent(mutate(from, random, slots.slice(0, cut), addresses.slice(0, addressCut)), random));
    const theirs = write(linesOfContent(mutate(from, random, slots.slice(cut), addresses.slice(addressCut)), random));
    const where = `case ${i}: ${JSON.stringify([base?.toString(), ours.toString(), theirs.toString()])}`;
    const forward = vobjectType.merge(base, ours, theirs);
    const backward = vobjectType.merge(base, theirs, ours);
    assert.is(forward.kind, 'merged', `${where} → ${forward.kind === 'conflict' ? forward.reason : ''}`);
    assert.equal(forward, backward, `commutes: ${where}`);
    if (forward.kind === 'merged') checkMerged(base, ours, theirs, forward.value!, where);
  }
});

test('property: overlapping edits merge by the rule or conflict, decision symmetric; merge(x, x, y) = y', () => {
  const random = new Random(42);
  let merges = 0;
  let conflicts = 0;
  for (let i = 0; i < CASES; i++) {
    const baseContent = randomContent(random);
    const base = write(linesOfContent(baseContent, random));
    const some = <T>(items: readonly T[]) => items.filter(() => random.chance(0.4));
    const ours = write(linesOfContent(mutate(baseContent, random, some(SLOTS), some(ADDRESSES)), random));
    const theirs = write(linesOfContent(mutate(baseContent, random, some(SLOTS), some(ADDRESSES)), random));
    const where = `case ${i}: ${JSON.stringify([base.toString(), ours.toString(), theirs.toString()])}`;
    for (const side of [ours, theirs]) {
      assert.equal(vobjectType.merge(base, side, side), { kind: 'merged', value: side });
      assert.equal(vobjectType.merge(base, base, side), { kind: 'merged', value: side });
      assert.equal(vobjectType.merge(base, side, base), { kind: 'merged', value: side });
    }
    const forward = vobjectType.merge(base, ours, theirs);
    const backward = vobjectType.merge(base, theirs, ours);
    assert.is(forward.kind, backward.kind, where);
    if (forward.kind === 'merged') {
      assert.equal(forward, backward, `commutes: ${where}`);
      checkMerged(base, ours, theirs, forward.value!, where);
      merges++;
    } else {
      // Even then the merged object exists: ours wherever the sides conflict.
      const result = mergeVObject(base, ours, theirs);
      assert.ok(result.ok && result.conflicts.length > 0, where);
      conflicts++;
    }
  }
  assert.ok(merges > CASES / 4 && conflicts > CASES / 10, `${merges} merges, ${conflicts} conflicts`);
});

/** Events of a calendar by UID, each as its lines (alarms included). */
function eventsOf(bytes: Buffer | undefined): Map<string, string[]> {
  const events = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of bytes === undefined ? [] : linesOf(bytes)) {
    if (line === 'BEGIN:VEVENT') current = [];
    current?.push(line);
    if (line === 'END:VEVENT') {
      events.set(current!.find((l) => l.startsWith('UID:'))!, current!);
      current = undefined;
    }
  }
  return events;
}

test('property: calendars whose sides edit, add and delete different events merge event by event, commuting', () => {
  const random = new Random(44);
  const SUMMARIES = ['Lunch', 'Sync', 'Dentist', 'Flight to Zürich, seat 12A, gate and terminal to be announced by the airline'];
  const randomEvent = (uid: string): string[] =>
    event(
      uid,
      `DTSTART:2024060${1 + random.int(9)}T120000Z`,
      ...(random.chance(0.7) ? [`SUMMARY:${random.pick(SUMMARIES)}`] : []),
      ...(random.chance(0.3) ? ['LOCATION:Room 4'] : []),
      ...(random.chance(0.4) ? ['BEGIN:VALARM', 'ACTION:DISPLAY', `TRIGGER:-PT${5 * (1 + random.int(6))}M`, 'END:VALARM'] : []),
    );
  for (let i = 0; i < CASES / 2; i++) {
    const uids = ['e1', 'e2', 'e3', 'e4', 'e5'].filter(() => random.chance(0.6));
    const baseEvents = new Map(uids.map((uid) => [`UID:${uid}`, randomEvent(uid)]));
    // Each base event belongs to one side, which may leave it, change it or delete it; each side may add its own.
    const sideOf = new Map(uids.map((uid) => [`UID:${uid}`, random.chance(0.5) ? 'ours' : 'theirs']));
    const sideEvents = (side: string): Map<string, string[]> => {
      const events = new Map<string, string[]>();
      for (const [uid, lines] of baseEvents) {
        const roll = sideOf.get(uid) === side ? random.int(3) : 0;
        if (roll === 0) events.set(uid, lines);
        if (roll === 1) events.set(uid, randomEvent(uid.slice(4)));
      }
      for (let n = random.int(3); n > 0; n--) events.set(`UID:${side}-${i}-${n}`, randomEvent(`${side}-${i}-${n}`));
      return events;
    };
    const [ours, theirs] = [sideEvents('ours'), sideEvents('theirs')];
    const writeCalendar = (events: Map<string, string[]>) => calendar(...[...events.values()].flat());
    const [b, o, t] = [writeCalendar(baseEvents), writeCalendar(ours), writeCalendar(theirs)];
    const where = `case ${i}: ${JSON.stringify([b.toString(), o.toString(), t.toString()])}`;
    const forward = vobjectType.merge(b, o, t);
    assert.equal(forward, vobjectType.merge(b, t, o), `commutes: ${where}`);
    const result = eventsOf(Buffer.from(text(forward)));
    for (const uid of new Set([...baseEvents.keys(), ...ours.keys(), ...theirs.keys()])) {
      const [bl, ol, tl] = [baseEvents.get(uid), ours.get(uid), theirs.get(uid)].map((lines) => lines?.join('\n'));
      const expected = ol === bl ? tl : ol;
      assert.is(result.get(uid)?.join('\n'), expected, `${uid}: ${where}`);
    }
  }
});

test('property: the merged output parses again and merges with itself to itself', () => {
  const random = new Random(43);
  for (let i = 0; i < CASES / 4; i++) {
    const baseContent = randomContent(random);
    const base = write(linesOfContent(baseContent, random));
    const ours = write(linesOfContent(mutate(baseContent, random, SLOTS, ADDRESSES), random));
    const theirs = write(linesOfContent(mutate(baseContent, random, SLOTS, ADDRESSES), random));
    const result = mergeVObject(base, ours, theirs);
    assert.ok(result.ok);
    if (!result.ok) continue;
    // Merging the result against two trivially different copies of itself gives it back.
    const again = mergeVObject(result.value, result.value, Buffer.from(result.value.toString().replace(/\r\n/g, '\n')));
    assert.ok(again.ok && again.conflicts.length === 0 && again.value.equals(result.value), `case ${i}`);
  }
});

test.run();
