/**
 * The calendar of the web UI: the events of the user's CalDAV calendars (`calendar/<cal>/<name>.ics`
 * on branch main, one VEVENT object per file), read and written as a CalDAV PUT stores them, so
 * phones and desktop clients see the same thing. Each change is one commit.
 *
 *   GET    calendar                        → [{name, displayName}]; while the user has no calendar,
 *                                             the default one a first event makes ('default')
 *   GET    calendar/events?from=…&to=…     → [Instance] meeting [from, to), sorted by start
 *   GET    calendar/:cal/:name             → EventDetails
 *   POST   calendar/:cal        EventInput → {name, uid, etag}; 'default' is made when no calendar exists
 *   PUT    calendar/:cal/:name  EventInput & {etag} → {name, uid, etag}; 412 EETAG when `etag` is stale
 *   DELETE calendar/:cal/:name[?etag=…]   → {}; 412 EETAG when `etag` is given and stale
 *
 *   Instance     {calendar, name, uid, summary, location, start, end, allDay, recurring, recurrenceId?}
 *   EventInput   {summary, start, end, allDay?, timezone?, location?, description?, rrule?: Rule | null}
 *   EventDetails {calendar, name, uid, summary, location, description, start, end, allDay,
 *                 timezone?, rrule: Rule | null, etag}
 *   Rule         {freq: 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY', interval, count?, until?}
 *
 * Times: timed events as ISO instants (answers in UTC), all-day events as 'YYYY-MM-DD' with an
 * exclusive end; `from`/`to` take either form, at most MAX_RANGE_MS apart. Recurring events are
 * expanded with the CalDAV app's parsed objects (ical.js rules, capped per event and in total).
 * Zones: a timed event with `timezone` (an IANA name, or the TZID of one of the event's
 * VTIMEZONEs) is stored as wall-clock times of that zone (DTSTART;TZID=…), with a VTIMEZONE for
 * it unless the object has one, so a weekly 09:00 stays at 09:00 across daylight-saving changes;
 * its start and end may then be sent as wall clocks, 'YYYY-MM-DDTHH:MM[:SS]'. EventDetails gives
 * such an event's times as wall clocks of its `timezone` too (a TZID that names no zone is read
 * as floating and not given). Without `timezone`, new timed events are stored in UTC and edited
 * ones keep their zone.
 * An edit changes only what the UI edits: other properties, VALARMs and unchanged times stay as
 * they were; a changed zone rewrites the times and drops the old VTIMEZONE once nothing uses it.
 * A rule sent back as it was read stays as stored (with parts the UI does not show, like BYDAY).
 * `etag` is the file's blob id, the ETag CalDAV gives it too.
 * Errors: 400 EINVAL (bad field, name or range), 404 ENOTFOUND, 409 EUNREADABLE (stored data that
 * does not parse), 412 EETAG.
 */
import { randomUUID } from 'node:crypto';
import ICAL from 'ical.js';
import { calendarKind, DAY_MS, ianaTimezone, parseBasicTime, parseCalendarObject, resolve, visitInstances, vtimezoneFor, type CalendarObject, type CalendarTimezone, type Component } from '../../apps/calendar/index.js';
import { collectionDisplayName, collectionNames, DavError, makeHome, PROPS_FILE, readDeadProperties, removeMember } from '../../http/dav/index.js';
import { HttpError, stringField } from '../../http/index.js';
import type { ObjectId, Store, TreeView } from '../../store/index.js';
import { commitInfo, readBody, UI_BRANCH, type UiRequest, type UiRoute } from './context.js';

const HOME = calendarKind.home;
const DEFAULT_CALENDAR = calendarKind.defaultCollection!;
const PRODID = '-//Nymote//Web UI//EN';
const FREQUENCIES = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
type Frequency = (typeof FREQUENCIES)[number];

