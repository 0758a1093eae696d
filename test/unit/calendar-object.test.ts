import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  InvalidCalendarData,
  MAX_INSTANCES,
  ianaTimezone,
  parseCalendarObject,
  parseCalendarTimezone,
  visitInstances,
  type CalendarObject,
  type CalendarPrecondition,
  type Component,
} from '../../firmware/apps/calendar/calendar-object.js';
import { compileCalendarFilter } from '../../firmware/apps/calendar/filter.js';
import { freeBusyReport } from '../../firmware/apps/calendar/free-busy.js';
import { parseXml } from '../../firmware/http/dav/xml.js';
import { Random } from '../_lib/random.js';
import { BERLIN, NEW_YORK } from '../_lib/timezones.js';

const crlf = (text: string) => Buffer.from(text.trim().replace(/\n/g, '\r\n') + '\r\n');
const utc = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000', '');

/** Thunderbird: a one-off meeting in summer time. */
const THUNDERBIRD_EVENT = `BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
${BERLIN}
BEGIN:VEVENT
CREATED:20240610T091512Z
LAST-MODIFIED:20240610T091540Z
DTSTAMP:20240610T091540Z
UID:6c1f7e22-3b9a-4c1e-9b7e-2f0f5f3d2a11
SUMMARY:Team sync\\, room 4
DTSTART;TZID=Europe/Berlin:20240705T100000
DTEND;TZID=Europe/Berlin:20240705T113000
TRANSP:OPAQUE
ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;CN=Bob:mailto:bob@example.org
X-MOZ-GENERATION:1
END:VEVENT
END:VCALENDAR`;

/** Apple Calendar: a weekly standup (COUNT=6) with one date excluded and one instance moved. */
const APPLE_WEEKLY = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 14.3//EN
CALSCALE:GREGORIAN
${NEW_YORK}
BEGIN:VEVENT
CREATED:20240212T150412Z
DTSTAMP:20240212T150412Z
UID:2F5B0C8E-8A8B-4F4B-9C4A-0E1D9E6A7B3C
DTSTART;TZID=America/New_York:20240304T090000
DTEND;TZID=America/New_York:20240304T093000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=America/New_York:20240318T090000
SUMMARY:Standup
SEQUENCE:1
BEGIN:VALARM
X-WR-ALARMUID:7D6E1A5C-1B2C-4D3E-8F90-ABCDEF012345
UID:7D6E1A5C-1B2C-4D3E-8F90-ABCDEF012345
TRIGGER:-PT15M
ACTION:DISPLAY
DESCRIPTION:Reminder
END:VALARM
END:VEVENT
BEGIN:VEVENT
CREATED:20240212T150412Z
DTSTAMP:20240212T150500Z
UID:2F5B0C8E-8A8B-4F4B-9C4A-0E1D9E6A7B3C
RECURRENCE-ID;TZID=America/New_York:20240311T090000
DTSTART;TZID=America/New_York:20240312T140000
DTEND;TZID=America/New_York:20240312T143000
SUMMARY:Standup (moved)
SEQUENCE:2
END:VEVENT
END:VCALENDAR`;

/** Apple Calendar: an all-day event (floating DATEs). */
const APPLE_ALL_DAY = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 14.3//EN
CALSCALE:GREGORIAN
BEGIN:VEVENT
CREATED:20240212T150412Z
DTEND;VALUE=DATE:20240317
DTSTAMP:20240212T150412Z
DTSTART;VALUE=DATE:20240315
SUMMARY:Conference
TRANSP:TRANSPARENT
UID:0A1B2C3D-4E5F-6789-ABCD-EF0123456789
X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC
END:VEVENT
END:VCALENDAR`;

