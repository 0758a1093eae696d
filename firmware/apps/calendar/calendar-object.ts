/**
 * One calendar object resource (RFC 4791 §4.1): parsed once with ical.js, validated, and kept
 * as a compact model that calendar-query and free-busy evaluate without ical.js on the hot path.
 *
 * Times are epoch milliseconds. A "wall" time is a wall-clock reading stored as if it were UTC;
 * a "resolved" time is UTC, except that floating times (no TZID, and all DATE values) stay
 * walls, so each query can read them in its calendar-timezone (RFC 4791 §9.9) or as UTC.
 *
 * Non-recurring components keep their resolved bounds, so a time-range test is arithmetic.
 * A recurring master keeps its rules and expands lazily with ical.js, remembering the
 * instances found so far; a hard cap bounds rules without end and hostile ones.
 */
import ICAL from 'ical.js';

export type CalendarComponent = 'VEVENT' | 'VTODO' | 'VJOURNAL' | 'VFREEBUSY';
export type CalendarPrecondition =
  | 'valid-calendar-data'
  | 'valid-calendar-object-resource'
  | 'supported-calendar-component'
  | 'supported-calendar-data';

const CALENDAR_COMPONENTS: readonly CalendarComponent[] = ['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY'];

/** Why an upload is refused, as the CALDAV precondition the PUT answers with. */
export class InvalidCalendarData extends Error {
  override name = 'InvalidCalendarData';
  constructor(
    readonly precondition: CalendarPrecondition,
    message: string,
  ) {
    super(message);
  }
}

export const DAY_MS = 86_400_000;
const TEN_THOUSAND_YEARS_MS = 10_000 * 366 * DAY_MS;
/** Where iCalendar's four-digit years end: instances from here on are not looked for. */
const END_OF_YEARS = Date.UTC(10_000, 0, 1);
/** Recurrence instances remembered per master; past this its expansion is "truncated". */
export const MAX_INSTANCES = 10_000;
/** Candidate dates ical.js may test for one occurrence (a rule whose limits never match spins on
 * these, inside one call); 2,000 days is over five years, enough for any sensible rule. */
const MAX_RULE_STEPS = 2_000;
/** Expanding one master may take this long per query; the next query resumes. */
const EXPANSION_BUDGET_MS = 250;

/** A time zone as the two conversions this module needs (epoch milliseconds both ways). */
export interface CalendarTimezone {
  toUtc(wall: number): number;
  toWall(utc: number): number;
}

export interface Property {
  /** Upper case. */
  readonly name: string;
  /** The value as text: TEXT unescaped, dates in iCalendar's basic form, lists joined by ','. */
  readonly value: string;
  /** Upper-case names; a multi-valued parameter joined by ','. */
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * Which row of RFC 4791 §9.9's tables decides whether an instance [a, b] meets a time-range.
 * 'periods' (a VFREEBUSY with FREEBUSY lines only) tests `busy` instead.
 */
export type TimeRule =
  | 'overlap'
  | 'point'
  | 'todo-duration'
  | 'todo-due-span'
  | 'todo-due'
  | 'todo-created-completed'
  | 'todo-completed'
  | 'todo-created'
  | 'freebusy'
  | 'periods'
  | 'always'
  | 'never';

export interface BusyPeriod {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

/** A component's place in time: its §9.9 rule and the two resolved instants it compares. */
export interface Span {
  readonly rule: TimeRule;
  readonly a: number;
  readonly b: number;
  readonly floatingA: boolean;
  readonly floatingB: boolean;
  readonly busy?: readonly BusyPeriod[];
}

/** A VALARM's TRIGGER (RFC 5545 §3.8.6.3) with its REPEAT/DURATION. */
export interface Trigger {
  /** 'ABSOLUTE': `offset` is a resolved instant; otherwise milliseconds from the parent's start or end. */
  readonly related: 'START' | 'END' | 'ABSOLUTE';
  readonly offset: number;
  readonly repeat: number;
  readonly interval: number;
}

export interface Component {
  /** Upper case. */
  readonly name: string;
  readonly properties: readonly Property[];
  readonly components: readonly Component[];
  /** Top-level components only. */
  readonly span?: Span;
  /** A master with RRULE or RDATE. */
  readonly recurrence?: Recurrence;
  /** VALARMs only. */
  readonly trigger?: Trigger;
}

export interface CalendarObject {
  readonly uid: string;
  readonly component: CalendarComponent;
  /** The VCALENDAR: its properties and its components (VTIMEZONEs left out; `zones` has them). */
  readonly calendar: Component;
  /** TZID → zone, for properties a filter reads at query time. */
  readonly zones: ReadonlyMap<string, CalendarTimezone>;
}

/**
 * Parses and validates one calendar object resource per RFC 4791 §4.1. Lenient where real
 * clients are: PRODID may be missing, a TZID without VTIMEZONE is read as the IANA zone of that
 * name (or floating if there is none). Throws only InvalidCalendarData.
 */
export function parseCalendarObject(bytes: Buffer, allowed: readonly CalendarComponent[] = CALENDAR_COMPONENTS): CalendarObject {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidCalendarData('valid-calendar-data', 'not UTF-8 text');
  }
  try {
    return buildObject(parseVcalendar(text), allowed);
  } catch (err) {
    if (err instanceof InvalidCalendarData) throw err;
    throw new InvalidCalendarData('valid-calendar-data', `not valid iCalendar: ${firstLine(err)}`);
  }
}

/** The zone of a CALDAV:calendar-timezone value (a VCALENDAR holding one VTIMEZONE). */
export function parseCalendarTimezone(text: string): CalendarTimezone {
  try {
    const zones = readZones(parseVcalendar(text)[2]);
    const [zone] = zones.values();
    if (zones.size !== 1 || zone === undefined) throw new InvalidCalendarData('valid-calendar-data', 'not exactly one VTIMEZONE');
    return zone;
  } catch (err) {
    if (err instanceof InvalidCalendarData) throw err;
    throw new InvalidCalendarData('valid-calendar-data', `not valid iCalendar: ${firstLine(err)}`);
  }
}

/** The IANA zone of this name (e.g. a calendar-timezone-id, RFC 7809), if the runtime knows it. */
export function ianaTimezone(tzid: string): CalendarTimezone | undefined {
  let zone = ianaZones.get(tzid);
  if (zone === undefined && !ianaZones.has(tzid)) {
    try {
      zone = new IanaZone(tzid);
    } catch {
      zone = undefined; // not a zone name Intl knows
    }
    if (ianaZones.size >= ZONE_CACHE_SIZE) ianaZones.delete(ianaZones.keys().next().value!);
    ianaZones.set(tzid, zone);
  }
  return zone;
}

export type InstanceWalk = 'stopped' | 'done' | 'truncated';

/**
 * Calls `visit(a, b)` for the instances of a top-level component (its span's a and b, per
 * instance for a recurring master) that may meet [from, to], until `visit` returns true
 * ('stopped'). 'truncated': the expansion stopped at one of its bounds (instance cap, a rule
 * cut off, this query's time budget) before reaching `to`, so later instances are unknown.
 */
export function visitInstances(
  component: Component,
  timezone: CalendarTimezone | undefined,
  from: number,
  to: number,
  visit: (a: number, b: number) => boolean,
): InstanceWalk {
  const span = component.span;
  if (span === undefined) return 'done';
  if (component.recurrence !== undefined) return component.recurrence.visit(timezone, from, to, visit);
  const a = span.floatingA && timezone !== undefined ? timezone.toUtc(span.a) : span.a;
  const b = span.floatingB && timezone !== undefined ? timezone.toUtc(span.b) : span.b;
  return visit(a, b) ? 'stopped' : 'done';
}

/** A DATE or DATE-TIME value. `zone` undefined: floating (so is every DATE). */
export interface TimeValue {
  readonly wall: number;
  readonly isDate: boolean;
  readonly zone: CalendarTimezone | undefined;
}

export function resolve(time: TimeValue): number {
  return time.zone === undefined ? time.wall : time.zone.toUtc(time.wall);
}

/** Reads 'YYYYMMDD' or 'YYYYMMDDTHHMMSS[Z]' (a Property's value form); undefined if not one. */
export function parseBasicTime(text: string, tzid: string | undefined, zones: ReadonlyMap<string, CalendarTimezone>): TimeValue | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(text);
  return m === null ? undefined : timeFromFields(m, tzid, zones);
}