/** A year and a day: a leap year's month grid seen from any zone fits. */
const MAX_RANGE_MS = 367 * DAY_MS;
/** Instances one event (an hourly rule, say) and one answer may hold. */
const MAX_INSTANCES_PER_EVENT = 1000;
const MAX_INSTANCES = 5000;
const MAX_SUMMARY_CHARS = 1000;
const MAX_LOCATION_CHARS = 1000;
const MAX_DESCRIPTION_CHARS = 10_000;
const MAX_INTERVAL = 1000;
const MAX_COUNT = 10_000;
/** IANA names are short; TZIDs clients write (Outlook's) run to some 60 characters. */
const MAX_TZID_CHARS = 255;
/** What a new VTIMEZONE covers around the event's start (RFC 5545 leaves it to the writer). */
const ZONE_YEARS_BEFORE = 1;
const ZONE_YEARS_AFTER = 10;
/** Parsed objects by blob id, shared by users: the same bytes parse the same. */
const PARSED_CACHE_SIZE = 500;
/** C0 controls other than tab and line breaks, and DEL: iCalendar text cannot carry them. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** An instant with 'Z' or an offset, or without either a wall clock. */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-](\d{2}):(\d{2}))?$/;

interface Rule {
  freq: Frequency;
  interval: number;
  count?: number;
  until?: string;
}

/** A zone a timed event's times are written in: its TZID and the zone that TZID names. */
interface EventZone {
  tzid: string;
  zone: CalendarTimezone;
}

interface EventInput {
  summary: string;
  location: string;
  description: string;
  allDay: boolean;
  /** Epoch milliseconds, whole seconds; all-day: UTC midnight of the date. */
  start: number;
  end: number;
  /** Timed events only; undefined: UTC. */
  zone: EventZone | undefined;
  rrule: Rule | null;
}

/** One instance of an event, as the calendar views show it. */
interface Instance {
  calendar: string;
  name: string;
  uid: string;
  summary: string;
  location: string;
  start: string;
  end: string;
  allDay: boolean;
  recurring: boolean;
  recurrenceId?: string;
}

/** Which parts of a stored event an edit rewrites. */
interface Changes {
  times: boolean;
  rule: boolean;
}

export const calendarRoutes: UiRoute[] = [
  { method: 'GET', path: 'calendar', handler: listCalendars },
  { method: 'GET', path: 'calendar/events', handler: listEvents },
  { method: 'GET', path: 'calendar/:cal/:name', handler: readEvent },
  { method: 'POST', path: 'calendar/:cal', handler: createEvent },
  { method: 'PUT', path: 'calendar/:cal/:name', handler: replaceEvent },
  { method: 'DELETE', path: 'calendar/:cal/:name', handler: deleteEvent },
];

// ---------------------------------------------------------------------------------------------
// Handlers

function listCalendars(ui: UiRequest): { name: string; displayName: string }[] {
  const view = branchView(ui);
  const calendars = collectionNames(view, HOME).map((name) => ({ name, displayName: collectionDisplayName(view, HOME, name) }));
  return calendars.length > 0 ? calendars : [{ name: DEFAULT_CALENDAR.name, displayName: DEFAULT_CALENDAR.displayName }];
}

function listEvents(ui: UiRequest): Instance[] {
  const from = timeParameter(ui.url, 'from');
  const to = timeParameter(ui.url, 'to');
  if (!(from < to)) throw invalid("'to' must be after 'from'");
  if (to - from > MAX_RANGE_MS) throw invalid(`the range may span at most ${MAX_RANGE_MS / DAY_MS} days`);
  const view = branchView(ui);
  const found: Instance[] = [];
  for (const { cal, name, path } of memberPaths(view)) {
    if (found.length >= MAX_INSTANCES) break;
    const object = parsedAt(ui.store, view, path);
    if (object?.component !== 'VEVENT') continue;
    for (const instance of instancesOf(object, from, to)) found.push({ calendar: cal, name, uid: object.uid, ...instance });
  }
  // ISO dates and instants of four-digit years sort as text; a day's all-day events come first.
  return found.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0)).slice(0, MAX_INSTANCES);
}

function readEvent(ui: UiRequest): Record<string, unknown> {
  const { cal, name, path } = memberOf(ui);
  const view = branchView(ui);
  const etag = view.baseBlobId(path);
  if (etag === undefined) throw notFound(cal, name);
  const object = eventObject(ui.store, etag, cal, name);
  const master = masterOf(object);
  const allDay = isAllDay(master);
  const zone = startZone(object, master);
  // In a zone, wall clocks of it: the form shows them as they are, wherever the browser is.
  const time = (ms: number) => (zone === undefined ? timeText(ms, allDay) : wallText(zone.zone.toWall(ms)));
  return {
    calendar: cal,
    name,
    uid: object.uid,
    summary: textOf(master, 'SUMMARY'),
    location: textOf(master, 'LOCATION'),
    description: textOf(master, 'DESCRIPTION'),
    start: time(master.span!.a),
    end: time(master.span!.b),
    allDay,
    ...(zone === undefined ? {} : { timezone: zone.tzid }),
    rrule: ruleOf(master),
    etag,
  };
}

