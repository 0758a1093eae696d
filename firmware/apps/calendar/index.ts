/**
 * The calendar app: CalDAV (RFC 4791) as a kind of the DAV server. Calendars are
 * `calendar/<cal>/` in the user's store, events and todos `calendar/<cal>/<name>.ics`.
 * Objects are checked before they are stored (one UID, one component type, no METHOD) and
 * parsed once per blob id; calendar-query and free-busy-query run on the parsed forms.
 */
import { CALDAV_NS, child, DavError, parseXml, queryOutcome, type DavKind, type DeadProperties, type XmlElement } from '../../http/dav/index.js';
import { jsonType, vobjectType } from '../../store/index.js';
import { InvalidCalendarData, parseCalendarObject, parseCalendarTimezone, type CalendarComponent, type CalendarObject, type CalendarTimezone } from './calendar-object.js';
import { compileCalendarFilter, parseUtcDateTime, UnsupportedFilter } from './filter.js';
import { expandCalendarData } from './expand.js';
import { freeBusyReport } from './free-busy.js';

const MAX_OBJECT_BYTES = 1024 * 1024;
const COMPONENTS: readonly CalendarComponent[] = ['VEVENT', 'VTODO', 'VJOURNAL'];
const SUPPORTED_SET = `{${CALDAV_NS}}supported-calendar-component-set`;

/** The calendar's components: as given at MKCALENDAR, else events, todos and journals. */
function supportedComponents(dead: DeadProperties): readonly CalendarComponent[] {
  const stored = dead[SUPPORTED_SET];
  if (stored === undefined) return COMPONENTS;
  const names = parseXml(stored).children.filter((c) => c.ns === CALDAV_NS && c.name === 'comp').map((c) => c.attrs.get('name')?.toUpperCase());
  const known = names.filter((n): n is CalendarComponent => n === 'VEVENT' || n === 'VTODO' || n === 'VJOURNAL' || n === 'VFREEBUSY');
  return known.length > 0 ? known : COMPONENTS;
}

function validFilter(message: string, precondition = 'valid-filter'): DavError {
  return new DavError(403, message, { ns: CALDAV_NS, name: precondition });
}

/**
 * The zone floating times are read in: the query's CALDAV:timezone, else the calendar's
 * calendar-timezone property (RFC 4791 §9.8), else UTC.
 */
function queryTimezone(report: XmlElement, collection: DeadProperties): CalendarTimezone | undefined {
  const text = child(report, CALDAV_NS, 'timezone')?.text ?? textOf(collection[`{${CALDAV_NS}}calendar-timezone`]);
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parseCalendarTimezone(text);
  } catch (err) {
    if (err instanceof InvalidCalendarData) throw validFilter(`timezone: ${err.message}`, 'valid-calendar-data');
    throw err;
  }
}

function textOf(storedProperty: string | undefined): string | undefined {
  return storedProperty === undefined ? undefined : parseXml(storedProperty).text;
}

/** Runs a report's filter work, answering a refused filter with its precondition. */
function withFilterErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof UnsupportedFilter) throw validFilter(err.message, err.precondition);
    throw err;
  }
}

export { DAY_MS, ianaTimezone, parseBasicTime, parseCalendarObject, resolve, visitInstances, type CalendarObject, type CalendarTimezone, type Component } from './calendar-object.js';
export { vtimezoneFor } from './vtimezone.js';

export const calendarKind: DavKind<CalendarObject> = {
  home: 'calendar',
  title: 'Calendars',
  layout: 'collections',
  collectionType: { ns: CALDAV_NS, name: 'calendar' },
  homeSet: { ns: CALDAV_NS, name: 'calendar-home-set' },
  defaultCollection: { name: 'default', displayName: 'Calendar' },
  makeCollectionMethods: ['MKCALENDAR'],
  maxMemberBytes: MAX_OBJECT_BYTES,
  mediaType: () => 'text/calendar; charset=utf-8',
  memberTypes: { types: ['text/calendar'], condition: { ns: CALDAV_NS, name: 'supported-calendar-data' } },
  parse(bytes, collection) {
    try {
      return parseCalendarObject(bytes, supportedComponents(collection));
    } catch (err) {
      if (err instanceof InvalidCalendarData) throw new DavError(403, err.message, { ns: CALDAV_NS, name: err.precondition });
      throw err;
    }
  },
  uidConflict: { ns: CALDAV_NS, name: 'no-uid-conflict' },
  multiget: { ns: CALDAV_NS, name: 'calendar-multiget' },
  dataProperty: { ns: CALDAV_NS, name: 'calendar-data' },
  renderData(bytes, asked) {
    const expand = child(asked, CALDAV_NS, 'expand');
    if (expand === undefined) return undefined;
    const [start, end] = withFilterErrors(() => [expand.attrs.get('start'), expand.attrs.get('end')].map((t) => parseUtcDateTime(t ?? '')));
    return expandCalendarData(bytes.toString('utf8'), start!, end!);
  },
  collectionProperties: (dead) => ({
    [SUPPORTED_SET]: supportedComponents(dead).map((name) => `<C:comp name="${name}"/>`).join(''),
    [`{${CALDAV_NS}}supported-calendar-data`]: '<C:calendar-data content-type="text/calendar" version="2.0"/>',
  }),
  reports: {
    [`{${CALDAV_NS}}calendar-query`]: ({ report, members, collection }) => {
      const filter = child(report, CALDAV_NS, 'filter');
      if (filter === undefined) throw validFilter('calendar-query needs a filter');
      return withFilterErrors(() => {
        const matches = compileCalendarFilter(filter);
        const timezone = queryTimezone(report, collection);
        return queryOutcome(members(), report, (m) => m.parsed !== undefined && matches(m.parsed, timezone));
      });
    },
    [`{${CALDAV_NS}}free-busy-query`]: ({ report, members, res, collection }) => {
      const range = child(report, CALDAV_NS, 'time-range');
      const start = range?.attrs.get('start');
      const end = range?.attrs.get('end');
      if (start === undefined || end === undefined) throw validFilter('free-busy-query needs a time-range with start and end');
      const text = withFilterErrors(() => {
        const timezone = queryTimezone(report, collection);
        const objects = members().flatMap((m) => (m.parsed === undefined ? [] : [m.parsed]));
        return freeBusyReport(objects, parseUtcDateTime(start), parseUtcDateTime(end), timezone === undefined ? {} : { timezone });
      });
      res.writeHead(200, { 'content-type': 'text/calendar; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
      return { handled: true };
    },
  },
  mergeTypes: [
    ['calendar/*/*', vobjectType],
    ['calendar/*/.props.json', jsonType],
  ],
};
