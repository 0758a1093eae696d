import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCalendarObject, parseCalendarTimezone, type CalendarObject } from '../../firmware/apps/calendar/calendar-object.js';
import { compileCalendarFilter, matchesCalendarFilter, parseUtcDateTime, UnsupportedFilter } from '../../firmware/apps/calendar/filter.js';
import { parseXml } from '../../firmware/http/dav/xml.js';
import { BERLIN } from '../_lib/timezones.js';

const object = (text: string, allowed?: Parameters<typeof parseCalendarObject>[1]) =>
  parseCalendarObject(Buffer.from(text.trim().replace(/\n/g, '\r\n') + '\r\n'), allowed);

/** A CALDAV:filter around comp-filter VCALENDAR holding `inner`. */
const filter = (inner: string) =>
  parseXml(`<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">${inner}</C:comp-filter></C:filter>`);

const range = (start?: string, end?: string) =>
  `<C:time-range${start === undefined ? '' : ` start="${start}"`}${end === undefined ? '' : ` end="${end}"`}/>`;

/** Whether `target` has a `component` meeting the time-range. */
const inRange = (target: CalendarObject, component: string, start?: string, end?: string) =>
  matchesCalendarFilter(target, filter(`<C:comp-filter name="${component}">${range(start, end)}</C:comp-filter>`));

const vevent = (body: string, extra = '') =>
  object(`BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\n${BERLIN}\nBEGIN:VEVENT\nUID:e@example.org\nDTSTAMP:20240301T120000Z\n${body}\nEND:VEVENT\n${extra}END:VCALENDAR`);

/** 10:00–11:00 Berlin (09:00–10:00Z) on 2024-03-05, with attendees and an alarm 15 minutes before. */
const MEETING = vevent(`DTSTART;TZID=Europe/Berlin:20240305T100000
DTEND;TZID=Europe/Berlin:20240305T110000
SUMMARY:Quarterly Planning
LOCATION:Room Ähre
CATEGORIES:Work,Planning
ORGANIZER;CN=Alice:mailto:alice@example.org
ATTENDEE;PARTSTAT=ACCEPTED;CN=Bob:mailto:bob@example.org
ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Carol:mailto:carol@example.org
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Reminder
TRIGGER:-PT15M
END:VALARM`);

/** Weekly on Mondays 09:00 Berlin from 2024-03-04, 5 times; the 18th excluded, the 11th moved to Wednesday 13th 15:00. */
const WEEKLY = vevent(
  `DTSTART;TZID=Europe/Berlin:20240304T090000
DTEND;TZID=Europe/Berlin:20240304T093000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Europe/Berlin:20240318T090000
SUMMARY:Standup
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER;RELATED=END:PT5M
REPEAT:2
DURATION:PT10M
END:VALARM`,
  `BEGIN:VEVENT
UID:e@example.org
DTSTAMP:20240301T120000Z
RECURRENCE-ID;TZID=Europe/Berlin:20240311T090000
DTSTART;TZID=Europe/Berlin:20240313T150000
DTEND;TZID=Europe/Berlin:20240313T153000
SUMMARY:Standup (moved)
END:VEVENT
`,
);

test('time-range on a one-off event: overlap, with RFC 4791 §9.9 boundaries', () => {
  assert.ok(inRange(MEETING, 'VEVENT', '20240305T000000Z', '20240306T000000Z'));
  assert.ok(inRange(MEETING, 'VEVENT', '20240305T095959Z', '20240305T100000Z'), 'the last second');
  assert.not.ok(inRange(MEETING, 'VEVENT', '20240305T100000Z', '20240305T110000Z'), 'starts at DTEND');
  assert.not.ok(inRange(MEETING, 'VEVENT', '20240305T080000Z', '20240305T090000Z'), 'ends at DTSTART');
  assert.not.ok(inRange(MEETING, 'VTODO', '20240305T000000Z', '20240306T000000Z'), 'no VTODO in it');
});

test('open-ended ranges: only start, only end', () => {
  assert.ok(inRange(MEETING, 'VEVENT', '20240305T093000Z'));
  assert.not.ok(inRange(MEETING, 'VEVENT', '20240305T100000Z'));
  assert.ok(inRange(MEETING, 'VEVENT', undefined, '20240305T090001Z'));
  assert.not.ok(inRange(MEETING, 'VEVENT', undefined, '20240305T090000Z'));
});