async function createEvent(ui: UiRequest): Promise<{ name: string; uid: string; etag: ObjectId }> {
  const cal = segmentParameter(ui, 'cal');
  const input = eventInput(await readBody(ui), new Map(), undefined);
  const uid = randomUUID();
  const name = `${uid}.ics`;
  const path = `${collectionPath(cal)}/${name}`;
  const now = new Date();
  const calendar = newCalendar(uid, now);
  writeFields(calendar, input, { times: true, rule: true }, now);
  const { result: etag } = await ui.store.branch(UI_BRANCH).transaction((view) => {
    ensureCollection(view, cal);
    return storeObject(ui.store, view, cal, path, calendar);
  }, commitInfo(ui, `new event ${path}`));
  return { name, uid, etag };
}

async function replaceEvent(ui: UiRequest): Promise<{ name: string; uid: string; etag: ObjectId }> {
  const { cal, name, path } = memberOf(ui);
  const body = await readBody(ui);
  const expected = stringField(body, 'etag', { allowEmpty: true, maxChars: 64 });
  const { result } = await ui.store.branch(UI_BRANCH).transaction((view) => {
    const current = view.baseBlobId(path);
    if (current === undefined) throw notFound(cal, name);
    if (current !== expected) throw stale();
    const before = eventObject(ui.store, current, cal, name);
    const master = masterOf(before);
    const kept = startZone(before, master);
    // Read against the stored object: its VTIMEZONEs name zones too, and its zone is the default.
    const input = eventInput(body, before.zones, kept);
    const calendar = parseIcal(view.get(path)!);
    const changes = changesOf(master, kept, input);
    writeFields(calendar, input, changes, new Date());
    if (changes.times || changes.rule) bumpSequence(masterComponent(calendar));
    return { uid: before.uid, etag: storeObject(ui.store, view, cal, path, calendar) };
  }, commitInfo(ui, `edit event ${path}`));
  return { name, ...result };
}

async function deleteEvent(ui: UiRequest): Promise<Record<string, never>> {
  const { cal, name, path } = memberOf(ui);
  const expected = ui.url.searchParams.get('etag');
  await ui.store.branch(UI_BRANCH).transaction((view) => {
    const current = view.baseBlobId(path);
    if (current === undefined) throw notFound(cal, name);
    if (expected !== null && expected !== current) throw stale();
    removeMember(view, path); // with its dead properties, as DAV's DELETE does
  }, commitInfo(ui, `delete event ${path}`));
  return {};
}

// ---------------------------------------------------------------------------------------------
// Calendars and stored objects

function branchView(ui: UiRequest): TreeView {
  return ui.store.branch(UI_BRANCH).view();
}

function collectionPath(cal: string): string {
  return `${HOME}/${cal}`;
}

/** Every member of every calendar. */
function* memberPaths(view: TreeView): Generator<{ cal: string; name: string; path: string }> {
  for (const cal of collectionNames(view, HOME)) {
    for (const entry of view.list(collectionPath(cal))) {
      if (entry.kind === 'file' && entry.name !== PROPS_FILE) yield { cal, name: entry.name, path: `${collectionPath(cal)}/${entry.name}` };
    }
  }
}

/**
 * The collection a new event goes in; with no calendar at all, the default one is made as the
 * DAV server makes it (the home's and the collection's `.props.json`), else 404.
 */
function ensureCollection(view: TreeView, cal: string): void {
  if (view.exists(`${collectionPath(cal)}/${PROPS_FILE}`)) return;
  if (cal !== DEFAULT_CALENDAR.name || collectionNames(view, HOME).length > 0) throw new HttpError(404, 'ENOTFOUND', `no calendar '${cal}'`);
  makeHome(view, calendarKind);
}

const parsedByBlob = new Map<ObjectId, CalendarObject | null>();