/** Parses a DURATION value into nominal days and exact milliseconds; undefined if malformed or
 * longer than iCalendar's years go (so date arithmetic on it stays in range). */
export function parseDuration(text: string): { days: number; ms: number } | undefined {
  const m = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (m === null || text.endsWith('P') || text.endsWith('T')) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  const n = (i: number) => Number(m[i] ?? 0);
  const days = n(2) * 7 + n(3);
  const ms = ((n(4) * 60 + n(5)) * 60 + n(6)) * 1000;
  if (days * DAY_MS + ms > TEN_THOUSAND_YEARS_MS) return undefined;
  return { days: sign * days, ms: sign * ms };
}

// ---------------------------------------------------------------------------------------------
// Parsing

type JcalParams = Record<string, string | string[]>;
type JcalProperty = [string, JcalParams, string, ...unknown[]];
type JcalComponent = [string, JcalProperty[], JcalComponent[]];

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 120);
}

function parseVcalendar(text: string): JcalComponent {
  // ical.js answers one component as itself and several as a list of them.
  const parsed: unknown = ICAL.parse(text.replace(/^\uFEFF/, ''));
  if (!Array.isArray(parsed) || parsed.length === 0) throw new InvalidCalendarData('valid-calendar-data', 'no VCALENDAR');
  if (typeof parsed[0] !== 'string') {
    throw new InvalidCalendarData('valid-calendar-object-resource', 'more than one VCALENDAR');
  }
  const jcal = parsed as JcalComponent;
  if (jcal[0] !== 'vcalendar') throw new InvalidCalendarData('valid-calendar-data', `a ${jcal[0].toUpperCase()}, not a VCALENDAR`);
  return jcal;
}