test('instants: DTSTART only, and DURATION:PT0S, match where start <= DTSTART < end', () => {
  for (const event of [vevent('DTSTART:20240305T090000Z'), vevent('DTSTART:20240305T090000Z\nDURATION:PT0S')]) {
    assert.ok(inRange(event, 'VEVENT', '20240305T090000Z', '20240305T090001Z'));
    assert.not.ok(inRange(event, 'VEVENT', '20240305T080000Z', '20240305T090000Z'));
  }
});

test('all-day events last their day, in UTC or the calendar-timezone', () => {
  const holiday = vevent('DTSTART;VALUE=DATE:20240501\nDTEND;VALUE=DATE:20240502\nSUMMARY:Holiday');
  assert.ok(inRange(holiday, 'VEVENT', '20240501T230000Z', '20240502T000000Z'));
  assert.not.ok(inRange(holiday, 'VEVENT', '20240502T000000Z', '20240502T010000Z'));
  const dateOnly = vevent('DTSTART;VALUE=DATE:20240501');
  assert.ok(inRange(dateOnly, 'VEVENT', '20240501T230000Z', '20240502T000000Z'), 'a DATE without DTEND lasts one day');
  const berlin = parseCalendarTimezone(`BEGIN:VCALENDAR\r\nVERSION:2.0\r\n${BERLIN.replace(/\n/g, '\r\n')}\r\nEND:VCALENDAR\r\n`);
  const compiled = compileCalendarFilter(filter(`<C:comp-filter name="VEVENT">${range('20240501T230000Z', '20240502T000000Z')}</C:comp-filter>`));
  assert.not.ok(compiled(holiday, berlin), 'in Berlin the day ends at 22:00Z');
  const late = compileCalendarFilter(filter(`<C:comp-filter name="VEVENT">${range('20240430T220000Z', '20240430T220001Z')}</C:comp-filter>`));
  assert.ok(late(holiday, berlin));
  assert.not.ok(late(holiday));
});

test('recurring: instances, EXDATE, and an override moved out of and into a range', () => {
  assert.ok(inRange(WEEKLY, 'VEVENT', '20240325T080000Z', '20240325T080100Z'), '4th instance, 09:00 CET');
  assert.not.ok(inRange(WEEKLY, 'VEVENT', '20240318T000000Z', '20240319T000000Z'), 'excluded by EXDATE');
  assert.not.ok(inRange(WEEKLY, 'VEVENT', '20240311T000000Z', '20240312T000000Z'), 'the 11th moved away');
  assert.ok(inRange(WEEKLY, 'VEVENT', '20240313T140000Z', '20240313T143000Z'), 'to the 13th, 15:00 Berlin');
  assert.ok(inRange(WEEKLY, 'VEVENT', '20240401T070000Z', '20240401T070100Z'), 'the 5th and last instance, 09:00 CEST');
  assert.not.ok(inRange(WEEKLY, 'VEVENT', '20240401T073000Z', '20240401T090000Z'), 'it is not at 08:00Z, where CET would put it');
  assert.not.ok(inRange(WEEKLY, 'VEVENT', '20240408T000000Z', '20240409T000000Z'), 'COUNT=5 ends before');
  assert.not.ok(inRange(WEEKLY, 'VEVENT', '20240201T000000Z', '20240304T080000Z'), 'before DTSTART');
});

test('an unbounded rule matches far ahead; UNTIL and RDATE are honoured', () => {
  const yearly = vevent('DTSTART;VALUE=DATE:19800612\nRRULE:FREQ=YEARLY\nSUMMARY:Birthday');
  assert.ok(inRange(yearly, 'VEVENT', '20300612T000000Z', '20300613T000000Z'));
  assert.not.ok(inRange(yearly, 'VEVENT', '20300613T000000Z', '20300614T000000Z'));
  const until = vevent('DTSTART:20240101T100000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;UNTIL=20240110T100000Z\nRDATE:20240201T100000Z');
  assert.ok(inRange(until, 'VEVENT', '20240110T000000Z', '20240111T000000Z'));
  assert.not.ok(inRange(until, 'VEVENT', '20240111T000000Z', '20240131T000000Z'));
  assert.ok(inRange(until, 'VEVENT', '20240201T103000Z', '20240201T110000Z'));
});