/** python-caldav: UTC times, no VTIMEZONE; a monthly rule ending by UNTIL, plus an RDATE and an RDATE period. */
const PYTHON_MONTHLY = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//python-caldav//caldav//en_DK
BEGIN:VEVENT
UID:20240301-monthly@example.com
DTSTAMP:20240301T120000Z
DTSTART:20240320T170000Z
DTEND:20240320T180000Z
RRULE:FREQ=MONTHLY;UNTIL=20240620T170000Z
RDATE:20240325T170000Z
RDATE;VALUE=PERIOD:20240401T080000Z/PT4H
SUMMARY:Monthly review
END:VEVENT
END:VCALENDAR`;

function only(object: CalendarObject): Component {
  assert.is(object.calendar.components.length, 1);
  return object.calendar.components[0]!;
}

/**
 * The instances that may meet [from, to] as 'start/end' ISO text. A walk may stop at its time
 * budget (a loaded machine, a long expansion); the next one resumes, so walk until one is done.
 */
function instances(component: Component, from = -Infinity, to = Infinity): string[] {
  for (let walks = 0; walks < 50; walks++) {
    const found: string[] = [];
    const walk = visitInstances(component, undefined, from, to, (a, b) => {
      found.push(`${iso(a)}/${iso(b)}`);
      return false;
    });
    if (walk === 'done') return found;
  }
  throw new Error('the expansion never finished');
}

function refuses(text: string | Buffer, precondition: CalendarPrecondition, message: RegExp, allowed?: Parameters<typeof parseCalendarObject>[1]) {
  try {
    parseCalendarObject(typeof text === 'string' ? crlf(text) : text, allowed);
  } catch (err) {
    assert.instance(err, InvalidCalendarData);
    assert.is((err as InvalidCalendarData).precondition, precondition);
    assert.match((err as InvalidCalendarData).message, message);
    return;
  }
  assert.unreachable(`accepted: ${String(text).slice(0, 80)}`);
}

test('Thunderbird event: UID, type, times through its VTIMEZONE, properties as text', () => {
  const object = parseCalendarObject(crlf(THUNDERBIRD_EVENT));
  assert.is(object.uid, '6c1f7e22-3b9a-4c1e-9b7e-2f0f5f3d2a11');
  assert.is(object.component, 'VEVENT');
  const event = only(object);
  assert.equal(event.span, { rule: 'overlap', a: utc('2024-07-05T08:00:00Z'), b: utc('2024-07-05T09:30:00Z'), floatingA: false, floatingB: false });
  assert.is(event.recurrence, undefined);
  const prop = (name: string) => event.properties.find((p) => p.name === name);
  assert.is(prop('SUMMARY')?.value, 'Team sync, room 4');
  assert.is(prop('DTSTART')?.value, '20240705T100000');
  assert.equal(prop('DTSTART')?.params, { TZID: 'Europe/Berlin' });
  assert.equal(prop('ATTENDEE')?.params, { PARTSTAT: 'NEEDS-ACTION', ROLE: 'REQ-PARTICIPANT', CN: 'Bob' });
  assert.is(object.calendar.properties.find((p) => p.name === 'PRODID')?.value, '-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN');
  assert.ok(object.zones.has('Europe/Berlin'));
});

test('winter time through the same VTIMEZONE is one hour less', () => {
  const object = parseCalendarObject(crlf(THUNDERBIRD_EVENT.replace(/20240705T/g, '20240105T')));
  assert.is(only(object).span!.a, utc('2024-01-05T09:00:00Z'));
});

test('weekly rule: COUNT, EXDATE and a moved instance, across the DST change', () => {
  const object = parseCalendarObject(crlf(APPLE_WEEKLY));
  const [master, moved] = object.calendar.components;
  assert.ok(master!.recurrence !== undefined);
  assert.equal(instances(master!), [
    '2024-03-04T14:00:00Z/2024-03-04T14:30:00Z',
    // 11th: replaced by the override; 18th: EXDATE
    '2024-03-25T13:00:00Z/2024-03-25T13:30:00Z',
    '2024-04-01T13:00:00Z/2024-04-01T13:30:00Z',
    '2024-04-08T13:00:00Z/2024-04-08T13:30:00Z',
  ]);
  assert.equal(instances(moved!), ['2024-03-12T18:00:00Z/2024-03-12T18:30:00Z']);
  assert.equal(master!.components.map((c) => [c.name, c.trigger]), [['VALARM', { related: 'START', offset: -15 * 60_000, repeat: 0, interval: 0 }]]);
});

test('instances are visited only near the range asked for, and a query can stop early', () => {
  const master = parseCalendarObject(crlf(APPLE_WEEKLY)).calendar.components[0]!;
  assert.equal(instances(master, utc('2024-03-26T00:00:00Z'), utc('2024-04-02T00:00:00Z')), ['2024-04-01T13:00:00Z/2024-04-01T13:30:00Z']);
  let seen = 0;
  const walk = visitInstances(master, undefined, -Infinity, Infinity, () => ++seen === 2);
  assert.is(walk, 'stopped');
  assert.is(seen, 2);
});

test('DTSTART is the first instance even where the rule would not give it', () => {
  const text = THUNDERBIRD_EVENT.replace('TRANSP:OPAQUE', 'RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2\nTRANSP:OPAQUE');
  assert.equal(instances(only(parseCalendarObject(crlf(text)))), [
    '2024-07-05T08:00:00Z/2024-07-05T09:30:00Z', // a Friday
    '2024-07-08T08:00:00Z/2024-07-08T09:30:00Z',
    '2024-07-15T08:00:00Z/2024-07-15T09:30:00Z',
  ]);
});

test('a daily or weekly rule begun years ago: a late range gives what expanding from DTSTART gives', () => {
  const rules = [
    'FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2',
    'FREQ=DAILY;BYDAY=MO,FR', // DTSTART, a Wednesday, is not one of the days
    'FREQ=DAILY;INTERVAL=3;BYHOUR=9,17',
    'FREQ=WEEKLY;UNTIL=20240320T000000Z',
    'FREQ=DAILY;BYMONTH=3',
  ];
  const master = (rule: string) =>
    only(parseCalendarObject(crlf(THUNDERBIRD_EVENT.replace(/20240705T/g, '20150304T').replace('TRANSP:OPAQUE', `RRULE:${rule}\nTRANSP:OPAQUE`))));
  const ranges = [
    ['2024-03-01T00:00:00Z', '2024-04-15T00:00:00Z'],
    ['2016-03-01T00:00:00Z', '2016-03-20T00:00:00Z'], // before what the first range kept: starts over
    ['2024-03-25T00:00:00Z', '2024-04-02T00:00:00Z'], // far after it: starts over again
  ];
  // From 1900, past MAX_INSTANCES: found only because the window starts near the range.
  const century = only(parseCalendarObject(crlf(THUNDERBIRD_EVENT.replace(/20240705T/g, '19000101T').replace('TRANSP:OPAQUE', 'RRULE:FREQ=DAILY\nTRANSP:OPAQUE'))));
  const found: number[] = [];
  assert.is(visitInstances(century, undefined, utc('2024-03-01T00:00:00Z'), utc('2024-03-02T00:00:00Z'), (a) => found.push(a) === 0), 'done');
  assert.equal(found.map(iso), ['2024-03-01T09:00:00Z']);
  for (const rule of rules) {
    const everything = instances(master(rule), -Infinity, utc('2024-04-15T00:00:00Z'));
    const windowed = master(rule);
    for (const [from, to] of ranges) {
      const expected = everything.filter((span) => {
        const [a, b] = span.split('/').map(utc) as [number, number];
        return a <= utc(to!) && b >= utc(from!);
      });
      assert.ok(expected.length > 0 || rule.includes('UNTIL'), `${rule}: the range has instances`);
      assert.equal(instances(windowed, utc(from!), utc(to!)), expected, `${rule} in ${from}–${to}`);
    }
  }
});

test('UNTIL in UTC, RDATE and an RDATE period join the monthly rule', () => {
  const object = parseCalendarObject(crlf(PYTHON_MONTHLY));
  assert.equal(instances(only(object)), [
    '2024-03-20T17:00:00Z/2024-03-20T18:00:00Z',
    '2024-03-25T17:00:00Z/2024-03-25T18:00:00Z',
    '2024-04-01T08:00:00Z/2024-04-01T12:00:00Z',
    '2024-04-20T17:00:00Z/2024-04-20T18:00:00Z',
    '2024-05-20T17:00:00Z/2024-05-20T18:00:00Z',
    '2024-06-20T17:00:00Z/2024-06-20T18:00:00Z',
  ]);
});

test('UNTIL given in UTC keeps the last instance of a zoned rule', () => {
  const text = THUNDERBIRD_EVENT.replace('TRANSP:OPAQUE', 'RRULE:FREQ=DAILY;UNTIL=20240707T080000Z\nTRANSP:OPAQUE');
  assert.equal(instances(only(parseCalendarObject(crlf(text)))).length, 3);
});

test('all-day DATEs are floating: UTC by default, the calendar-timezone when given', () => {
  const event = only(parseCalendarObject(crlf(APPLE_ALL_DAY)));
  assert.equal(event.span, { rule: 'overlap', a: utc('2024-03-15T00:00:00Z'), b: utc('2024-03-17T00:00:00Z'), floatingA: true, floatingB: true });
  const newYork = parseCalendarTimezone(`BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n${NEW_YORK.replace(/\n/g, '\r\n')}\r\nEND:VCALENDAR\r\n`);
  const seen: number[] = [];
  visitInstances(event, newYork, -Infinity, Infinity, (a, b) => seen.push(a, b) === 0);
  assert.equal(seen.map(iso), ['2024-03-15T04:00:00Z', '2024-03-17T04:00:00Z']);
});

test('times in a DST gap or fold take the offset before the change (RFC 5545 §3.3.5), by VTIMEZONE or IANA name', () => {
  const vtimezone = parseCalendarTimezone(crlf(`BEGIN:VCALENDAR\nVERSION:2.0\n${BERLIN}\nEND:VCALENDAR`).toString());
  for (const zone of [vtimezone, ianaTimezone('Europe/Berlin')!]) {
    assert.is(iso(zone.toUtc(utc('2024-03-31T01:59:59Z'))), '2024-03-31T00:59:59Z');
    assert.is(iso(zone.toUtc(utc('2024-03-31T02:30:00Z'))), '2024-03-31T01:30:00Z', 'skipped: read as CET');
    assert.is(iso(zone.toUtc(utc('2024-03-31T03:00:00Z'))), '2024-03-31T01:00:00Z');
    assert.is(iso(zone.toUtc(utc('2024-10-27T02:30:00Z'))), '2024-10-27T00:30:00Z', 'repeated: the first, CEST');
    assert.is(iso(zone.toUtc(utc('2024-10-27T03:00:00Z'))), '2024-10-27T02:00:00Z');
    assert.is(iso(zone.toWall(utc('2024-10-27T00:30:00Z'))), '2024-10-27T02:30:00Z');
    assert.is(iso(zone.toWall(utc('2024-10-27T01:30:00Z'))), '2024-10-27T02:30:00Z');
    assert.is(iso(zone.toUtc(utc('2424-07-01T12:00:00Z'))), '2424-07-01T10:00:00Z', 'years far ahead keep the rules');
  }
});

test('a TZID without VTIMEZONE is read as the IANA zone (python-caldav and others leave it out)', () => {
  const text = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:no-vtimezone@example.com
DTSTAMP:20240301T120000Z
DTSTART;TZID=America/New_York:20240704T120000
DURATION:PT2H
END:VEVENT
END:VCALENDAR`;
  const event = only(parseCalendarObject(crlf(text)));
  assert.is(iso(event.span!.a), '2024-07-04T16:00:00Z');
  assert.is(iso(event.span!.b), '2024-07-04T18:00:00Z');
  const unknown = only(parseCalendarObject(crlf(text.replace('America/New_York', 'Nowhere/Special'))));
  assert.is(iso(unknown.span!.a), '2024-07-04T12:00:00Z', 'an unknown TZID is floating');
  assert.ok(unknown.span!.floatingA);
  const berlin = ianaTimezone('Europe/Berlin')!;
  assert.is(iso(berlin.toUtc(utc('2024-10-27T01:30:00Z'))), '2024-10-26T23:30:00Z');
  assert.is(iso(berlin.toWall(utc('2024-03-31T01:30:00Z'))), '2024-03-31T03:30:00Z');
  assert.is(ianaTimezone('Not/AZone'), undefined);
});

