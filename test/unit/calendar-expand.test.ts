/** calendar-data with expand: instances in the range, in UTC, overrides applied, EXDATEs left out. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandCalendarData } from '../../firmware/apps/calendar/expand.js';
import { BERLIN } from '../_lib/timezones.js';

const WEEKLY = ['BEGIN:VEVENT', 'UID:w', 'DTSTAMP:20300101T000000Z', 'DTSTART;TZID=Europe/Berlin:20300107T090000', 'DTEND;TZID=Europe/Berlin:20300107T100000', 'RRULE:FREQ=WEEKLY;COUNT=4', 'EXDATE;TZID=Europe/Berlin:20300114T090000', 'SUMMARY:Weekly', 'END:VEVENT'];
const MOVED = ['BEGIN:VEVENT', 'UID:w', 'DTSTAMP:20300101T000000Z', 'RECURRENCE-ID;TZID=Europe/Berlin:20300121T090000', 'DTSTART;TZID=Europe/Berlin:20300121T110000', 'DTEND;TZID=Europe/Berlin:20300121T120000', 'SUMMARY:Moved', 'END:VEVENT'];
const calendar = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');

const events = (text: string) => text.split('BEGIN:VEVENT').slice(1).map((block) => Object.fromEntries(block.trim().split('\r\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)])));

test('a weekly event in Berlin: instances in UTC, the EXDATE left out, the override applied, none after the range', () => {
  const text = expandCalendarData(calendar(...BERLIN.split('\n'), ...WEEKLY, ...MOVED), new Date('2030-01-01T00:00:00Z'), new Date('2030-01-25T00:00:00Z'))!;
  assert.not.match(text, /RRULE|EXDATE|VTIMEZONE|TZID/);
  const found = events(text);
  assert.equal(found.map((e) => [e['RECURRENCE-ID'], e.DTSTART, e.DTEND, e.SUMMARY]), [
    ['20300107T080000Z', '20300107T080000Z', '20300107T090000Z', 'Weekly'],
    ['20300121T080000Z', '20300121T100000Z', '20300121T110000Z', 'Moved'],
  ]);
  assert.ok(text.endsWith('END:VCALENDAR\r\n'));
});

test("each object's own VTIMEZONE is used, not another object's of the same TZID", () => {
  const odd = ['BEGIN:VTIMEZONE', 'TZID:Europe/Berlin', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0500', 'TZOFFSETTO:+0500', 'END:STANDARD', 'END:VTIMEZONE'];
  const range = [new Date('2030-01-01T00:00:00Z'), new Date('2030-01-08T00:00:00Z')] as const;
  const first = expandCalendarData(calendar(...odd, ...WEEKLY), ...range)!;
  assert.equal(events(first).map((e) => e.DTSTART), ['20300107T040000Z']);
  const second = expandCalendarData(calendar(...BERLIN.split('\n'), ...WEEKLY), ...range)!;
  assert.equal(events(second).map((e) => e.DTSTART), ['20300107T080000Z']);
});

test('every instance of a plain weekly rule has its own times', () => {
  const text = expandCalendarData(calendar('BEGIN:VEVENT', 'UID:p', 'DTSTAMP:20300101T000000Z', 'DTSTART:20300107T090000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=3', 'END:VEVENT'), new Date('2030-01-01T00:00:00Z'), new Date('2030-02-01T00:00:00Z'))!;
  assert.equal(events(text).map((e) => [e['RECURRENCE-ID'], e.DTSTART]), [
    ['20300107T090000Z', '20300107T090000Z'],
    ['20300114T090000Z', '20300114T090000Z'],
    ['20300121T090000Z', '20300121T090000Z'],
  ]);
});

test('an instance that only overlaps the range start is included; a single event stays whole', () => {
  const text = expandCalendarData(calendar(...BERLIN.split('\n'), ...WEEKLY), new Date('2030-01-28T08:30:00Z'), new Date('2030-01-29T00:00:00Z'))!;
  assert.equal(events(text).map((e) => e['RECURRENCE-ID']), ['20300128T080000Z']);
  const single = expandCalendarData(calendar('BEGIN:VEVENT', 'UID:s', 'DTSTAMP:20300101T000000Z', 'DTSTART:20300301T100000Z', 'DURATION:PT1H', 'END:VEVENT'), new Date('2030-01-01T00:00:00Z'), new Date('2031-01-01T00:00:00Z'))!;
  assert.equal(events(single).map((e) => [e.UID, e.DTSTART, e['RECURRENCE-ID']]), [['s', '20300301T100000Z', undefined]]);
  assert.is(expandCalendarData('not a calendar', new Date(0), new Date(1)), undefined);
});

test.run();