function buildObject(jcal: JcalComponent, allowed: readonly CalendarComponent[]): CalendarObject {
  const [, calendarProperties, calendarComponents] = jcal;
  const version = calendarProperties.filter((p) => p[0] === 'version');
  if (version.length !== 1 || version[0]![3] !== '2.0') throw new InvalidCalendarData('valid-calendar-data', 'VERSION:2.0 missing');
  if (calendarProperties.some((p) => p[0] === 'method')) {
    throw new InvalidCalendarData('valid-calendar-object-resource', 'METHOD is not allowed in a calendar collection');
  }
  const zones = readZones(calendarComponents);
  const members = calendarComponents.filter((c) => c[0] !== 'vtimezone');
  const names = [...new Set(members.map((c) => c[0].toUpperCase()))];
  if (names.length === 0) throw new InvalidCalendarData('valid-calendar-object-resource', 'no VEVENT, VTODO, VJOURNAL or VFREEBUSY');
  if (names.length > 1) throw new InvalidCalendarData('valid-calendar-object-resource', `mixes ${names.join(' and ')}`);
  const name = names[0] as CalendarComponent;
  if (!CALENDAR_COMPONENTS.includes(name)) throw new InvalidCalendarData('supported-calendar-component', `${name} is not supported`);
  if (!allowed.includes(name)) throw new InvalidCalendarData('supported-calendar-component', `this calendar does not take ${name}`);

  const uids = new Set<string>();
  for (const member of members) {
    const uid = member[1].filter((p) => p[0] === 'uid');
    if (uid.length !== 1 || typeof uid[0]![3] !== 'string' || uid[0]![3] === '') {
      throw new InvalidCalendarData('valid-calendar-object-resource', `${name} without exactly one UID`);
    }
    uids.add(uid[0]![3]);
  }
  if (uids.size > 1) throw new InvalidCalendarData('valid-calendar-object-resource', 'components with different UIDs');

  // Overrides first: the master's expansion leaves out the instances they replace.
  const masters = members.filter((c) => !c[1].some((p) => p[0] === 'recurrence-id'));
  if (masters.length > 1) throw new InvalidCalendarData('valid-calendar-object-resource', `${masters.length} ${name}s without RECURRENCE-ID`);
  const overrides = members.filter((c) => c[1].some((p) => p[0] === 'recurrence-id'));
  const overridden: TimeValue[] = [];
  const components: Component[] = [];
  for (const override of overrides) {
    const ids = override[1].filter((p) => p[0] === 'recurrence-id');
    if (ids.length !== 1) throw new InvalidCalendarData('valid-calendar-data', 'more than one RECURRENCE-ID');
    const id = timeOf(ids[0]!, zones);
    if (overridden.some((t) => t.wall === id.wall && t.zone === id.zone)) {
      throw new InvalidCalendarData('valid-calendar-object-resource', 'two overrides of the same instance');
    }
    overridden.push(id);
    components.push(buildComponent(override, zones, []));
  }
  if (masters[0] !== undefined) components.unshift(buildComponent(masters[0], zones, overridden));
  return {
    uid: detached([...uids][0]!),
    component: name,
    calendar: { name: 'VCALENDAR', properties: calendarProperties.map(readProperty), components },
    zones,
  };
}

function buildComponent(jcal: JcalComponent, zones: ReadonlyMap<string, CalendarTimezone>, overridden: readonly TimeValue[]): Component {
  const [rawName, rawProperties, rawComponents] = jcal;
  const name = intern(rawName.toUpperCase());
  const find = (prop: string) => {
    const found = rawProperties.filter((p) => p[0] === prop);
    if (found.length > 1) throw new InvalidCalendarData('valid-calendar-data', `${name} with more than one ${prop.toUpperCase()}`);
    return found[0];
  };
  const time = (prop: string) => {
    const found = find(prop);
    return found === undefined ? undefined : timeOf(found, zones);
  };
  const duration = (prop: string) => {
    const found = find(prop);
    if (found === undefined) return undefined;
    const parsed = typeof found[3] === 'string' ? parseDuration(found[3]) : undefined;
    if (parsed === undefined) throw new InvalidCalendarData('valid-calendar-data', `${name} with a malformed ${prop.toUpperCase()}`);
    return parsed;
  };
  const properties = rawProperties.map(readProperty);
  const components = rawComponents.map((c) => buildComponent(c, zones, []));
  if (name === 'VALARM') {
    const trigger = triggerOf(find, zones);
    return trigger === undefined ? { name, properties, components } : { name, properties, components, trigger };
  }
  if (!(CALENDAR_COMPONENTS as readonly string[]).includes(name)) return { name, properties, components };

  const timing = timingOf(name as CalendarComponent, time, duration, () => busyOf(rawProperties, zones));
  const isMaster = !rawProperties.some((p) => p[0] === 'recurrence-id');
  const recurs = rawProperties.some((p) => p[0] === 'rrule' || p[0] === 'rdate');
  const recurrence =
    isMaster && recurs && timing.start !== undefined ? recurrenceOf(rawProperties, timing, zones, overridden) : undefined;
  const component = { name, properties, components, span: timing.span };
  return recurrence === undefined ? component : { ...component, recurrence };
}

interface Timing {
  span: Span;
  /** What a recurring master's instances repeat: DTSTART, and the length each instance lasts. */
  start?: TimeValue;
  length?: { days: number; ms: number };
}

/** RFC 4791 §9.9, component by component. */
function timingOf(
  name: CalendarComponent,
  time: (prop: string) => TimeValue | undefined,
  duration: (prop: string) => { days: number; ms: number } | undefined,
  busy: () => BusyPeriod[],
): Timing {
  const start = time('dtstart');
  const spanOf = (rule: TimeRule, first: TimeValue | undefined, second = first): Span =>
    first === undefined || second === undefined
      ? { rule, a: 0, b: 0, floatingA: false, floatingB: false }
      : { rule, a: resolve(first), b: resolve(second), floatingA: first.zone === undefined, floatingB: second.zone === undefined };
  const lasting = (rule: TimeRule, begin: TimeValue, length: { days: number; ms: number }): Timing => {
    const floating = begin.zone === undefined;
    return { span: { rule, a: resolve(begin), b: endOf(begin, length), floatingA: floating, floatingB: floating }, start: begin, length };
  };
  switch (name) {
    case 'VEVENT': {
      if (start === undefined) throw new InvalidCalendarData('valid-calendar-data', 'VEVENT without DTSTART');
      const end = time('dtend');
      const length = duration('duration');
      if (end !== undefined && length !== undefined) throw new InvalidCalendarData('valid-calendar-data', 'VEVENT with both DTEND and DURATION');
      if (end !== undefined) return lasting('overlap', start, lengthBetween(start, end));
      if (length !== undefined) return lasting(length.days * DAY_MS + length.ms > 0 ? 'overlap' : 'point', start, length);
      return start.isDate ? lasting('overlap', start, { days: 1, ms: 0 }) : lasting('point', start, { days: 0, ms: 0 });
    }
    case 'VTODO': {
      const due = time('due');
      const length = duration('duration');
      if (due !== undefined && length !== undefined) throw new InvalidCalendarData('valid-calendar-data', 'VTODO with both DUE and DURATION');
      if (start !== undefined) {
        if (length !== undefined) return lasting('todo-duration', start, length);
        if (due !== undefined) return lasting('todo-due-span', start, lengthBetween(start, due));
        return lasting('point', start, { days: 0, ms: 0 });
      }
      if (length !== undefined) throw new InvalidCalendarData('valid-calendar-data', 'VTODO with DURATION but no DTSTART');
      if (due !== undefined) return { span: spanOf('todo-due', due) };
      const created = time('created');
      const completed = time('completed');
      if (completed !== undefined) {
        return { span: created !== undefined ? spanOf('todo-created-completed', created, completed) : spanOf('todo-completed', completed) };
      }
      return { span: created !== undefined ? spanOf('todo-created', created) : spanOf('always', undefined) };
    }
    case 'VJOURNAL':
      if (start === undefined) return { span: spanOf('never', undefined) };
      return start.isDate ? lasting('overlap', start, { days: 1, ms: 0 }) : lasting('point', start, { days: 0, ms: 0 });
    case 'VFREEBUSY': {
      const end = time('dtend');
      if (start !== undefined && end !== undefined) return { span: { ...spanOf('freebusy', start, end), busy: busy() } };
      const periods = busy();
      return { span: { ...spanOf(periods.length > 0 ? 'periods' : 'never', undefined), busy: periods } };
    }
  }
}