/** The parsed object of a blob; null when it does not parse. */
function parsedBlob(store: Store, id: ObjectId): CalendarObject | null {
  let parsed = parsedByBlob.get(id);
  if (parsed === undefined) {
    try {
      parsed = parseCalendarObject(store.odb.readTyped(id, 'blob'));
    } catch {
      parsed = null; // pushed by git, say: it lists nowhere in the UI
    }
    if (parsedByBlob.size >= PARSED_CACHE_SIZE) parsedByBlob.delete(parsedByBlob.keys().next().value!);
    parsedByBlob.set(id, parsed);
  }
  return parsed;
}

function parsedAt(store: Store, view: TreeView, path: string): CalendarObject | null {
  const id = view.baseBlobId(path);
  return id === undefined ? null : parsedBlob(store, id);
}

/** The event object of a blob: 404 for other components, 409 for data that does not parse. */
function eventObject(store: Store, id: ObjectId, cal: string, name: string): CalendarObject {
  const object = parsedBlob(store, id);
  if (object === null) throw new HttpError(409, 'EUNREADABLE', `${cal}/${name} is not valid iCalendar; edit it in another client`);
  if (object.component !== 'VEVENT') throw notFound(cal, name);
  return object;
}

/** Serializes, checks as a CalDAV PUT into this collection would, and writes; the new blob id. */
function storeObject(store: Store, view: TreeView, cal: string, path: string, calendar: ICAL.Component): ObjectId {
  const bytes = Buffer.from(`${calendar.toString().replace(/\r?\n/g, '\r\n')}\r\n`, 'utf8');
  if (bytes.length > calendarKind.maxMemberBytes) throw invalid(`the event is larger than ${calendarKind.maxMemberBytes} bytes`);
  try {
    calendarKind.parse!(bytes, readDeadProperties(view, collectionPath(cal))[''] ?? {});
  } catch (err) {
    if (err instanceof DavError) throw invalid(err.message);
    throw err;
  }
  view.set(path, bytes);
  return store.odb.hashAll([{ type: 'blob', content: bytes }])[0]!;
}

// ---------------------------------------------------------------------------------------------
// Reading events

/** The master: the component without RECURRENCE-ID (an object of overrides only: the first). */
function masterOf(object: CalendarObject): Component {
  const components = object.calendar.components;
  return components.find((c) => propertyOf(c, 'RECURRENCE-ID') === undefined) ?? components[0]!;
}

function propertyOf(component: Component, name: string) {
  return component.properties.find((p) => p.name === name);
}

function textOf(component: Component, name: string): string {
  return propertyOf(component, name)?.value ?? '';
}

/** The zone a TZID names in an object: its VTIMEZONE, else the IANA zone, as parseCalendarObject reads it. */
function zoneNamed(tzid: string, known: ReadonlyMap<string, CalendarTimezone>): CalendarTimezone | undefined {
  return known.get(tzid) ?? ianaTimezone(tzid);
}

/** The zone of a timed component's DTSTART; undefined for all-day, UTC and floating times. */
function startZone(object: CalendarObject, component: Component): EventZone | undefined {
  const tzid = isAllDay(component) ? undefined : propertyOf(component, 'DTSTART')?.params?.TZID;
  const zone = tzid === undefined ? undefined : zoneNamed(tzid, object.zones);
  return zone === undefined ? undefined : { tzid: tzid!, zone };
}

/** DTSTART a DATE ('YYYYMMDD' in the parsed form). */
function isAllDay(component: Component): boolean {
  return propertyOf(component, 'DTSTART')?.value.length === 8;
}

/** 'YYYY-MM-DD' of a wall clock for all-day events, else the ISO instant. */
function timeText(ms: number, allDay: boolean): string {
  const iso = new Date(ms).toISOString();
  return allDay ? iso.slice(0, 10) : iso;
}

/** A wall clock (epoch ms read as UTC) as 'YYYY-MM-DDTHH:MM:SS'. */
function wallText(wall: number): string {
  return new Date(wall).toISOString().slice(0, 19);
}

