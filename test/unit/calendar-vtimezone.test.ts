/** VTIMEZONEs written from Intl: they read back, with our parser and with ical.js, as Intl reads the zone. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DAY_MS, ianaTimezone, parseCalendarObject, visitInstances } from '../../firmware/apps/calendar/calendar-object.js';
import { expandCalendarData } from '../../firmware/apps/calendar/expand.js';
import { vtimezoneFor } from '../../firmware/apps/calendar/index.js';

const HOUR_MS = 3_600_000;
const FROM = new Date('2029-06-01T00:00:00Z');
const TO = new Date('2031-06-01T00:00:00Z');
/** Odd steps, so samples fall on every hour and many minutes of the day. */
const SAMPLE_STEP_MS = 5 * HOUR_MS + 7 * 60_000;
const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'UTC'];

/** A weekly 09:00 on Mondays in `tzid`, 100 times: across both changes of each year in the range. */
function weeklyAtNine(tzid: string): string {
  const event = ['BEGIN:VEVENT', 'UID:w', 'DTSTAMP:20290101T000000Z', `DTSTART;TZID=${tzid}:20290604T090000`, `DTEND;TZID=${tzid}:20290604T093000`, 'RRULE:FREQ=WEEKLY;COUNT=100', 'END:VEVENT'];
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', vtimezoneFor(tzid, FROM, TO)!, ...event, 'END:VCALENDAR', ''].join('\r\n');
}

/** Sample instants over the range, and every minute of the hours around each change of offset Intl reports. */
function sampleInstants(tzid: string): number[] {
  const intl = ianaTimezone(tzid)!;
  const offset = (utc: number) => intl.toWall(utc) - utc;
  const samples: number[] = [];
  for (let t = FROM.getTime(); t <= TO.getTime(); t += SAMPLE_STEP_MS) {
    if (samples.length > 0 && offset(samples.at(-1)!) !== offset(t)) {
      for (let m = samples.at(-1)! - HOUR_MS; m < t + HOUR_MS; m += 60_000) samples.push(m);
    }
    samples.push(t);
  }
  return samples;
}

const nineOClock = (tzid: string, utc: number) => (ianaTimezone(tzid)!.toWall(utc) % DAY_MS) / HOUR_MS;

for (const tzid of ZONES) {
  test(`${tzid}: the parsed VTIMEZONE converts as Intl does, in gaps and folds too`, () => {
    const object = parseCalendarObject(Buffer.from(weeklyAtNine(tzid)));
    const parsed = object.zones.get(tzid)!;
    const intl = ianaTimezone(tzid)!;
    for (const t of sampleInstants(tzid)) {
      if (parsed.toWall(t) !== intl.toWall(t)) assert.unreachable(`toWall(${new Date(t).toISOString()})`);
      // The same numbers read as walls: a wall in a gap takes the offset before it, in a fold the first one.
      if (parsed.toUtc(t) !== intl.toUtc(t)) assert.unreachable(`toUtc(${new Date(t).toISOString()})`);
    }
  });

  test(`${tzid}: a weekly 09:00 stays at 09:00 local, parsed and expanded by ical.js`, () => {
    const text = weeklyAtNine(tzid);
    const starts: number[] = [];
    const object = parseCalendarObject(Buffer.from(text));
    visitInstances(object.calendar.components[0]!, undefined, FROM.getTime(), TO.getTime(), (a) => (starts.push(a), false));
    assert.is(starts.length, 100);
    assert.ok(starts.every((a) => nineOClock(tzid, a) === 9));

    const expanded = expandCalendarData(text, FROM, TO)!;
    const utcStarts = [...expanded.matchAll(/\nDTSTART:(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z\r/g)].map((m) => Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
    assert.equal(utcStarts, starts, 'ical.js gives the same instants');
  });
}

const observance = (text: string, kind: string, dtstart: string) => new RegExp(`BEGIN:${kind}\\r\\nDTSTART:${dtstart}\\r\\n`).test(text);

test('Europe/Berlin: DAYLIGHT at 02:00 and STANDARD at 03:00 local, the later ones as RDATEs, offsets as names', () => {
  const text = vtimezoneFor('Europe/Berlin', FROM, TO)!;
  assert.ok(text.startsWith('BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nDTSTART:20290601T020000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0200\r\nTZNAME:+0200\r\nEND:DAYLIGHT\r\n'), 'summer at the start');
  assert.ok(text.includes('BEGIN:STANDARD\r\nDTSTART:20291028T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:+0100\r\nRDATE:20291028T030000\r\nRDATE:20301027T030000\r\nEND:STANDARD'));
  assert.ok(text.includes('BEGIN:DAYLIGHT\r\nDTSTART:20300331T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:+0200\r\nRDATE:20300331T020000\r\nRDATE:20310330T020000\r\nEND:DAYLIGHT'));
  assert.ok(text.endsWith('END:VTIMEZONE'));
  assert.not.match(text, /RRULE/);
  assert.ok(text.split('\r\n').every((line) => line.length <= 75 && !line.includes('\n')));
});

test('America/New_York: EST and EDT as Intl names them', () => {
  const text = vtimezoneFor('America/New_York', FROM, TO)!;
  assert.ok(text.includes('BEGIN:DAYLIGHT\r\nDTSTART:20300310T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\n'));
  assert.ok(text.includes('BEGIN:STANDARD\r\nDTSTART:20291104T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\n'));
});

test('Australia/Sydney: winter in June, summer time from October to April', () => {
  const text = vtimezoneFor('Australia/Sydney', FROM, TO)!;
  assert.ok(text.includes('BEGIN:STANDARD\r\nDTSTART:20290601T100000\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1000\r\n'));
  assert.ok(observance(text, 'DAYLIGHT', '20291007T020000'));
  assert.ok(text.includes('TZOFFSETFROM:+1100\r\nTZOFFSETTO:+1000\r\nTZNAME:+1000\r\nRDATE:20300407T030000\r\nRDATE:20310406T030000\r\n'));
});

test('zones without a change in the range: one STANDARD observance from the start', () => {
  assert.is(vtimezoneFor('Asia/Kolkata', FROM, TO), ['BEGIN:VTIMEZONE', 'TZID:Asia/Kolkata', 'BEGIN:STANDARD', 'DTSTART:20290601T053000', 'TZOFFSETFROM:+0530', 'TZOFFSETTO:+0530', 'TZNAME:+0530', 'END:STANDARD', 'END:VTIMEZONE'].join('\r\n'));
  assert.is(vtimezoneFor('UTC', FROM, TO), ['BEGIN:VTIMEZONE', 'TZID:UTC', 'BEGIN:STANDARD', 'DTSTART:20290601T000000', 'TZOFFSETFROM:+0000', 'TZOFFSETTO:+0000', 'TZNAME:UTC', 'END:STANDARD', 'END:VTIMEZONE'].join('\r\n'));
});

test('a zone Intl does not know: undefined', () => {
  assert.is(vtimezoneFor('Mars/Olympus_Mons', FROM, TO), undefined);
  assert.is(vtimezoneFor('', FROM, TO), undefined);
});

test.run();