/** The resolved end of what starts at `start` and lasts `length`: nominal days on the wall clock, then exact time (RFC 5545 §3.3.6). */
function endOf(start: TimeValue, length: { days: number; ms: number }): number {
  return resolve({ ...start, wall: start.wall + length.days * DAY_MS }) + length.ms;
}

/** DTEND − DTSTART as instances repeat it: whole days between DATEs, exact time otherwise (RFC 5545 §3.8.5.3). */
function lengthBetween(start: TimeValue, end: TimeValue): { days: number; ms: number } {
  if (start.isDate && end.isDate) return { days: Math.round((end.wall - start.wall) / DAY_MS), ms: 0 };
  return { days: 0, ms: resolve(end) - resolve(start) };
}

/** FREEBUSY periods (UTC per RFC 5545), FBTYPE=FREE left out. */
function busyOf(properties: readonly JcalProperty[], zones: ReadonlyMap<string, CalendarTimezone>): BusyPeriod[] {
  const busy: BusyPeriod[] = [];
  for (const [name, params, , ...values] of properties) {
    if (name !== 'freebusy') continue;
    const type = typeof params.fbtype === 'string' ? params.fbtype.toUpperCase() : 'BUSY';
    for (const value of values) {
      const period = Array.isArray(value) ? periodOf(value, undefined, zones) : undefined;
      if (period === undefined) throw new InvalidCalendarData('valid-calendar-data', 'malformed FREEBUSY period');
      if (type !== 'FREE') busy.push({ type, start: resolve(period.start), end: period.end });
    }
  }
  return busy;
}

/** A PERIOD value: its start, and its resolved end. */
function periodOf(value: unknown[], tzid: string | undefined, zones: ReadonlyMap<string, CalendarTimezone>) {
  const [first, second] = value;
  if (typeof first !== 'string' || typeof second !== 'string') return undefined;
  const start = jcalTime(first, tzid, zones);
  if (start === undefined) return undefined;
  const length = parseDuration(second);
  if (length !== undefined) return { start, end: endOf(start, length) };
  const end = jcalTime(second, tzid, zones);
  return end === undefined ? undefined : { start, end: resolve(end) };
}

function triggerOf(
  find: (prop: string) => JcalProperty | undefined,
  zones: ReadonlyMap<string, CalendarTimezone>,
): Trigger | undefined {
  const trigger = find('trigger');
  if (trigger === undefined) return undefined;
  const repeatProp = find('repeat')?.[3];
  const intervalProp = find('duration')?.[3];
  const interval = typeof intervalProp === 'string' ? parseDuration(intervalProp) : undefined;
  const intervalMs = interval === undefined ? 0 : interval.days * DAY_MS + interval.ms;
  // REPEAT without a positive DURATION (or the reverse) means no repeats (RFC 5545 §3.6.6).
  const repeats = typeof repeatProp === 'number' && intervalMs > 0 ? Math.max(0, Math.min(repeatProp, 1000)) : 0;
  const repeat = { repeat: repeats, interval: repeats > 0 ? intervalMs : 0 };
  const value = trigger[3];
  if (typeof value !== 'string') return undefined;
  if (trigger[2] === 'date-time') {
    const at = jcalTime(value, undefined, zones);
    if (at === undefined) throw new InvalidCalendarData('valid-calendar-data', 'malformed TRIGGER');
    return { related: 'ABSOLUTE', offset: resolve(at), ...repeat };
  }
  const offset = parseDuration(value);
  if (offset === undefined) throw new InvalidCalendarData('valid-calendar-data', 'malformed TRIGGER');
  const related = trigger[1].related === 'END' ? 'END' : 'START';
  return { related, offset: offset.days * DAY_MS + offset.ms, ...repeat };
}

function timeOf(property: JcalProperty, zones: ReadonlyMap<string, CalendarTimezone>): TimeValue {
  const [name, params, , value] = property;
  const tzid = typeof params.tzid === 'string' ? params.tzid : undefined;
  const time = typeof value === 'string' ? jcalTime(value, tzid, zones) : undefined;
  if (time === undefined) throw new InvalidCalendarData('valid-calendar-data', `malformed ${name.toUpperCase()}`);
  return time;
}

