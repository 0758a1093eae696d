/**
 * CALDAV:filter (RFC 4791 §9.7) evaluated on parsed calendar objects. A filter element is
 * checked and compiled once into a predicate, then run on every object of the collection.
 */
import { type XmlElement, CALDAV_NS } from '../../http/dav/xml.js';
import {
  DAY_MS,
  parseBasicTime,
  parseDuration,
  resolve,
  visitInstances,
  type CalendarObject,
  type CalendarTimezone,
  type Component,
  type Property,
  type Span,
  type TimeRule,
} from './calendar-object.js';

/** A filter this server refuses: malformed (CALDAV:valid-filter) or asking for an unknown collation. */
export class UnsupportedFilter extends Error {
  override name = 'UnsupportedFilter';
  constructor(
    message: string,
    readonly precondition: 'valid-filter' | 'supported-collation' = 'valid-filter',
  ) {
    super(message);
  }
}

/** `timezone`: the calendar-timezone floating times are read in (UTC when undefined). */
export type CalendarFilter = (object: CalendarObject, timezone?: CalendarTimezone) => boolean;

/** Checks a CALDAV:filter element and compiles it; throws UnsupportedFilter. */
export function compileCalendarFilter(filter: XmlElement): CalendarFilter {
  if (filter.ns !== CALDAV_NS || filter.name !== 'filter') throw new UnsupportedFilter('not a CALDAV:filter');
  const [root, ...others] = caldavChildren(filter);
  if (root === undefined || others.length > 0 || root.name !== 'comp-filter') {
    throw new UnsupportedFilter('a filter holds exactly one comp-filter');
  }
  const { name, isNotDefined, conditions } = compileCompFilter(root, undefined);
  if (name !== 'VCALENDAR') throw new UnsupportedFilter('the outer comp-filter must name VCALENDAR');
  if (isNotDefined) return () => false;
  return (object, timezone) => conditions(object.calendar, undefined, { timezone, zones: object.zones });
}

const compiledFilters = new WeakMap<XmlElement, CalendarFilter>();

/** Whether the object matches the filter; the filter is compiled on first use and remembered. */
export function matchesCalendarFilter(object: CalendarObject, filter: XmlElement, timezone?: CalendarTimezone): boolean {
  let compiled = compiledFilters.get(filter);
  if (compiled === undefined) compiledFilters.set(filter, (compiled = compileCalendarFilter(filter)));
  return compiled(object, timezone);
}

/** 'YYYYMMDDTHHMMSSZ' → Date; throws UnsupportedFilter on anything else. */
export function parseUtcDateTime(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m !== null) {
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute, second, 0);
    const exact =
      date.getUTCMonth() === month - 1 && date.getUTCDate() === day && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
    if (exact) return date;
  }
  throw new UnsupportedFilter(`not a UTC date-time: ${JSON.stringify(text.slice(0, 40))}`);
}

// ---------------------------------------------------------------------------------------------

interface Context {
  timezone: CalendarTimezone | undefined;
  /** The object's VTIMEZONEs, for the TZIDs of properties a time-range reads. */
  zones: ReadonlyMap<string, CalendarTimezone>;
}

interface TimeRange {
  start: number;
  end: number;
}

/** Whether a component (whose parent is given, for VALARMs) meets a comp-filter's conditions. */
type ComponentTest = (component: Component, parent: Component | undefined, context: Context) => boolean;

const TIMED_COMPONENTS = new Set(['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY', 'VALARM']);

function caldavChildren(element: XmlElement): XmlElement[] {
  return element.children.filter((c) => c.ns === CALDAV_NS);
}

function nameOf(element: XmlElement): string {
  const name = element.attrs.get('name');
  if (name === undefined || name === '') throw new UnsupportedFilter(`${element.name} without a name`);
  return name.toUpperCase();
}

/** Splits a filter element's CALDAV children by kind, refusing kinds it may not hold. */
function partsOf(element: XmlElement, allowed: readonly string[]): Map<string, XmlElement[]> {
  const parts = new Map<string, XmlElement[]>();
  for (const part of caldavChildren(element)) {
    if (!allowed.includes(part.name)) throw new UnsupportedFilter(`${part.name} is not allowed in ${element.name}`);
    const same = parts.get(part.name);
    if (same === undefined) parts.set(part.name, [part]);
    else same.push(part);
  }
  const isNotDefined = parts.has('is-not-defined');
  if (isNotDefined && (parts.size > 1 || parts.get('is-not-defined')!.length > 1)) {
    throw new UnsupportedFilter(`is-not-defined must stand alone in ${element.name}`);
  }
  for (const single of ['time-range', 'text-match']) {
    if ((parts.get(single)?.length ?? 0) > 1) throw new UnsupportedFilter(`more than one ${single} in ${element.name}`);
  }
  return parts;
}