/** The instances of an object's components in [from, to), at most MAX_INSTANCES_PER_EVENT each. */
function instancesOf(object: CalendarObject, from: number, to: number): Omit<Instance, 'calendar' | 'name' | 'uid'>[] {
  const found: Omit<Instance, 'calendar' | 'name' | 'uid'>[] = [];
  for (const component of object.calendar.components) {
    const allDay = isAllDay(component);
    const override = propertyOf(component, 'RECURRENCE-ID');
    const overrideId = override === undefined ? undefined : parseBasicTime(override.value, override.params?.TZID, object.zones);
    const recurring = component.recurrence !== undefined || override !== undefined;
    const fields = { summary: textOf(component, 'SUMMARY'), location: textOf(component, 'LOCATION'), allDay, recurring };
    let count = 0;
    visitInstances(component, undefined, from, to, (a, b) => {
      // [from, to) as the UI asks; an instant event at `from` counts.
      if (!(a < to && (b > from || (a === b && a >= from)))) return false;
      const recurrenceId = overrideId !== undefined ? timeText(resolve(overrideId), overrideId.isDate) : recurring ? timeText(a, allDay) : undefined;
      found.push({ ...fields, start: timeText(a, allDay), end: timeText(b, allDay), ...(recurrenceId === undefined ? {} : { recurrenceId }) });
      return ++count >= MAX_INSTANCES_PER_EVENT;
    });
  }
  return found;
}

/** The master's first RRULE as the UI shows it; null without one, or with a frequency the UI has not. */
function ruleOf(component: Component): Rule | null {
  const text = propertyOf(component, 'RRULE')?.value;
  if (text === undefined) return null;
  const recur = ICAL.Recur.fromString(text);
  const freq = FREQUENCIES.find((f) => f === recur.freq);
  if (freq === undefined) return null;
  const rule: Rule = { freq, interval: recur.interval };
  if (recur.count !== null && recur.count !== undefined) rule.count = recur.count;
  if (recur.until !== null && recur.until !== undefined) rule.until = timeText(wallOf(recur.until), recur.until.isDate);
  return rule;
}

/** An ical.js time's fields as epoch milliseconds (UTC for 'Z' times, a wall clock otherwise). */
function wallOf(time: ICAL.Time): number {
  return Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second);
}

// ---------------------------------------------------------------------------------------------
// The request

function invalid(message: string): HttpError {
  return new HttpError(400, 'EINVAL', message);
}

function notFound(cal: string, name: string): HttpError {
  return new HttpError(404, 'ENOTFOUND', `no event ${cal}/${name}`);
}

function stale(): HttpError {
  return new HttpError(412, 'EETAG', 'the event was changed elsewhere; load it again');
}

/** A route segment that is one store path segment, and not the collection's own file. */
function segmentParameter(ui: UiRequest, key: 'cal' | 'name'): string {
  const value = ui.params[key] ?? '';
  const bad = value === '' || value === '.' || value === '..' || value === '.git' || value === PROPS_FILE || value.includes('/') || CONTROL_CHARACTERS.test(value) || /[\r\n\t]/.test(value);
  if (bad || Buffer.byteLength(value) > 255) throw invalid(`invalid ${key === 'cal' ? 'calendar' : 'event'} name`);
  return value;
}

function memberOf(ui: UiRequest): { cal: string; name: string; path: string } {
  const cal = segmentParameter(ui, 'cal');
  const name = segmentParameter(ui, 'name');
  return { cal, name, path: `${collectionPath(cal)}/${name}` };
}

/** 'YYYY-MM-DD' as UTC midnight; undefined unless a real date of a four-digit year. */
function dateMs(text: string): number | undefined {
  const m = DATE.exec(text);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 02-30 over into March and years below 100 into the 1900s: both are refused.
  return m[1]! >= '1000' && new Date(ms).toISOString().slice(0, 10) === text ? ms : undefined;
}

/**
 * An ISO date-time to the whole second: with 'Z' or an offset an instant, without either a wall
 * clock (its fields read as UTC); undefined unless valid.
 */
function dateTimeMs(text: string): { ms: number; wall: boolean } | undefined {
  const m = DATE_TIME.exec(text);
  if (m === null || dateMs(m[1]!) === undefined) return undefined;
  const [hour, minute, second, offsetHour, offsetMinute] = [m[2], m[3], m[4], m[6], m[7]].map((v) => Number(v ?? 0)) as [number, number, number, number, number];
  if (hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) return undefined;
  const wall = m[5] === undefined;
  return { ms: Math.floor(Date.parse(wall ? `${text}Z` : text) / 1000) * 1000, wall };
}