/** ical.js writes DATE as 'YYYY-MM-DD' and DATE-TIME as 'YYYY-MM-DDTHH:MM:SS[Z]' (it does not check them). */
function jcalTime(text: string, tzid: string | undefined, zones: ReadonlyMap<string, CalendarTimezone>): TimeValue | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(Z)?)?$/.exec(text);
  return m === null ? undefined : timeFromFields(m, tzid, zones);
}

function timeFromFields(m: RegExpExecArray, tzid: string | undefined, zones: ReadonlyMap<string, CalendarTimezone>): TimeValue | undefined {
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const isDate = m[4] === undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return undefined;
  const wall = wallMs(year, month, day, hour, minute, Math.min(second, 59));
  if (isDate) return { wall, isDate, zone: undefined };
  if (m[7] === 'Z') return { wall, isDate, zone: UTC };
  return { wall, isDate, zone: tzid === undefined ? undefined : (zones.get(tzid) ?? ianaTimezone(tzid)) };
}

function daysInMonth(year: number, month: number): number {
  return new Date(wallMs(year, month + 1, 0)).getUTCDate();
}

/** Epoch milliseconds of a wall-clock reading taken as UTC (Date.UTC would move years below 100 to 19xx). */
function wallMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function readProperty([name, params, type, ...values]: JcalProperty): Property {
  const entries = Object.entries(params);
  const property = { name: intern(name.toUpperCase()), value: detached(values.map((v) => valueText(type, v)).join(',')) };
  if (entries.length === 0) return property;
  const upper: Record<string, string> = {};
  for (const [key, value] of entries) upper[intern(key.toUpperCase())] = detached(Array.isArray(value) ? value.join(',') : value);
  return { ...property, params: upper };
}

/** A copy of `text` that does not keep the whole input alive: V8 makes substrings of 13
 * characters or more views of it (shorter ones are copies already). */
function detached(text: string): string {
  return text.length < 13 ? text : (JSON.parse(JSON.stringify(text)) as string);
}

function valueText(type: string, value: unknown): string {
  if (typeof value === 'string') {
    if (type === 'date' || type === 'date-time' || type === 'utc-offset') return value.replace(/[-:]/g, '');
    // ical.js leaves the TEXT escapes of unknown (X-) properties in place.
    return type === 'unknown' ? value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c)) : value;
  }
  if (Array.isArray(value)) return value.map((v) => valueText(type === 'period' ? 'date-time' : type, v)).join(type === 'period' ? '/' : ';');
  if (type === 'recur' && typeof value === 'object' && value !== null) return ICAL.Recur.fromData(value).toString();
  return String(value);
}

/** Names repeat across thousands of cached objects: keep one copy of each. */
const internedNames = new Map<string, string>();
function intern(name: string): string {
  const known = internedNames.get(name);
  if (known !== undefined) return known;
  if (internedNames.size < 2000) internedNames.set(name, name);
  return name;
}

// ---------------------------------------------------------------------------------------------
// Time zones

const ZONE_CACHE_SIZE = 64;
const UTC: CalendarTimezone = { toUtc: (wall) => wall, toWall: (utc) => utc };

/** VTIMEZONEs by their content: clients send the same few with every object, and ical.js keeps
 * each zone's expanded transitions, so sharing them saves both memory and time. */
const vtimezones = new Map<string, CalendarTimezone>();
const ianaZones = new Map<string, CalendarTimezone | undefined>();

function readZones(components: readonly JcalComponent[]): Map<string, CalendarTimezone> {
  const zones = new Map<string, CalendarTimezone>();
  for (const component of components) {
    if (component[0] !== 'vtimezone') continue;
    const tzid = component[1].find((p) => p[0] === 'tzid')?.[3];
    if (typeof tzid !== 'string' || tzid === '') throw new InvalidCalendarData('valid-calendar-data', 'VTIMEZONE without TZID');
    if (zones.has(tzid)) throw new InvalidCalendarData('valid-calendar-data', `two VTIMEZONEs for ${tzid}`);
    zones.set(detached(tzid), vtimezoneZone(component));
  }
  return zones;
}

function vtimezoneZone(jcal: JcalComponent): CalendarTimezone {
  const key = JSON.stringify(jcal);
  let zone = vtimezones.get(key);
  if (zone !== undefined) return zone;
  for (const [name, properties] of jcal[2]) {
    // ical.js expands each rule from its DTSTART up to the years asked for: only the yearly
    // rules real zones have keep that bounded.
    const rules = properties.filter((p) => p[0] === 'rrule').map((p) => checkedRule(p[3]));
    if (rules.length > 1 || rules.some((r) => r.freq !== 'YEARLY')) {
      throw new InvalidCalendarData('valid-calendar-data', `VTIMEZONE ${name.toUpperCase()} with an unusual RRULE`);
    }
  }
  const timezone = new ICAL.Timezone(new ICAL.Component(jcal));
  zone = new VtimezoneZone(timezone);
  zone.toUtc(Date.now()); // fails here, on upload, if ical.js cannot read the rules
  // Without any transition ical.js would expand the rules again on every conversion.
  if (timezone.changes.length === 0) throw new InvalidCalendarData('valid-calendar-data', 'VTIMEZONE without a usable STANDARD or DAYLIGHT');
  if (vtimezones.size >= ZONE_CACHE_SIZE) vtimezones.delete(vtimezones.keys().next().value!);
  vtimezones.set(key, zone);
  return zone;
}

/**
 * A VTIMEZONE: ical.js expands its rules into transitions, which are then looked up here by
 * binary search (ical.js's own lookup builds several objects per call, too slow per instance).
 *
 * Wall times in a gap or a fold take the offset before the transition (RFC 5545 §3.3.5: the
 * first occurrence of a repeated time; a skipped time read with the offset before the gap).
 */
