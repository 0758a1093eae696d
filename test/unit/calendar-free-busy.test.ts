import ICAL from 'ical.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCalendarObject, parseCalendarTimezone } from '../../firmware/apps/calendar/calendar-object.js';
import { freeBusyReport } from '../../firmware/apps/calendar/free-busy.js';
import { NEW_YORK } from '../_lib/timezones.js';

let uids = 0;
/** One Apple-style event object in New York time; `body` holds its DTSTART/DTEND and the rest. */
const event = (body: string) =>
  parseCalendarObject(
    Buffer.from(
      `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Apple Inc.//macOS 14.3//EN\n${NEW_YORK}\nBEGIN:VEVENT\nUID:fb-${++uids}@example.org\nDTSTAMP:20240301T120000Z\n${body}\nEND:VEVENT\nEND:VCALENDAR\n`.replace(
        /\n/g,
        '\r\n',
      ),
    ),
  );

const ny = (day: string, from: string, to: string) => `DTSTART;TZID=America/New_York:${day}T${from}\nDTEND;TZID=America/New_York:${day}T${to}`;

const NOW = new Date('2024-03-01T12:00:00Z');

/** The FREEBUSY lines of a report over the week of 2024-03-04 (UTC). */
function busyLines(objects: Parameters<typeof freeBusyReport>[0], start = '2024-03-04T00:00:00Z', end = '2024-03-11T00:00:00Z', options = {}): string[] {
  const report = freeBusyReport(objects, new Date(start), new Date(end), { now: NOW, ...options });
  return report.split('\r\n').filter((line) => line.startsWith('FREEBUSY'));
}

test('the report is one VCALENDAR with a VFREEBUSY in UTC, CRLF line ends, that ical.js reads back', () => {
  const report = freeBusyReport([event(ny('20240304', '090000', '100000'))], new Date('2024-03-04T00:00:00Z'), new Date('2024-03-11T00:00:00Z'), { now: NOW });
  assert.is(
    report,
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Nymote//CalDAV//EN',
      'BEGIN:VFREEBUSY',
      'DTSTAMP:20240301T120000Z',
      'DTSTART:20240304T000000Z',
      'DTEND:20240311T000000Z',
      'FREEBUSY;FBTYPE=BUSY:20240304T140000Z/20240304T150000Z',
      'END:VFREEBUSY',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  );
  const parsed = new ICAL.Component(ICAL.parse(report));
  const freebusy = parsed.getFirstSubcomponent('vfreebusy')!;
  assert.is(freebusy.getFirstPropertyValue('freebusy')?.toString(), '2024-03-04T14:00:00Z/2024-03-04T15:00:00Z');
});

test('overlapping and touching events merge; separate ones stay apart; periods come in time order', () => {
  const objects = [
    event(ny('20240305', '090000', '100000')),
    event(ny('20240305', '093000', '110000')),
    event(ny('20240305', '110000', '113000')), // touches the previous one
    event(ny('20240305', '140000', '150000')),
    event(ny('20240304', '080000', '083000')),
  ];
  assert.equal(busyLines(objects), [
    'FREEBUSY;FBTYPE=BUSY:20240304T130000Z/20240304T133000Z',
    'FREEBUSY;FBTYPE=BUSY:20240305T140000Z/20240305T163000Z',
    'FREEBUSY;FBTYPE=BUSY:20240305T190000Z/20240305T200000Z',
  ]);
});

test('transparent and cancelled events are free; tentative ones BUSY-TENTATIVE, merged apart from BUSY', () => {
  const objects = [
    event(`${ny('20240306', '090000', '100000')}\nTRANSP:TRANSPARENT`),
    event(`${ny('20240306', '110000', '120000')}\nSTATUS:CANCELLED`),
    event(`${ny('20240306', '130000', '140000')}\nSTATUS:TENTATIVE`),
    event(`${ny('20240306', '133000', '150000')}\nSTATUS:TENTATIVE`),
    event(`${ny('20240306', '133000', '143000')}\nSTATUS:CONFIRMED\nTRANSP:OPAQUE`),
  ];
  assert.equal(busyLines(objects), [
    'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240306T180000Z/20240306T200000Z',
    'FREEBUSY;FBTYPE=BUSY:20240306T183000Z/20240306T193000Z',
  ]);
});

test('a daily event: instances in the range, less EXDATE, overrides with their own status, clipped to the range', () => {
  const daily = parseCalendarObject(
    Buffer.from(
      `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 14.3//EN
${NEW_YORK}
BEGIN:VEVENT
UID:daily@example.org
DTSTAMP:20240201T120000Z
DTSTART;TZID=America/New_York:20240201T230000
DURATION:PT2H
RRULE:FREQ=DAILY
EXDATE;TZID=America/New_York:20240305T230000
END:VEVENT
BEGIN:VEVENT
UID:daily@example.org
DTSTAMP:20240201T120000Z
RECURRENCE-ID;TZID=America/New_York:20240307T230000
DTSTART;TZID=America/New_York:20240307T230000
DURATION:PT2H
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
`.replace(/\n/g, '\r\n'),
    ),
  );
  // 23:00–01:00 New York is 04:00–06:00Z the next day; the range is the 5th to the 8th, 05:00Z.
  assert.equal(busyLines([daily], '2024-03-05T05:00:00Z', '2024-03-08T05:00:00Z'), [
    'FREEBUSY;FBTYPE=BUSY:20240305T050000Z/20240305T060000Z',
    'FREEBUSY;FBTYPE=BUSY:20240307T040000Z/20240307T060000Z',
  ]);
});

test('VFREEBUSY components add their busy periods; FREE and zero-length events add nothing', () => {
  const published = parseCalendarObject(
    Buffer.from(
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VFREEBUSY\r\nUID:pub@example.org\r\nDTSTAMP:20240301T120000Z\r\n' +
        'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240307T000000Z/PT8H\r\nFREEBUSY;FBTYPE=FREE:20240308T000000Z/PT8H\r\n' +
        'FREEBUSY:20240308T090000Z/20240308T100000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n',
    ),
  );
  const instant = event('DTSTART:20240308T120000Z');
  assert.equal(busyLines([published, instant]), [
    'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240307T000000Z/20240307T080000Z',
    'FREEBUSY;FBTYPE=BUSY:20240308T090000Z/20240308T100000Z',
  ]);
});

test('all-day events are busy for their day in the calendar-timezone when one is given', () => {
  const allDay = event('DTSTART;VALUE=DATE:20240306\nDTEND;VALUE=DATE:20240307\nSUMMARY:Offsite');
  assert.equal(busyLines([allDay]), ['FREEBUSY;FBTYPE=BUSY:20240306T000000Z/20240307T000000Z']);
  const timezone = parseCalendarTimezone(`BEGIN:VCALENDAR\r\nVERSION:2.0\r\n${NEW_YORK.replace(/\n/g, '\r\n')}\r\nEND:VCALENDAR\r\n`);
  assert.equal(busyLines([allDay], undefined, undefined, { timezone }), ['FREEBUSY;FBTYPE=BUSY:20240306T050000Z/20240307T050000Z']);
});

test('nothing busy: the VFREEBUSY still states its range', () => {
  const report = freeBusyReport([], new Date('2024-03-04T00:00:00Z'), new Date('2024-03-05T00:00:00Z'), { now: NOW });
  assert.ok(report.includes('\r\nDTSTART:20240304T000000Z\r\nDTEND:20240305T000000Z\r\nEND:VFREEBUSY\r\n'));
});

test.run();