/** An ISO instant with 'Z' or an offset, to the whole second; undefined unless valid. */
function instantMs(text: string): number | undefined {
  const time = dateTimeMs(text);
  return time?.wall === false ? time.ms : undefined;
}

function timeParameter(url: URL, name: string): number {
  const text = url.searchParams.get(name) ?? '';
  const ms = dateMs(text) ?? instantMs(text);
  if (ms === undefined) throw invalid(`'${name}' must be a date (YYYY-MM-DD) or an ISO date-time with a zone`);
  return ms;
}

/** A text field: at most `maxChars`, no control characters, line breaks as '\n'. */
function textField(body: Record<string, unknown>, name: string, maxChars: number): string {
  const text = stringField(body, name, { allowEmpty: true, fallback: '', maxChars });
  if (CONTROL_CHARACTERS.test(text)) throw invalid(`field '${name}' holds control characters`);
  return text.replace(/\r\n?/g, '\n');
}

/** A date for all-day events; else an instant, or a wall clock of the zone sent with it. */
function timeField(body: Record<string, unknown>, name: string, allDay: boolean, zone: EventZone | undefined): number {
  const text = stringField(body, name, { allowEmpty: true, maxChars: 40 });
  if (allDay) {
    const ms = dateMs(text);
    if (ms === undefined) throw invalid(`'${name}' must be a date (YYYY-MM-DD)`);
    return ms;
  }
  const time = dateTimeMs(text);
  if (time !== undefined && !time.wall) return time.ms;
  // In a gap (spring forward) the offset before it is taken, as RFC 5545 §3.3.5 reads such times.
  if (time !== undefined && zone !== undefined) return zone.zone.toUtc(time.ms);
  throw invalid(zone === undefined ? `'${name}' must be an ISO date-time with a zone` : `'${name}' must be an ISO date-time, with a zone or as a wall clock of ${zone.tzid}`);
}

/** `timezone`: a TZID the event's VTIMEZONEs or Intl know; undefined when not sent. */
function timezoneField(body: Record<string, unknown>, known: ReadonlyMap<string, CalendarTimezone>): EventZone | undefined {
  const tzid = stringField(body, 'timezone', { allowEmpty: true, fallback: '', maxChars: MAX_TZID_CHARS });
  if (tzid === '') return undefined;
  const zone = zoneNamed(tzid, known);
  if (zone === undefined) throw invalid(`'timezone' must name a time zone, like Europe/Berlin`);
  return { tzid, zone };
}

function integerField(fields: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`'rrule.${name}' must be a whole number from ${min} to ${max}`);
  return value;
}

/**
 * The request's event. `known`: the stored object's zones by TZID; `kept`: the zone its times
 * are in, which new times stay in unless `timezone` names another.
 */
function eventInput(body: Record<string, unknown>, known: ReadonlyMap<string, CalendarTimezone>, kept: EventZone | undefined): EventInput {
  const allDay = body.allDay ?? false;
  if (typeof allDay !== 'boolean') throw invalid("field 'allDay' must be true or false");
  const summary = textField(body, 'summary', MAX_SUMMARY_CHARS).trim();
  if (summary === '') throw invalid('an event needs a title');
  const sent = timezoneField(body, known);
  const start = timeField(body, 'start', allDay, sent);
  const end = timeField(body, 'end', allDay, sent);
  if (!(start < end)) throw invalid('the end must be after the start');
  return {
    summary,
    location: textField(body, 'location', MAX_LOCATION_CHARS).trim(),
    description: textField(body, 'description', MAX_DESCRIPTION_CHARS),
    allDay,
    start,
    end,
    zone: allDay ? undefined : (sent ?? kept),
    rrule: ruleField(body.rrule, start),
  };
}

function ruleField(value: unknown, start: number): Rule | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid("field 'rrule' must be an object or null");
  const fields = value as Record<string, unknown>;
  const freq = FREQUENCIES.find((f) => f === fields.freq);
  if (freq === undefined) throw invalid(`'rrule.freq' must be one of ${FREQUENCIES.join(', ')}`);
  const rule: Rule = { freq, interval: integerField(fields, 'interval', 1, MAX_INTERVAL) ?? 1 };
  const count = integerField(fields, 'count', 1, MAX_COUNT);
  if (count !== undefined) rule.count = count;
  if (fields.until !== undefined && fields.until !== null) {
    const until = typeof fields.until === 'string' ? (dateMs(fields.until) ?? instantMs(fields.until)) : undefined;
    if (until === undefined) throw invalid("'rrule.until' must be a date or an ISO date-time with a zone");
    if (until < start) throw invalid("'rrule.until' is before the start");
    if (count !== undefined) throw invalid('a rule ends after a count or at a time, not both');
    rule.until = fields.until as string;
  }
  return rule;
}