class VtimezoneZone implements CalendarTimezone {
  /** Transition instants (UTC, ascending), the wall clock after which each applies, its offset. */
  private instants: number[] = [];
  private wallStarts: number[] = [];
  private offsets: number[] = [];
  private initialOffset = 0;
  /** Transitions are known up to this wall time. */
  private knownUntil = -Infinity;

  constructor(private readonly timezone: InstanceType<typeof ICAL.Timezone>) {}

  toUtc(wall: number): number {
    const shift = cycleShift(wall);
    this.cover(wall - shift);
    const i = lastAtOrBefore(this.wallStarts, wall - shift);
    return wall - (i < 0 ? this.initialOffset : this.offsets[i]!);
  }

  toWall(utc: number): number {
    const shift = cycleShift(utc);
    this.cover(utc - shift + DAY_MS);
    const i = lastAtOrBefore(this.instants, utc - shift);
    return utc + (i < 0 ? this.initialOffset : this.offsets[i]!);
  }

  /** Makes sure the transitions of the year of `wall` are known. */
  private cover(wall: number): void {
    if (wall < this.knownUntil) return;
    const year = new Date(wall).getUTCFullYear();
    this.timezone._ensureCoverage(year);
    // ical.js may list a transition more than once (it re-expands from the start).
    const byInstant = new Map<number, { offset: number; previous: number }>();
    for (const change of this.timezone.changes as IcalChange[]) {
      const instant = wallMs(change.year, change.month, change.day, change.hour, change.minute, change.second);
      byInstant.set(instant, { offset: change.utcOffset * 1000, previous: change.prevUtcOffset * 1000 });
    }
    const sorted = [...byInstant].sort((x, y) => x[0] - y[0]);
    this.instants = sorted.map(([instant]) => instant);
    this.wallStarts = sorted.map(([instant, { offset, previous }]) => instant + Math.max(offset, previous));
    this.offsets = sorted.map(([, { offset }]) => offset);
    this.initialOffset = sorted[0]?.[1].previous ?? 0;
    this.knownUntil = wallMs(year + 1, 1, 1);
  }
}

/** A transition as ical.js keeps it: the UTC time it happens, the offsets after and before (seconds). */
interface IcalChange {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  utcOffset: number;
  prevUtcOffset: number;
}

const GREGORIAN_CYCLE_MS = 146_097 * DAY_MS;
const LAST_EXPANDED = Date.UTC(2400, 0, 1);

/** How far to move a time after 2400 back, by whole 400-year Gregorian cycles (whose weekdays
 * repeat, and so yearly zone rules), so far years do not make ical.js expand that far. */
function cycleShift(time: number): number {
  return Math.max(0, Math.ceil((time - LAST_EXPANDED) / GREGORIAN_CYCLE_MS)) * GREGORIAN_CYCLE_MS;
}

/** The last index whose value is ≤ `value` in an ascending array, or -1. */
function lastAtOrBefore(values: readonly number[], value: number): number {
  return lowerBound(values, value + 1) - 1;
}

/** An IANA zone through Intl, for TZIDs sent without a VTIMEZONE. */
class IanaZone implements CalendarTimezone {
  private readonly format: Intl.DateTimeFormat;