test('VTODO with DUE only, and the VTODO/VJOURNAL rows of RFC 4791 §9.9', () => {
  const todo = (body: string) =>
    only(parseCalendarObject(crlf(`BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\n${BERLIN}\nBEGIN:VTODO\nUID:t1\nDTSTAMP:20240301T120000Z\n${body}\nEND:VTODO\nEND:VCALENDAR`))).span!;
  const due = todo('DUE;TZID=Europe/Berlin:20240410T170000\nSUMMARY:Pay rent\nSTATUS:NEEDS-ACTION');
  assert.equal([due.rule, iso(due.a), iso(due.b)], ['todo-due', '2024-04-10T15:00:00Z', '2024-04-10T15:00:00Z']);
  assert.is(todo('DTSTART:20240401T100000Z\nDUE:20240402T100000Z').rule, 'todo-due-span');
  assert.is(todo('DTSTART:20240401T100000Z\nDURATION:P1D').rule, 'todo-duration');
  assert.is(todo('DTSTART:20240401T100000Z').rule, 'point');
  assert.is(todo('CREATED:20240301T100000Z\nCOMPLETED:20240302T100000Z').rule, 'todo-created-completed');
  assert.is(todo('COMPLETED:20240302T100000Z').rule, 'todo-completed');
  assert.is(todo('CREATED:20240301T100000Z').rule, 'todo-created');
  assert.is(todo('SUMMARY:Someday').rule, 'always');
  const journal = (body: string) =>
    only(parseCalendarObject(crlf(`BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VJOURNAL\nUID:j1\nDTSTAMP:20240301T120000Z\n${body}\nEND:VJOURNAL\nEND:VCALENDAR`))).span!;
  const day = journal('DTSTART;VALUE=DATE:20240301\nSUMMARY:Notes\nDESCRIPTION:Line one\\nline two');
  assert.equal([day.rule, iso(day.a), iso(day.b)], ['overlap', '2024-03-01T00:00:00Z', '2024-03-02T00:00:00Z']);
  assert.is(journal('DTSTART:20240301T090000Z').rule, 'point');
  assert.is(journal('SUMMARY:Undated').rule, 'never');
});