test('a rule cut off at its cap counts as matching beyond what it reached', () => {
  const everySecond = vevent('DTSTART:20240101T000000Z\nRRULE:FREQ=SECONDLY');
  assert.ok(inRange(everySecond, 'VEVENT', '20300101T000000Z', '20300102T000000Z'));
  assert.not.ok(inRange(everySecond, 'VEVENT', '20231231T000000Z', '20240101T000000Z'), 'before DTSTART it is known not to');
});

test('prop-filter text-match: substring, ascii-casemap by default, i;octet exact, negate-condition', () => {
  const summary = (match: string) => filter(`<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">${match}</C:prop-filter></C:comp-filter>`);
  assert.ok(matchesCalendarFilter(MEETING, summary('<C:text-match>planning</C:text-match>')));
  assert.not.ok(matchesCalendarFilter(MEETING, summary('<C:text-match collation="i;octet">planning</C:text-match>')));
  assert.ok(matchesCalendarFilter(MEETING, summary('<C:text-match collation="i;octet">Planning</C:text-match>')));
  assert.not.ok(matchesCalendarFilter(MEETING, summary('<C:text-match negate-condition="yes">PLANNING</C:text-match>')));
  assert.ok(matchesCalendarFilter(MEETING, summary('<C:text-match negate-condition="yes">Retro</C:text-match>')));
  const location = (text: string) =>
    filter(`<C:comp-filter name="VEVENT"><C:prop-filter name="location"><C:text-match>${text}</C:text-match></C:prop-filter></C:comp-filter>`);
  assert.ok(matchesCalendarFilter(MEETING, location('room Ä')), 'ASCII letters fold');
  assert.not.ok(matchesCalendarFilter(MEETING, location('ROOM ä')), 'other letters compare as they are');
  const categories = filter(`<C:comp-filter name="VEVENT"><C:prop-filter name="CATEGORIES"><C:text-match>work,plan</C:text-match></C:prop-filter></C:comp-filter>`);
  assert.ok(matchesCalendarFilter(MEETING, categories), 'list values are joined by commas');
});

test('prop-filter: a property with no conditions must exist; is-not-defined must not', () => {
  const prop = (name: string, inner = '') => filter(`<C:comp-filter name="VEVENT"><C:prop-filter name="${name}">${inner}</C:prop-filter></C:comp-filter>`);
  assert.ok(matchesCalendarFilter(MEETING, prop('ORGANIZER')));
  assert.not.ok(matchesCalendarFilter(MEETING, prop('RRULE')));
  assert.ok(matchesCalendarFilter(MEETING, prop('RRULE', '<C:is-not-defined/>')));
  assert.not.ok(matchesCalendarFilter(MEETING, prop('ORGANIZER', '<C:is-not-defined/>')));
  assert.ok(matchesCalendarFilter(WEEKLY, prop('RRULE')));
});

test('param-filter: one property of several meets every condition', () => {
  const attendee = (inner: string) => filter(`<C:comp-filter name="VEVENT"><C:prop-filter name="ATTENDEE">${inner}</C:prop-filter></C:comp-filter>`);
  const carolNeedsAction = attendee(
    '<C:text-match>carol@</C:text-match><C:param-filter name="PARTSTAT"><C:text-match>NEEDS-ACTION</C:text-match></C:param-filter>',
  );
  assert.ok(matchesCalendarFilter(MEETING, carolNeedsAction));
  const bobNeedsAction = attendee('<C:text-match>bob@</C:text-match><C:param-filter name="partstat"><C:text-match>needs-action</C:text-match></C:param-filter>');
  assert.not.ok(matchesCalendarFilter(MEETING, bobNeedsAction), 'Bob accepted; Carol, who needs to act, is not Bob');
  assert.ok(matchesCalendarFilter(MEETING, attendee('<C:param-filter name="RSVP"><C:is-not-defined/></C:param-filter>')));
  assert.not.ok(matchesCalendarFilter(MEETING, attendee('<C:param-filter name="CN"><C:is-not-defined/></C:param-filter>')));
  assert.ok(matchesCalendarFilter(MEETING, attendee('<C:param-filter name="CN"/>')));
});

