/**
 * VTIMEZONE components (RFC 5545 §3.6.5) written from what Intl knows of an IANA zone, for the
 * objects the web UI stores with a TZID: other clients need the zone's definition with them.
 *
 * The zone's transitions over a range are found by sampling its offset and bisecting each
 * change to the second. Each transition is the onset of a STANDARD (offset falls) or DAYLIGHT
 * (offset rises) observance; the onsets of one observance are listed as explicit RDATEs rather
 * than an RRULE, so the text is exact for any zone, whatever its rules and their changes.
 */
import { foldLine } from '../../store/index.js';
import { DAY_MS, ianaTimezone, type CalendarTimezone } from './calendar-object.js';

/** Transitions are months apart in real zones (a Ramadan pause of DST is a month): sampling
 * weekly finds each one, with a fraction of the Intl calls a daily step would take. */
const SAMPLE_STEP_MS = 7 * DAY_MS;
/** iCalendar's four-digit years, a day inside them so walls of any offset stay in them. */
const FIRST_INSTANT = Date.parse('0001-01-02T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-30T00:00:00Z');

type Kind = 'STANDARD' | 'DAYLIGHT';

/** A change of offset: the instant it happens (UTC), the offsets before and after it (ms). */
interface Transition {
  at: number;
  from: number;
  to: number;
}

/** One STANDARD or DAYLIGHT sub-component: its offsets, its name and its onsets as walls. */
interface Observance {
  kind: Kind;
  from: number;
  to: number;
  name: string;
  onsets: number[];
}

/**
 * The VTIMEZONE text (CRLF line ends, no trailing one) of an IANA zone over [from, to]: the
 * offset in force at `from` as an observance starting there, then each transition up to `to`;
 * undefined when Intl does not know the zone.
 */
export function vtimezoneFor(tzid: string, from: Date, to: Date): string | undefined {
  const zone = ianaTimezone(tzid);
  if (zone === undefined) return undefined;
  const start = wholeSecond(Math.max(from.getTime(), FIRST_INSTANT));
  const end = wholeSecond(Math.min(to.getTime(), LAST_INSTANT));
  const transitions = transitionsIn(zone, start, end);
  const lines = [`TZID:${tzid}`, ...observancesOf(tzid, zone, start, transitions).flatMap(observanceLines)];
  return ['BEGIN:VTIMEZONE', ...lines, 'END:VTIMEZONE'].map(foldLine).join('\r\n');
}

function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** The offset in force at an instant of whole seconds, as IanaZone reads it from Intl. */
function offsetAt(zone: CalendarTimezone, utc: number): number {
  return zone.toWall(utc) - utc;
}

/** The transitions in (start, end], in order. */
function transitionsIn(zone: CalendarTimezone, start: number, end: number): Transition[] {
  const found: Transition[] = [];
  let known = start;
  let offset = offsetAt(zone, start);
  while (known < end) {
    const sample = Math.min(known + SAMPLE_STEP_MS, end);
    if (offsetAt(zone, sample) === offset) {
      known = sample;
      continue;
    }
    const at = firstChange(zone, known, sample, offset);
    const next = offsetAt(zone, at);
    found.push({ at, from: offset, to: next });
    // Go on from the transition: the sample may lie past a second one.
    [known, offset] = [at, next];
  }
  return found;
}

/** The first whole second in (low, high] whose offset is not `offset` (it is at `low`, not at `high`). */
function firstChange(zone: CalendarTimezone, low: number, high: number, offset: number): number {
  while (high - low > 1000) {
    const middle = low + wholeSecond((high - low) / 2);
    if (offsetAt(zone, middle) === offset) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The observances: the one in force at `start` (TZOFFSETFROM = TZOFFSETTO: nothing before it
 * is described), then one per kind, offsets and name, collecting the onsets that share them.
 */
function observancesOf(tzid: string, zone: CalendarTimezone, start: number, transitions: readonly Transition[]): Observance[] {
  const names = new Intl.DateTimeFormat('en-US', { timeZone: tzid, timeZoneName: 'short' });
  const nameAt = (utc: number, offset: number) => {
    const name = names.formatToParts(utc).find((part) => part.type === 'timeZoneName')?.value ?? '';
    // 'GMT+1' is no name, only the offset: written as iCalendar writes offsets.
    return name === '' || /^GMT[+-]/.test(name) ? offsetText(offset) : name;
  };
  const offset = offsetAt(zone, start);
  // The zone's state at `start` is of the kind the next transition leaves.
  const next = transitions[0];
  const initial: Kind = next !== undefined && next.to < next.from ? 'DAYLIGHT' : 'STANDARD';
  const observances: Observance[] = [{ kind: initial, from: offset, to: offset, name: nameAt(start, offset), onsets: [start + offset] }];
  const byKey = new Map<string, Observance>();
  for (const { at, from, to } of transitions) {
    const [kind, name]: [Kind, string] = [to > from ? 'DAYLIGHT' : 'STANDARD', nameAt(at, to)];
    const key = `${kind} ${from} ${to} ${name}`;
    let observance = byKey.get(key);
    if (observance === undefined) {
      observance = { kind, from, to, name, onsets: [] };
      byKey.set(key, observance);
      observances.push(observance);
    }
    // An onset is local time in the offset before it (RFC 5545 §3.6.5, DTSTART and RDATE).
    observance.onsets.push(at + from);
  }
  return observances;
}

/**
 * DTSTART is the first onset. With more than one, all of them are RDATEs, one per line: ical.js
 * reads only an RDATE's first value, and once an observance has RDATEs it no longer counts
 * DTSTART as an onset (RFC 5545 does; listing it twice is harmless).
 */
function observanceLines({ kind, from, to, name, onsets }: Observance): string[] {
  const rdates = onsets.length > 1 ? onsets.map((onset) => `RDATE:${wallText(onset)}`) : [];
  return [
    `BEGIN:${kind}`,
    `DTSTART:${wallText(onsets[0]!)}`,
    `TZOFFSETFROM:${offsetText(from)}`,
    `TZOFFSETTO:${offsetText(to)}`,
    `TZNAME:${name}`,
    ...rdates,
    `END:${kind}`,
  ];
}

/** A wall clock (epoch ms read as UTC) as a local DATE-TIME, 'YYYYMMDDTHHMMSS'. */
function wallText(wall: number): string {
  return new Date(wall).toISOString().slice(0, 19).replace(/[-:]/g, '');
}

/** A UTC-OFFSET value (RFC 5545 §3.3.14): ±HHMM, seconds only when there are some; never -0000. */
function offsetText(ms: number): string {
  const seconds = Math.abs(ms) / 1000;
  const pad = (n: number) => String(n).padStart(2, '0');
  const [hours, minutes, rest] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  return `${ms < 0 ? '-' : '+'}${pad(hours)}${pad(minutes)}${rest === 0 ? '' : pad(rest)}`;
}