function compileCompFilter(element: XmlElement, parentName: string | undefined) {
  const name = nameOf(element);
  const parts = partsOf(element, ['is-not-defined', 'time-range', 'prop-filter', 'comp-filter']);
  const rangeElement = parts.get('time-range')?.[0];
  if (rangeElement !== undefined && !TIMED_COMPONENTS.has(name)) throw new UnsupportedFilter(`no time-range on ${name}`);
  const range = rangeElement === undefined ? undefined : compileTimeRange(rangeElement);
  const properties = (parts.get('prop-filter') ?? []).map(compilePropFilter);
  const subfilters = (parts.get('comp-filter') ?? []).map((c) => compileCompFilter(c, name));
  const inRange =
    range === undefined ? undefined : name === 'VALARM' ? alarmInRange(range, parentName) : (c: Component, _: Component | undefined, x: Context) => componentInRange(c, range, x);
  const conditions: ComponentTest = (component, parent, context) =>
    (inRange === undefined || inRange(component, parent, context)) &&
    properties.every((test) => test(component, context)) &&
    subfilters.every((sub) => sub.matchesChildOf(component, context));
  /** Whether `parent` has a child this comp-filter matches (for is-not-defined: has none of that name). */
  const matchesChildOf = (parent: Component, context: Context) =>
    parts.has('is-not-defined')
      ? !parent.components.some((c) => c.name === name)
      : parent.components.some((c) => c.name === name && conditions(c, parent, context));
  return { name, isNotDefined: parts.has('is-not-defined'), conditions, matchesChildOf };
}

function compilePropFilter(element: XmlElement): (component: Component, context: Context) => boolean {
  const name = nameOf(element);
  const parts = partsOf(element, ['is-not-defined', 'time-range', 'text-match', 'param-filter']);
  if (parts.has('is-not-defined')) return (component) => !component.properties.some((p) => p.name === name);
  if (parts.has('time-range') && parts.has('text-match')) throw new UnsupportedFilter('prop-filter with both time-range and text-match');
  const text = parts.has('text-match') ? compileTextMatch(parts.get('text-match')![0]!) : undefined;
  const rangeElement = parts.get('time-range')?.[0];
  const range = rangeElement === undefined ? undefined : compileTimeRange(rangeElement);
  const params = (parts.get('param-filter') ?? []).map(compileParamFilter);
  // Of several properties of that name (ATTENDEE…), one meeting every condition is enough.
  return (component, context) =>
    component.properties.some(
      (p) =>
        p.name === name &&
        (text === undefined || text(p.value)) &&
        (range === undefined || propertyInRange(p, range, context)) &&
        params.every((test) => test(p)),
    );
}

function compileParamFilter(element: XmlElement): (property: Property) => boolean {
  const name = nameOf(element);
  const parts = partsOf(element, ['is-not-defined', 'text-match']);
  if (parts.has('is-not-defined')) return (property) => property.params?.[name] === undefined;
  const text = parts.has('text-match') ? compileTextMatch(parts.get('text-match')![0]!) : undefined;
  return (property) => {
    const value = property.params?.[name];
    return value !== undefined && (text === undefined || text(value));
  };
}

/** RFC 4791 §9.7.5: a substring test under a collation (RFC 4790), optionally negated. */
function compileTextMatch(element: XmlElement): (value: string) => boolean {
  const collation = element.attrs.get('collation') ?? 'i;ascii-casemap';
  const negateAttr = element.attrs.get('negate-condition') ?? 'no';
  if (negateAttr !== 'yes' && negateAttr !== 'no') throw new UnsupportedFilter(`negate-condition="${negateAttr}"`);
  const negate = negateAttr === 'yes';
  if (collation === 'i;octet') return (value) => value.includes(element.text) !== negate;
  if (collation === 'i;ascii-casemap') {
    const needle = asciiUpper(element.text);
    return (value) => asciiUpper(value).includes(needle) !== negate;
  }
  throw new UnsupportedFilter(`collation ${collation} is not supported`, 'supported-collation');
}

/** Upper-cases a-z only, as i;ascii-casemap does (other characters compare as they are). */
function asciiUpper(text: string): string {
  return text.replace(/[a-z]+/g, (run) => run.toUpperCase());
}

/** RFC 4791 §9.9: start and end are UTC date-times; one of them may be left out (open-ended). */
function compileTimeRange(element: XmlElement): TimeRange {
  const startText = element.attrs.get('start');
  const endText = element.attrs.get('end');
  if (startText === undefined && endText === undefined) throw new UnsupportedFilter('time-range without start or end');
  const start = startText === undefined ? -Infinity : parseUtcDateTime(startText).getTime();
  const end = endText === undefined ? Infinity : parseUtcDateTime(endText).getTime();
  if (end <= start) throw new UnsupportedFilter('time-range ends before it starts');
  return { start, end };
}