/** What a rule is compared by: a rule sent back unchanged leaves the stored RRULE alone. */
function ruleKey(rule: Rule | null): string {
  return rule === null ? '' : JSON.stringify([rule.freq, rule.interval, rule.count ?? null, rule.until ?? null]);
}

/** What an edit changes of the master `before`, whose times are in `kept`. */
function changesOf(before: Component, kept: EventZone | undefined, input: EventInput): Changes {
  const span = before.span!;
  const kindChanged = isAllDay(before) !== input.allDay;
  return {
    // Another zone rewrites the times even at the same instants: later instances move with it.
    times: kindChanged || span.a !== input.start || span.b !== input.end || input.zone?.tzid !== kept?.tzid,
    // A DATE event's UNTIL must be a DATE and a timed one's a DATE-TIME: a changed kind rewrites the rule.
    rule: kindChanged || ruleKey(ruleOf(before)) !== ruleKey(input.rrule),
  };
}

// ---------------------------------------------------------------------------------------------
// Writing events (with ical.js, which escapes text for iCalendar)

function parseIcal(bytes: Buffer): ICAL.Component {
  return new ICAL.Component(ICAL.parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) as unknown[]);
}

function newCalendar(uid: string, now: Date): ICAL.Component {
  const calendar = new ICAL.Component('vcalendar');
  calendar.addPropertyWithValue('version', '2.0');
  calendar.addPropertyWithValue('prodid', PRODID);
  const event = new ICAL.Component('vevent');
  event.addPropertyWithValue('uid', uid);
  event.addPropertyWithValue('created', utcTime(now.getTime()));
  calendar.addSubcomponent(event);
  return calendar;
}

/** The VEVENT an edit changes: the master, as `masterOf` picks it. */
function masterComponent(calendar: ICAL.Component): ICAL.Component {
  const events = calendar.getAllSubcomponents('vevent');
  return events.find((e) => !e.hasProperty('recurrence-id')) ?? events[0]!;
}

/** Writes what the UI edits into the master; everything else stays. */
function writeFields(calendar: ICAL.Component, input: EventInput, changes: Changes, now: Date): void {
  const event = masterComponent(calendar);
  const previousTzid = tzidOf(event);
  setText(event, 'summary', input.summary);
  setText(event, 'location', input.location);
  setText(event, 'description', input.description);
  if (changes.times) writeTimes(event, input);
  if (changes.rule) writeRule(calendar, event, input);
  // After the rule: one removed takes its overrides, which may have been the last to use a zone.
  if (changes.times) updateTimezones(calendar, previousTzid, input);
  event.updatePropertyWithValue('dtstamp', utcTime(now.getTime()));
  event.updatePropertyWithValue('last-modified', utcTime(now.getTime()));
}

function setText(event: ICAL.Component, name: string, value: string): void {
  if (value === '') event.removeAllProperties(name);
  else event.updatePropertyWithValue(name, value);
}

/** DTSTART and DTEND (DURATION goes): DATEs, wall clocks of the event's zone with its TZID, or UTC. */
function writeTimes(event: ICAL.Component, input: EventInput): void {
  const zone = input.zone;
  event.removeAllProperties('duration');
  for (const [name, ms] of [['dtstart', input.start], ['dtend', input.end]] as const) {
    const time = input.allDay ? wallTime(ms, true) : zone === undefined ? utcTime(ms) : wallTime(zone.zone.toWall(ms), false);
    const property = event.updatePropertyWithValue(name, time);
    if (zone === undefined) property.removeParameter('tzid');
    else property.setParameter('tzid', zone.tzid);
  }
}

function tzidOf(event: ICAL.Component): string | undefined {
  const tzid = event.getFirstProperty('dtstart')?.getParameter('tzid');
  return typeof tzid === 'string' ? tzid : undefined;
}