  constructor(tzid: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: tzid,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  toWall(utc: number): number {
    return utc + this.offsetAt(utc);
  }

  /** As for VTIMEZONEs: in a fold the first occurrence, in a gap the offset before it. */
  toUtc(wall: number): number {
    const before = this.offsetAt(wall - DAY_MS);
    const after = this.offsetAt(wall + DAY_MS);
    const fits = (offset: number) => this.offsetAt(wall - offset) === offset;
    if (fits(before)) return wall - before;
    return fits(after) ? wall - after : wall - before;
  }

  /** The offset in force at this instant (whole seconds, as Intl gives them). */
  private offsetAt(utc: number): number {
    const parts: Record<string, string> = {};
    for (const part of this.format.formatToParts(utc)) parts[part.type] = part.value;
    const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
    const wall = wallMs(year, Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    return wall - Math.floor(utc / 1000) * 1000;
  }
}

// ---------------------------------------------------------------------------------------------
// Recurrence

/** One member of the recurrence set: its start as a wall clock in DTSTART's zone, and an RDATE period's resolved end. */
interface SetMember {
  wall: number;
  end?: number;
}

function recurrenceOf(
  properties: readonly JcalProperty[],
  timing: Timing,
  zones: ReadonlyMap<string, CalendarTimezone>,
  overridden: readonly TimeValue[],
): Recurrence {
  const start = timing.start!;
  // Every member of the set as a wall clock in DTSTART's zone, so EXDATE and RECURRENCE-ID
  // given in another zone still match.
  const inStartZone = (time: TimeValue) =>
    time.zone === undefined || time.zone === start.zone ? time.wall : start.zone === undefined ? resolve(time) : start.zone.toWall(resolve(time));
  const rules: InstanceType<typeof ICAL.Recur>[] = [];
  const extra: SetMember[] = [{ wall: start.wall }]; // DTSTART is always the first instance
  const excluded = new Set<number>(overridden.map(inStartZone));
  for (const property of properties) {
    const [name, params, type, ...values] = property;
    const tzid = typeof params.tzid === 'string' ? params.tzid : undefined;
    if (name === 'rrule') {
      const rule = checkedRule(values[0]);
      if (rule.until !== null) rule.until = untilInStartZone(rule.until, start);
      rule.iterator(floatingTime(start.wall, start.isDate)); // throws here for rules ical.js refuses
      rules.push(rule);
    } else if (name === 'rdate' || name === 'exdate') {
      for (const value of values) {
        const period = type === 'period' && Array.isArray(value) ? periodOf(value, tzid, zones) : undefined;
        const time = period?.start ?? (typeof value === 'string' ? jcalTime(value, tzid, zones) : undefined);
        if (time === undefined) throw new InvalidCalendarData('valid-calendar-data', `malformed ${name.toUpperCase()}`);
        if (name === 'exdate') excluded.add(inStartZone(time));
        else extra.push(period === undefined ? { wall: inStartZone(time) } : { wall: inStartZone(time), end: period.end });
      }
    }
  }
  extra.sort((x, y) => x.wall - y.wall);
  return new Recurrence(start, timing.length!, rules, extra, excluded);
}

/** RFC 5545 §3.3.10's ranges, checked because ical.js takes some values outside them and then
 * spins: BYDAY=-8SU costs it 0.2 s per iterator before it finds nothing. */
const RULE_PART_RANGES: Record<string, [number, number]> = {
  BYSECOND: [0, 60],
  BYMINUTE: [0, 59],
  BYHOUR: [0, 23],
  BYMONTHDAY: [-31, 31],
  BYYEARDAY: [-366, 366],
  BYWEEKNO: [-53, 53],
  BYMONTH: [1, 12],
  BYSETPOS: [-366, 366],
};

function checkedRule(value: unknown): InstanceType<typeof ICAL.Recur> {
  const rule = ICAL.Recur.fromData(value as Parameters<typeof ICAL.Recur.fromData>[0]);
  const fail = (what: string) => new InvalidCalendarData('valid-calendar-data', `RRULE with ${what} out of range`);
  if (!Number.isInteger(rule.interval) || rule.interval < 1) throw fail('INTERVAL');
  for (const [part, [low, high]] of Object.entries(RULE_PART_RANGES)) {
    const values = (rule.parts[part as keyof typeof rule.parts] ?? []) as unknown[];
    if (values.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < low || v > high || (low < 0 && v === 0))) throw fail(part);
  }
  // A weekday's ordinal counts within the month for monthly rules and yearly ones with BYMONTH.
  const limit = rule.freq === 'MONTHLY' || (rule.freq === 'YEARLY' && rule.parts.BYMONTH !== undefined) ? 5 : 53;
  for (const day of rule.parts.BYDAY ?? []) {
    const m = /^([+-]?\d+)?(MO|TU|WE|TH|FR|SA|SU)$/.exec(day);
    const ordinal = Number(m?.[1] ?? 1);
    if (m === null || ordinal === 0 || Math.abs(ordinal) > limit) throw fail('BYDAY');
  }
  return rule;
}

/** UNTIL as a wall clock of DTSTART's zone, which is where the iterator counts. */
function untilInStartZone(until: InstanceType<typeof ICAL.Time>, start: TimeValue): InstanceType<typeof ICAL.Time> {
  const untilWall = wallMs(until.year, until.month, until.day, until.hour, until.minute, until.second);
  // A DATE UNTIL on a DATE-TIME rule takes that whole day (RFC 5545 wants matching types).
  if (until.isDate) return floatingTime(start.isDate ? untilWall : untilWall + DAY_MS - 1000, start.isDate);
  const utc = until.zone === ICAL.Timezone.utcTimezone;
  return floatingTime(utc && start.zone !== undefined ? start.zone.toWall(untilWall) : untilWall, start.isDate);
}

function floatingTime(wall: number, isDate: boolean): InstanceType<typeof ICAL.Time> {
  const date = new Date(wall);
  return ICAL.Time.fromData({
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: isDate ? 0 : date.getUTCHours(),
    minute: isDate ? 0 : date.getUTCMinutes(),
    second: isDate ? 0 : date.getUTCSeconds(),
    isDate,
  });
}

class RuleBudgetExceeded extends Error {}

interface RuleHead {
  iterator: InstanceType<typeof ICAL.RecurIterator>;
  /** Its next occurrence not yet taken; undefined once it has no more. */
  wall: number | undefined;
  /** Candidate dates tested for the occurrence being looked for. */
  steps: number;
}

/** The live state of an expansion: one ical.js iterator per RRULE, and the next extra member. */
interface Expander {
  heads: RuleHead[];
  nextExtra: number;
  /** A rule was cut off (step budget, or ical.js failed on it): the set may go on past the end. */
  cut: boolean;
}

/**
 * A master's recurrence set (RFC 5545 §3.8.5): DTSTART, RRULEs and RDATEs, less EXDATEs and the
 * instances overrides replace. Instances are found in order from a window start on and
 * remembered, so a later query over the same or a later range costs a binary search.
 *
 * The window starts at DTSTART, or for a daily or weekly rule without COUNT or BYSETPOS (whose
 * occurrences repeat every INTERVAL days or weeks) at the first such period before the range
 * asked for: a standup that began years ago costs the same as one that began last week. A query
 * before the window, or far after what is known, starts it over there.
 *
 * Bounds: at most MAX_INSTANCES; MAX_RULE_STEPS candidate dates per occurrence; and
 * EXPANSION_BUDGET_MS of expanding per query, a slow rule (ical.js takes up to ~1 ms per monthly
 * BYSETPOS occurrence) resuming on the next query.
 */
export class Recurrence {
  /** Resolved instance starts and ends, in start order, of the instances from `windowStart` on. */
  private starts: number[] = [];
  private ends: number[] = [];
  /** A wall clock; +Infinity until the first query. */
  private windowStart = Infinity;
  private state: 'open' | 'complete' | 'truncated' = 'open';
  private expander: Expander | undefined;
  /** The longest instance: how far before a range an instance may start and still reach it. */
  private readonly longest: number;
  /** The wall-clock period the rules repeat with, when the window may start late. */
  private readonly period: number | undefined;