test('comp-filter nesting: VALARM inside VEVENT, is-not-defined, and all conditions together', () => {
  const alarm = (inner: string) => filter(`<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM">${inner}</C:comp-filter></C:comp-filter>`);
  assert.ok(matchesCalendarFilter(MEETING, alarm('')));
  assert.not.ok(matchesCalendarFilter(vevent('DTSTART:20240305T090000Z'), alarm('')));
  assert.ok(matchesCalendarFilter(vevent('DTSTART:20240305T090000Z'), alarm('<C:is-not-defined/>')));
  // The meeting's alarm fires at 08:45Z.
  assert.ok(matchesCalendarFilter(MEETING, alarm(range('20240305T084500Z', '20240305T084600Z'))));
  assert.not.ok(matchesCalendarFilter(MEETING, alarm(range('20240305T084600Z', '20240305T090000Z'))));
  const both = (summary: string) =>
    filter(
      `<C:comp-filter name="VEVENT">${range('20240305T000000Z', '20240306T000000Z')}<C:prop-filter name="SUMMARY"><C:text-match>${summary}</C:text-match></C:prop-filter><C:comp-filter name="VALARM"/></C:comp-filter>`,
    );
  assert.ok(matchesCalendarFilter(MEETING, both('quarterly')));
  assert.not.ok(matchesCalendarFilter(MEETING, both('weekly')));
  assert.not.ok(matchesCalendarFilter(MEETING, filter('<C:comp-filter name="VTODO"/>')));
  assert.ok(matchesCalendarFilter(MEETING, filter('<C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter>')));
  assert.ok(matchesCalendarFilter(MEETING, filter('')), 'VCALENDAR alone matches every object');
});

test('VALARM on recurring instances, with RELATED=END and REPEAT', () => {
  const alarm = (start: string, end: string) =>
    filter(`<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM">${range(start, end)}</C:comp-filter></C:comp-filter>`);
  // 4th instance ends 08:30Z on the 25th: triggers at 08:35Z, 08:45Z, 08:55Z.
  assert.ok(matchesCalendarFilter(WEEKLY, alarm('20240325T085500Z', '20240325T085600Z')));
  assert.not.ok(matchesCalendarFilter(WEEKLY, alarm('20240325T085600Z', '20240325T090000Z')), 'after the last repeat');
  assert.not.ok(matchesCalendarFilter(WEEKLY, alarm('20240325T083600Z', '20240325T084400Z')), 'between repeats');
  assert.not.ok(matchesCalendarFilter(WEEKLY, alarm('20240318T000000Z', '20240319T000000Z')), 'no alarm on the excluded date');
});

test('VTODO rows: DUE only, DTSTART with DUE, no dates at all', () => {
  const todos = (body: string) =>
    object(`BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//python-caldav//caldav//en_DK\nBEGIN:VTODO\nUID:t@example.org\nDTSTAMP:20240301T120000Z\n${body}\nEND:VTODO\nEND:VCALENDAR`);
  const due = todos('DUE:20240410T170000Z\nSUMMARY:Pay rent');
  assert.ok(inRange(due, 'VTODO', '20240410T160000Z', '20240410T170000Z'), 'end >= DUE');
  assert.not.ok(inRange(due, 'VTODO', '20240410T170000Z', '20240410T180000Z'), 'start < DUE fails');
  const span = todos('DTSTART:20240401T090000Z\nDUE:20240405T090000Z');
  assert.ok(inRange(span, 'VTODO', '20240403T000000Z', '20240404T000000Z'));
  assert.not.ok(inRange(span, 'VTODO', '20240406T000000Z', '20240407T000000Z'));
  assert.ok(inRange(todos('SUMMARY:Someday'), 'VTODO', '19000101T000000Z', '19000102T000000Z'));
  const completed = todos('COMPLETED:20240402T120000Z');
  assert.ok(inRange(completed, 'VTODO', '20240402T120000Z', '20240402T120001Z'));
  assert.not.ok(inRange(completed, 'VTODO', '20240402T120001Z', '20240403T000000Z'));
  const byCompletion = filter(`<C:comp-filter name="VTODO"><C:prop-filter name="COMPLETED">${range('20240402T000000Z', '20240403T000000Z')}</C:prop-filter></C:comp-filter>`);
  assert.ok(matchesCalendarFilter(completed, byCompletion), 'time-range on a property');
  assert.not.ok(matchesCalendarFilter(todos('COMPLETED:20240403T120000Z'), byCompletion), 'completed later');
  assert.not.ok(matchesCalendarFilter(due, byCompletion), 'not completed');
});