test('VEVENT rows: DURATION zero and DTSTART-only date-time are instants, a DATE lasts a day', () => {
  const event = (body: string) =>
    only(parseCalendarObject(crlf(`BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:e1\nDTSTAMP:20240301T120000Z\n${body}\nEND:VEVENT\nEND:VCALENDAR`))).span!;
  assert.is(event('DTSTART:20240301T090000Z\nDURATION:PT0S').rule, 'point');
  assert.is(event('DTSTART:20240301T090000Z').rule, 'point');
  const day = event('DTSTART;VALUE=DATE:20240301');
  assert.equal([day.rule, iso(day.b)], ['overlap', '2024-03-02T00:00:00Z']);
  const long = event('DTSTART:20240301T090000Z\nDURATION:P1W2DT3H');
  assert.is(iso(long.b), '2024-03-10T12:00:00Z');
});

test('VFREEBUSY keeps its busy periods (FREE ones left out)', () => {
  const text = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VFREEBUSY
UID:fb1@example.com
DTSTAMP:20240301T120000Z
FREEBUSY:20240304T090000Z/PT1H,20240304T140000Z/20240304T150000Z
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240305T090000Z/PT30M
FREEBUSY;FBTYPE=FREE:20240306T090000Z/PT8H
END:VFREEBUSY
END:VCALENDAR`;
  const span = only(parseCalendarObject(crlf(text), ['VFREEBUSY'])).span!;
  assert.is(span.rule, 'periods');
  assert.equal(
    span.busy!.map((p) => `${p.type} ${iso(p.start)} ${iso(p.end)}`),
    ['BUSY 2024-03-04T09:00:00Z 2024-03-04T10:00:00Z', 'BUSY 2024-03-04T14:00:00Z 2024-03-04T15:00:00Z', 'BUSY-TENTATIVE 2024-03-05T09:00:00Z 2024-03-05T09:30:00Z'],
  );
});

test('lenient where clients are: no PRODID, LF line ends, a byte order mark, folded lines', () => {
  const text = '\uFEFFBEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:lf@example.com\nDTSTART:20240301T090000Z\nSUMMARY:A long\n  folded summary\nEND:VEVENT\nEND:VCALENDAR\n';
  const event = only(parseCalendarObject(Buffer.from(text)));
  assert.is(event.properties.find((p) => p.name === 'SUMMARY')?.value, 'A long folded summary');
});

test('only overrides (an invitation to some instances) is a valid object', () => {
  const text = APPLE_WEEKLY.replace(/BEGIN:VEVENT\r?\nCREATED[\s\S]*?END:VALARM\nEND:VEVENT\n/, '');
  const object = parseCalendarObject(crlf(text));
  assert.is(object.calendar.components.length, 1);
  assert.ok(object.calendar.components[0]!.properties.some((p) => p.name === 'RECURRENCE-ID'));
});

test('refuses what RFC 4791 §4.1 refuses, with the precondition to answer', () => {
  const event = (body: string, extra = '') =>
    `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//y//EN\n${extra}BEGIN:VEVENT\nUID:u1\nDTSTAMP:20240301T120000Z\n${body}\nEND:VEVENT\nEND:VCALENDAR`;
  refuses('hello, world', 'valid-calendar-data', /not valid iCalendar/);
  refuses(Buffer.from([0x42, 0x45, 0xff, 0xfe, 0x00, 0x80]), 'valid-calendar-data', /UTF-8/);
  refuses('', 'valid-calendar-data', /no VCALENDAR/);
  refuses('BEGIN:VCARD\nVERSION:4.0\nFN:Bob\nEND:VCARD', 'valid-calendar-data', /VCARD, not a VCALENDAR/);
  refuses(event('DTSTART:20240301T090000Z') + '\n' + event('DTSTART:20240301T090000Z'), 'valid-calendar-object-resource', /more than one VCALENDAR/);
  refuses(event('DTSTART:20240301T090000Z').replace('VERSION:2.0\n', ''), 'valid-calendar-data', /VERSION/);
  refuses(event('DTSTART:20240301T090000Z', 'METHOD:REQUEST\n'), 'valid-calendar-object-resource', /METHOD/);
  refuses(event('DTSTART:20240301T090000Z').replace('UID:u1\n', ''), 'valid-calendar-object-resource', /UID/);
  refuses(APPLE_WEEKLY.replace('UID:2F5B0C8E-8A8B-4F4B-9C4A-0E1D9E6A7B3C\nRECURRENCE-ID', 'UID:other\nRECURRENCE-ID'), 'valid-calendar-object-resource', /different UIDs/);
  refuses(APPLE_WEEKLY.replace(/RECURRENCE-ID.*\n/, ''), 'valid-calendar-object-resource', /without RECURRENCE-ID/);
  refuses(
    event('DTSTART:20240301T090000Z').replace('END:VCALENDAR', 'BEGIN:VTODO\nUID:u1\nDTSTAMP:20240301T120000Z\nEND:VTODO\nEND:VCALENDAR'),
    'valid-calendar-object-resource',
    /mixes VEVENT and VTODO/,
  );
  refuses(`BEGIN:VCALENDAR\nVERSION:2.0\n${BERLIN}\nEND:VCALENDAR`, 'valid-calendar-object-resource', /no VEVENT/);
  refuses('BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VAVAILABILITY\nUID:a\nDTSTAMP:20240301T120000Z\nEND:VAVAILABILITY\nEND:VCALENDAR', 'supported-calendar-component', /VAVAILABILITY/);
  refuses(event('DTSTART:20240301T090000Z'), 'supported-calendar-component', /does not take VEVENT/, ['VTODO']);
  refuses(event('SUMMARY:no start'), 'valid-calendar-data', /without DTSTART/);
  refuses(event('DTSTART:20240301T090000Z\nDTEND:20240301T100000Z\nDURATION:PT1H'), 'valid-calendar-data', /both DTEND and DURATION/);
  refuses(event('DTSTART:20241301T090000Z'), 'valid-calendar-data', /malformed DTSTART/);
  refuses(event('DTSTART:garbage'), 'valid-calendar-data', /malformed DTSTART/);
  refuses(event('DTSTART:20240301T090000Z\nRRULE:FREQ=WEEKLY;BYMONTHDAY=3'), 'valid-calendar-data', /BYMONTHDAY/);
  refuses(event('DTSTART:20240301T090000Z\nRRULE:FREQ=FORTNIGHTLY'), 'valid-calendar-data', /frequency/);
  refuses(event('DTSTART:20240301T090000Z\nDURATION:PT'), 'valid-calendar-data', /malformed DURATION/);
  refuses(
    event('DTSTART;TZID=Europe/Berlin:20240301T090000Z', BERLIN.replace('FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'FREQ=SECONDLY') + '\n'),
    'valid-calendar-data',
    /unusual RRULE/,
  );
  refuses('BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:u1\nDTSTART:20240301T090000Z\nEND:VCALENDAR', 'valid-calendar-data', /not valid iCalendar/);
});

test('a rule whose limits never match is cut off quickly; one without end stops at the cap', () => {
  const event = (rule: string) =>
    only(parseCalendarObject(crlf(`BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:r\nDTSTART:20240101T100000Z\nRRULE:${rule}\nEND:VEVENT\nEND:VCALENDAR`)));
  const started = performance.now();
  const impossible = event('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30');
  const seen: string[] = [];
  for (let query = 0; query < 2; query++) {
    seen.length = 0;
    assert.is(visitInstances(impossible, undefined, -Infinity, Infinity, (a) => (seen.push(iso(a)), false)), 'truncated', `query ${query}`);
  }
  assert.equal(seen, ['2024-01-01T10:00:00Z'], 'DTSTART is still an instance');
  assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);

  // Each query expands for a bounded time and the next one resumes, up to MAX_INSTANCES.
  const endless = event('FREQ=SECONDLY');
  const counts: number[] = [];
  for (let query = 0; query < 100 && counts.at(-1) !== MAX_INSTANCES; query++) {
    let count = 0;
    assert.is(visitInstances(endless, undefined, -Infinity, Infinity, () => (++count, false)), 'truncated');
    counts.push(count);
  }
  assert.is(counts.at(-1), MAX_INSTANCES);
  assert.ok(counts.every((count, i) => i === 0 || count >= counts[i - 1]!), 'each query keeps what the last found');
  // The last instance is 10,000 seconds after DTSTART; beyond it the answer stays unknown.
  let last = 0;
  visitInstances(endless, undefined, utc('2024-01-01T12:46:00Z'), utc('2024-01-01T12:47:00Z'), (a) => ((last = a), false));
  assert.is(iso(last), '2024-01-01T12:46:39Z');
  assert.is(visitInstances(endless, undefined, utc('2025-01-01T00:00:00Z'), Infinity, () => true), 'truncated');

  const daily = event('FREQ=DAILY;COUNT=3');
  assert.is(visitInstances(daily, undefined, utc('2024-02-01T00:00:00Z'), Infinity, () => true), 'done');
});


const FUZZ_LINES = [
  'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31',
  'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30',
  'RRULE:FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO',
  'RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU',
  'RRULE:FREQ=WEEKLY;UNTIL=20240101',
  'RDATE;VALUE=PERIOD:20240301T090000Z/PT1H',
  'EXDATE;VALUE=DATE:20240311',
  'RECURRENCE-ID;TZID=America/New_York:20240311T090000',
  'DTSTART;TZID=Nowhere:20240301T090000',
  'DURATION:-P1D',
  'TRIGGER;VALUE=DATE-TIME:20240301T080000Z',
  'REPEAT:5',
  'BEGIN:VALARM',
  'END:VEVENT',
  'BEGIN:VTODO',
  'METHOD:PUBLISH',
  'FREEBUSY:20240304T090000Z/garbage',
  'X-FOO;X-BAR="a:b";Y=1:\\,\\n',
  'DURATION:P99999999W',
  'RRULE:FREQ=YEARLY;INTERVAL=999999',
  'TRIGGER;RELATED=END:-P9999W',
  'REPEAT:99999',
  'DTEND;TZID=Europe/Berlin:99991231T235959',
];

function mutate(source: string, next: () => number): Buffer {
  const lines = source.split('\n');
  const pick = (n: number) => Math.floor(next() * n);
  for (let edits = 1 + pick(4); edits > 0; edits--) {
    const at = pick(lines.length);
    switch (pick(6)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, lines[pick(lines.length)]!);
        break;
      case 2:
        lines.splice(at, 0, FUZZ_LINES[pick(FUZZ_LINES.length)]!);
        break;
      case 3: {
        const line = lines[at] ?? '';
        const i = pick(line.length + 1);
        lines[at] = line.slice(0, i) + String.fromCharCode(pick(128)) + line.slice(i + 1);
        break;
      }
      case 4: {
        const line = lines[at] ?? '';
        lines[at] = line.replace(/\d/, () => String(pick(10)));
        break;
      }
      default:
        lines[at] = (lines[at] ?? '').slice(0, pick((lines[at] ?? '').length + 1));
    }
  }
  const bytes = Buffer.from(lines.join('\r\n'));
  if (pick(10) === 0) bytes[pick(bytes.length)] = pick(256);
  return bytes;
}