/** After new times: their zone has its VTIMEZONE, and the zone they were in loses its own once nothing names it. */
function updateTimezones(calendar: ICAL.Component, previousTzid: string | undefined, input: EventInput): void {
  const tzid = input.zone?.tzid;
  if (tzid !== undefined && timezoneComponent(calendar, tzid) === undefined) addTimezone(calendar, tzid, input);
  if (previousTzid === undefined || previousTzid === tzid || namesTimezone(calendar, previousTzid)) return;
  const previous = timezoneComponent(calendar, previousTzid);
  if (previous !== undefined) calendar.removeSubcomponent(previous);
}

function timezoneComponent(calendar: ICAL.Component, tzid: string): ICAL.Component | undefined {
  return calendar.getAllSubcomponents('vtimezone').find((zone) => zone.getFirstPropertyValue('tzid') === tzid);
}

/** Whether a property of a component below this one (VALARMs too, VTIMEZONEs not) names the TZID. */
function namesTimezone(component: ICAL.Component, tzid: string): boolean {
  return component
    .getAllSubcomponents()
    .some((child) => child.name !== 'vtimezone' && (child.getAllProperties().some((p) => p.getParameter('tzid') === tzid) || namesTimezone(child, tzid)));
}

/**
 * A VTIMEZONE from Intl covering a year before the start to ten after it, or to the end of the
 * rule's last instance if sooner; placed before the other components, where clients put them.
 */
function addTimezone(calendar: ICAL.Component, tzid: string, input: EventInput): void {
  const until = input.rrule?.until === undefined ? Infinity : untilMs(input.rrule.until) + (input.end - input.start);
  const to = Math.min(addYears(input.start, ZONE_YEARS_AFTER), until);
  // An IANA zone: any other TZID is one of the object's own VTIMEZONEs, so it has one.
  const text = vtimezoneFor(tzid, new Date(addYears(input.start, -ZONE_YEARS_BEFORE)), new Date(to))!;
  const members = calendar.getAllSubcomponents().filter((c) => c.name !== 'vtimezone');
  calendar.addSubcomponent(new ICAL.Component(ICAL.parse(text) as unknown[]));
  for (const member of members) calendar.addSubcomponent(member); // moves it after the zone
}

function addYears(ms: number, years: number): number {
  const date = new Date(ms);
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return date.getTime();
}

/** The RRULE; no rule makes the event single: its other recurrence parts and overrides go too. */
function writeRule(calendar: ICAL.Component, event: ICAL.Component, input: EventInput): void {
  const rule = input.rrule;
  if (rule === null) {
    for (const name of ['rrule', 'rdate', 'exdate', 'exrule']) event.removeAllProperties(name);
    for (const other of calendar.getAllSubcomponents('vevent')) if (other !== event) calendar.removeSubcomponent(other);
    return;
  }
  const until = rule.until === undefined ? undefined : untilTime(rule.until, input.allDay);
  event.updatePropertyWithValue('rrule', ICAL.Recur.fromData({ freq: rule.freq, interval: rule.interval, count: rule.count, until }));
}

/** UNTIL of the event's kind: a DATE for all-day events, else UTC. */
function untilTime(text: string, allDay: boolean): ICAL.Time {
  return allDay ? wallTime(dateMs(text) ?? instantMs(text)!, true) : utcTime(untilMs(text));
}

/** A timed rule's UNTIL instant; a date: the end of that day. */
function untilMs(text: string): number {
  const date = dateMs(text);
  return date === undefined ? instantMs(text)! : date + DAY_MS - 1000;
}

/** SEQUENCE counts the changes of times and rules (RFC 5545 §3.8.7.4). */
function bumpSequence(event: ICAL.Component): void {
  const sequence = event.getFirstPropertyValue('sequence');
  event.updatePropertyWithValue('sequence', (typeof sequence === 'number' ? sequence : 0) + 1);
}

function utcTime(ms: number): ICAL.Time {
  return ICAL.Time.fromJSDate(new Date(ms), true);
}

/** A floating time of a wall clock (epoch ms read as UTC): a DATE, or a DATE-TIME a TZID may place. */
function wallTime(ms: number, isDate: boolean): ICAL.Time {
  const date = new Date(ms);
  const day = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
  return ICAL.Time.fromData(isDate ? { ...day, isDate } : { ...day, hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds(), isDate });
}