test('VJOURNAL and VFREEBUSY time-ranges', () => {
  const journal = object(`BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VJOURNAL\nUID:j@example.org\nDTSTAMP:20240301T120000Z\nDTSTART;VALUE=DATE:20240301\nSUMMARY:Notes\nEND:VJOURNAL\nEND:VCALENDAR`);
  assert.ok(inRange(journal, 'VJOURNAL', '20240301T235959Z', '20240302T000000Z'));
  assert.not.ok(inRange(journal, 'VJOURNAL', '20240302T000000Z', '20240303T000000Z'));
  const freebusy = object(
    `BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VFREEBUSY\nUID:f@example.org\nDTSTAMP:20240301T120000Z\nFREEBUSY:20240304T090000Z/PT1H\nEND:VFREEBUSY\nEND:VCALENDAR`,
    ['VFREEBUSY'],
  );
  assert.ok(inRange(freebusy, 'VFREEBUSY', '20240304T095900Z', '20240304T110000Z'));
  assert.not.ok(inRange(freebusy, 'VFREEBUSY', '20240304T100000Z', '20240304T110000Z'));
});

test('malformed filters are refused: UnsupportedFilter, with the precondition to answer', () => {
  const refuses = (xml: string, message: RegExp, precondition = 'valid-filter') => {
    try {
      compileCalendarFilter(parseXml(xml));
    } catch (err) {
      assert.instance(err, UnsupportedFilter);
      assert.match((err as UnsupportedFilter).message, message);
      assert.is((err as UnsupportedFilter).precondition, precondition);
      return;
    }
    assert.unreachable(`accepted ${xml}`);
  };
  const wrap = (inner: string) => `<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">${inner}</C:comp-filter></C:filter>`;
  refuses(wrap(`<C:comp-filter name="VEVENT">${range('2024-03-05T00:00:00Z', '20240306T000000Z')}</C:comp-filter>`), /not a UTC date-time/);
  refuses(wrap(`<C:comp-filter name="VEVENT">${range('20240305T000000', '20240306T000000Z')}</C:comp-filter>`), /not a UTC date-time/);
  refuses(wrap(`<C:comp-filter name="VEVENT">${range()}</C:comp-filter>`), /without start or end/);
  refuses(wrap(`<C:comp-filter name="VEVENT">${range('20240306T000000Z', '20240305T000000Z')}</C:comp-filter>`), /ends before/);
  refuses(wrap(`<C:comp-filter name="VEVENT">${range('20240305T000000Z', '20240305T000000Z')}</C:comp-filter>`), /ends before/);
  refuses(wrap('<C:comp-filter><C:is-not-defined/></C:comp-filter>'), /without a name/);
  refuses(wrap('<C:comp-filter name="VEVENT"><C:is-not-defined/><C:prop-filter name="SUMMARY"/></C:comp-filter>'), /stand alone/);
  refuses(wrap('<C:comp-filter name="VEVENT"><C:text-match>x</C:text-match></C:comp-filter>'), /text-match is not allowed in comp-filter/);
  refuses(wrap(`<C:comp-filter name="VTIMEZONE">${range('20240305T000000Z')}</C:comp-filter>`), /no time-range on VTIMEZONE/);
  refuses(wrap('<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter></C:comp-filter>'), /negate-condition/);
  refuses(
    wrap('<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;unicode-casemap">x</C:text-match></C:prop-filter></C:comp-filter>'),
    /collation i;unicode-casemap/,
    'supported-collation',
  );
  refuses('<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VEVENT"/></C:filter>', /must name VCALENDAR/);
  refuses('<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"/>', /exactly one comp-filter/);
  refuses('<D:prop xmlns:D="DAV:"/>', /not a CALDAV:filter/);
});

test('parseUtcDateTime: the basic UTC form only', () => {
  assert.is(parseUtcDateTime('20240229T235959Z').toISOString(), '2024-02-29T23:59:59.000Z');
  assert.is(parseUtcDateTime('00010101T000000Z').getUTCFullYear(), 1);
  for (const bad of ['20230229T000000Z', '20240301T240000Z', '20240301T000060Z', '20240301T000000', '2024-03-01T00:00:00Z', '20240301', '', ' 20240301T000000Z']) {
    assert.throws(() => parseUtcDateTime(bad), (err: unknown) => err instanceof UnsupportedFilter, bad);
  }
});

test.run();