  constructor(
    private readonly start: TimeValue,
    private readonly length: { days: number; ms: number },
    private readonly rules: readonly InstanceType<typeof ICAL.Recur>[],
    private readonly extra: readonly SetMember[],
    private readonly excluded: ReadonlySet<number>,
  ) {
    const periods = extra.map((m) => (m.end === undefined ? 0 : m.end - m.wall));
    this.longest = Math.max(length.days * DAY_MS + length.ms, ...periods);
    const [rule, ...others] = rules;
    const periodic = rule !== undefined && others.length === 0 && rule.count === null && rule.parts.BYSETPOS === undefined;
    if (periodic && rule.freq === 'DAILY') this.period = rule.interval * DAY_MS;
    if (periodic && rule.freq === 'WEEKLY') this.period = rule.interval * 7 * DAY_MS;
  }

  visit(
    timezone: CalendarTimezone | undefined,
    from: number,
    to: number,
    visit: (a: number, b: number) => boolean,
  ): InstanceWalk {
    const deadline = performance.now() + EXPANSION_BUDGET_MS;
    const convert = this.start.zone === undefined && timezone !== undefined ? timezone : undefined;
    // Floating starts are stored as walls; a calendar-timezone moves them by less than this.
    const slack = convert === undefined ? 0 : 2 * DAY_MS;
    const earliest = from - this.longest - slack;
    // A zone's offset is under a day: a window from a day before `earliest` holds every instance after it.
    const wanted = earliest - DAY_MS;
    const known = this.starts.at(-1) ?? this.windowStart;
    const farAhead = this.period !== undefined && Number.isFinite(known) && wanted - known > 2 * this.period;
    if (wanted < this.windowStart || farAhead) this.restart(wanted);
    while ((this.starts.length === 0 || this.starts.at(-1)! < earliest) && this.extend(deadline));
    for (let i = lowerBound(this.starts, earliest); ; i++) {
      if (i === this.starts.length && !this.extend(deadline)) return this.state === 'complete' ? 'done' : 'truncated';
      if (this.starts[i]! > to + slack) return 'done';
      const a = convert === undefined ? this.starts[i]! : convert.toUtc(this.starts[i]!);
      const b = convert === undefined ? this.ends[i]! : convert.toUtc(this.ends[i]!);
      if (a <= to && Math.max(a, b) >= from && visit(a, b)) return 'stopped';
    }
  }

  /**
   * Forgets what was found, to find instances again from a window holding `wall`. ical.js may
   * give the window start itself although the rule would not (as it does DTSTART); callers ask
   * for a window a day before anything they look at, so that one never shows.
   */
  private restart(wall: number): void {
    const periods = this.period === undefined ? 0 : Math.floor((wall - this.start.wall) / this.period);
    this.windowStart = periods > 0 ? this.start.wall + periods * this.period! : -Infinity;
    this.starts = [];
    this.ends = [];
    this.state = 'open';
    this.expander = this.startExpander(periods > 0 ? this.windowStart : this.start.wall);
  }

  /** Adds the next instance; false if there is none, or none this query (its budget is spent). */
  private extend(deadline: number): boolean {
    if (this.state !== 'open' || performance.now() > deadline) return false;
    const expander = this.expander!;
    for (;;) {
      const member = this.nextMember(expander);
      if (member === undefined) return this.finish(expander.cut ? 'truncated' : 'complete');
      if (!(member.wall < END_OF_YEARS)) return this.finish('complete');
      if (member.wall < this.windowStart || this.excluded.has(member.wall)) continue;
      if (this.starts.length >= MAX_INSTANCES) return this.finish('truncated');
      const zone = this.start.zone;
      this.starts.push(zone === undefined ? member.wall : zone.toUtc(member.wall));
      this.ends.push(member.end ?? endOf({ ...this.start, wall: member.wall }, this.length));
      return true;
    }
  }

  private finish(state: 'complete' | 'truncated'): false {
    this.state = state;
    this.expander = undefined;
    return false;
  }

  private startExpander(iterationStart: number): Expander {
    const expander: Expander = { heads: [], nextExtra: lowerBound(this.extra.map((m) => m.wall), this.windowStart), cut: false };
    const dtstart = floatingTime(iterationStart, this.start.isDate);
    for (const rule of this.rules) {
      const iterator = rule.iterator(dtstart);
      const head: RuleHead = { iterator, wall: undefined, steps: 0 };
      const check = iterator.check_contracting_rules;
      iterator.check_contracting_rules = () => {
        if (++head.steps > MAX_RULE_STEPS) throw new RuleBudgetExceeded();
        return check.call(iterator);
      };
      this.advance(head, expander);
      expander.heads.push(head);
    }
    return expander;
  }

  private advance(head: RuleHead, expander: Expander): void {
    head.steps = 0;
    try {
      const time = head.iterator.next();
      head.wall = time === null ? undefined : wallMs(time.year, time.month, time.day, time.hour, time.minute, time.second);
    } catch {
      head.wall = undefined;
      expander.cut = true;
    }
  }

  /** The earliest member not yet taken; a start several sources give is one member. */
  private nextMember(expander: Expander): SetMember | undefined {
    let earliest: SetMember | undefined = this.extra[expander.nextExtra];
    for (const head of expander.heads) {
      if (head.wall !== undefined && (earliest === undefined || head.wall < earliest.wall)) earliest = { wall: head.wall };
    }
    if (earliest === undefined) return undefined;
    while (this.extra[expander.nextExtra]?.wall === earliest.wall) earliest = this.extra[expander.nextExtra++]!;
    for (const head of expander.heads) {
      if (head.wall === earliest.wall) this.advance(head, expander);
    }
    return earliest;
  }
}

/** The first index whose value is ≥ `value` in an ascending array. */
function lowerBound(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (values[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