/** What is asked of a stored object: none of it may throw, whatever the object holds. */
const FUZZ_QUERIES: ((object: CalendarObject) => unknown)[] = [
  ...[
    `<C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240501T000000Z"/></C:comp-filter>`,
    `<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:time-range start="20240301T000000Z"/></C:comp-filter></C:comp-filter>`,
    `<C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART"><C:time-range end="20240501T000000Z"/></C:prop-filter></C:comp-filter>`,
    `<C:comp-filter name="VEVENT"><C:prop-filter name="ATTENDEE"><C:param-filter name="CN"><C:text-match>b</C:text-match></C:param-filter></C:prop-filter></C:comp-filter>`,
  ].map((inner) => {
    const filter = compileCalendarFilter(parseXml(`<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">${inner}</C:comp-filter></C:filter>`));
    return (object: CalendarObject) => filter(object, ianaTimezone('America/New_York'));
  }),
  (object) => freeBusyReport([object], new Date('2024-03-01T00:00:00Z'), new Date('2024-05-01T00:00:00Z')),
];

test('2,000 mutated inputs: each either parses and answers queries, or throws InvalidCalendarData', () => {
  const generator = new Random(4791);
  const next = () => generator.next();
  const sources = [THUNDERBIRD_EVENT, APPLE_WEEKLY, APPLE_ALL_DAY, PYTHON_MONTHLY];
  let parsed = 0;
  for (let i = 0; i < 2000; i++) {
    const input = mutate(sources[i % sources.length]!, next);
    let object: CalendarObject;
    try {
      object = parseCalendarObject(input);
    } catch (err) {
      if (!(err instanceof InvalidCalendarData)) assert.unreachable(`input ${i} threw ${String(err)}:\n${input.toString()}`);
      continue;
    }
    parsed++;
    for (const query of FUZZ_QUERIES) query(object);
  }
  // The mutations are small enough that some inputs stay valid, and large enough that most do not.
  assert.ok(parsed > 100 && parsed < 1900, `${parsed} of 2000 parsed`);
});

test.run();