/** The table rows of RFC 4791 §9.9 for one instance [a, b] (a and b as TimeRule documents). */
function ruleMatches(rule: TimeRule, a: number, b: number, { start, end }: TimeRange): boolean {
  switch (rule) {
    case 'overlap':
      return start < b && end > a;
    case 'point':
      return start <= a && end > a;
    case 'todo-duration':
      return start <= b && (end > a || end >= b);
    case 'todo-due-span':
      return (start < b || start <= a) && (end > a || end >= b);
    case 'todo-due':
      return start < b && end >= b;
    case 'todo-created-completed':
      return (start <= a || start <= b) && (end >= a || end >= b);
    case 'todo-completed':
      return start <= b && end >= b;
    case 'todo-created':
      return end > a;
    case 'freebusy':
      return start <= b && end > a;
    case 'always':
      return true;
    case 'periods':
    case 'never':
      return false;
  }
}

/**
 * A VEVENT, VTODO, VJOURNAL or VFREEBUSY against a time-range: for a recurring master, any of its
 * instances. When the expansion stopped at its cap short of the range, the component counts as
 * matching: a client shown one event too many expands it itself; one left out it never sees.
 */
function componentInRange(component: Component, range: TimeRange, context: Context): boolean {
  const span = component.span;
  if (span === undefined) return false;
  if (span.rule === 'periods') return span.busy!.some((p) => range.start < p.end && range.end > p.start);
  const walk = visitInstances(component, context.timezone, range.start, range.end, (a, b) => ruleMatches(span.rule, a, b, range));
  return walk !== 'done';
}

/** RFC 4791 §9.9 for VALARM: some trigger time (repeats included) of some instance of the parent in range. */
function alarmInRange(range: TimeRange, parentName: string | undefined): ComponentTest {
  if (parentName !== 'VEVENT' && parentName !== 'VTODO') throw new UnsupportedFilter('a VALARM time-range needs a VEVENT or VTODO comp-filter around it');
  return (alarm, parent, context) => {
    const trigger = alarm.trigger;
    const span = parent?.span;
    if (trigger === undefined || span === undefined) return false;
    const last = trigger.repeat * trigger.interval;
    const fires = (first: number) => {
      // The first repeat at or after the range start, if any, decides.
      const k = last === 0 || first >= range.start ? 0 : Math.ceil((range.start - first) / trigger.interval);
      const time = first + Math.min(k, trigger.repeat) * trigger.interval;
      return time >= range.start && time < range.end;
    };
    if (trigger.related === 'ABSOLUTE') return fires(trigger.offset);
    const base = alarmBase(span, trigger.related);
    if (base === undefined) return false;
    const walk = visitInstances(parent!, context.timezone, range.start - trigger.offset - last, range.end - trigger.offset, (a, b) =>
      fires((base === 'a' ? a : b) + trigger.offset),
    );
    return walk !== 'done';
  };
}

/** Which end of the parent's instances a relative trigger counts from: DTSTART, or DTEND/DUE. */
function alarmBase(span: Span, related: 'START' | 'END'): 'a' | 'b' | undefined {
  switch (span.rule) {
    case 'overlap':
    case 'point':
    case 'todo-duration':
    case 'todo-due-span':
      return related === 'START' ? 'a' : 'b';
    case 'todo-due':
      return related === 'END' ? 'b' : undefined;
    default:
      return undefined;
  }
}

/**
 * A DATE, DATE-TIME or PERIOD property (COMPLETED, DTSTAMP, RDATE…) against a time-range: some
 * value in range, a DATE lasting its day, a DATE-TIME an instant.
 */
function propertyInRange(property: Property, range: TimeRange, context: Context): boolean {
  const tzid = property.params?.TZID;
  const read = (text: string) => {
    const time = parseBasicTime(text, tzid, context.zones);
    if (time === undefined) return undefined;
    const at = time.zone === undefined && context.timezone !== undefined ? context.timezone.toUtc(time.wall) : resolve(time);
    return { at, isDate: time.isDate };
  };
  return property.value.split(',').some((value) => {
    const [first, second] = value.split('/');
    const start = read(first!);
    if (start === undefined) return false;
    if (second === undefined) {
      return start.isDate ? range.start < start.at + DAY_MS && range.end > start.at : range.start <= start.at && range.end > start.at;
    }
    const length = parseDuration(second);
    const end = length !== undefined ? start.at + length.days * DAY_MS + length.ms : read(second)?.at;
    return end !== undefined && range.start < end && range.end > start.at;
  });
}
