/** The web UI's calendar API: handlers called directly on a real store, as the UI server calls them. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCalendarObject } from '../../firmware/apps/calendar/calendar-object.js';
import { HttpError } from '../../firmware/http/index.js';
import { Store } from '../../firmware/store/index.js';
import { calendarRoutes } from '../../firmware/ui/api/calendar.js';
import type { UiRequest } from '../../firmware/ui/api/context.js';
import { rejects } from '../_lib/assert.js';
import { BERLIN } from '../_lib/timezones.js';
import { tempDir } from '../_lib/tmp.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function openStore(): Store {
  return Store.open(`${tempDir()}/alice.git`, { durability: 'none' });
}

/** Calls the route `method path` with its `:name` params, a query and a JSON body. */
async function call<T = Record<string, unknown>>(store: Store, method: Method, path: string, options: { params?: Record<string, string>; query?: Record<string, string>; body?: unknown } = {}): Promise<T> {
  const route = calendarRoutes.find((r) => r.method === method && r.path === path);
  if (route === undefined) throw new Error(`no route ${method} ${path}`);
  const req = Object.assign(Readable.from(options.body === undefined ? [] : [Buffer.from(JSON.stringify(options.body))]), {
    headers: { 'content-type': 'application/json' },
  }) as unknown as IncomingMessage;
  const ui: UiRequest = {
    req,
    res: {} as ServerResponse,
    url: new URL(`http://nymote.local/ui/api/${path}?${new URLSearchParams(options.query ?? {})}`),
    user: 'alice',
    owner: true,
    store,
    params: options.params ?? {},
  };
  return (await route.handler(ui)) as T;
}

interface Instance {
  calendar: string;
  name: string;
  uid: string;
  summary: string;
  start: string;
  end: string;
  allDay: boolean;
  recurring: boolean;
  recurrenceId?: string;
}

const events = (store: Store, from: string, to: string) => call<Instance[]>(store, 'GET', 'calendar/events', { query: { from, to } });
const create = (store: Store, body: Record<string, unknown>, cal = 'default') => call<{ name: string; uid: string; etag: string }>(store, 'POST', 'calendar/:cal', { params: { cal }, body });
const read = (store: Store, name: string) => call(store, 'GET', 'calendar/:cal/:name', { params: { cal: 'default', name } });
const replace = (store: Store, name: string, body: Record<string, unknown>) => call<{ name: string; uid: string; etag: string }>(store, 'PUT', 'calendar/:cal/:name', { params: { cal: 'default', name }, body });
const stored = (store: Store, name: string) => store.branch('main').get(`calendar/default/${name}`)!.toString('utf8');
const httpError = (status: number, code: string) => (err: unknown) => err instanceof HttpError && err.status === status && err.code === code;

const WEEKLY = { summary: 'Standup', start: '2030-01-07T09:00:00.000Z', end: '2030-01-07T09:15:00.000Z', rrule: { freq: 'WEEKLY', interval: 1, count: 5 } };

test('a first event makes the default calendar as DAV does; a weekly rule with COUNT=5 gives five instances', async () => {
  const store = openStore();
  assert.equal(await call(store, 'GET', 'calendar'), [{ name: 'default', displayName: 'Calendar' }]);
  const { name, uid, etag } = await create(store, WEEKLY);
  assert.is(name, `${uid}.ics`);
  const main = store.branch('main');
  assert.is(main.view().baseBlobId(`calendar/default/${name}`), etag);
  assert.equal(JSON.parse(main.get('calendar/default/.props.json')!.toString()), { '': { '{DAV:}displayname': '<D:displayname xmlns:D="DAV:">Calendar</D:displayname>' } });
  assert.equal(JSON.parse(main.get('calendar/.props.json')!.toString()), {});
  assert.is(main.history().length, 1, 'one commit');
  assert.equal(await call(store, 'GET', 'calendar'), [{ name: 'default', displayName: 'Calendar' }]);

  const text = stored(store, name);
  assert.match(text, /^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\nPRODID:/);
  assert.match(text, /\r\nDTSTART:20300107T090000Z\r\n/);
  assert.match(text, /\r\nRRULE:FREQ=WEEKLY;COUNT=5/);
  assert.ok(text.endsWith('END:VCALENDAR\r\n'));
  assert.is(parseCalendarObject(Buffer.from(text)).uid, uid);

  const all = await events(store, '2030-01-01', '2030-03-01');
  assert.equal(all.map((e) => [e.start, e.end, e.recurring, e.recurrenceId]), [
    ['2030-01-07T09:00:00.000Z', '2030-01-07T09:15:00.000Z', true, '2030-01-07T09:00:00.000Z'],
    ['2030-01-14T09:00:00.000Z', '2030-01-14T09:15:00.000Z', true, '2030-01-14T09:00:00.000Z'],
    ['2030-01-21T09:00:00.000Z', '2030-01-21T09:15:00.000Z', true, '2030-01-21T09:00:00.000Z'],
    ['2030-01-28T09:00:00.000Z', '2030-01-28T09:15:00.000Z', true, '2030-01-28T09:00:00.000Z'],
    ['2030-02-04T09:00:00.000Z', '2030-02-04T09:15:00.000Z', true, '2030-02-04T09:00:00.000Z'],
  ]);
  assert.ok(all.every((e) => e.calendar === 'default' && e.name === name && e.uid === uid && e.summary === 'Standup'));
  // [from, to): an instance ending at `from` is out, one starting at `to` too.
  const narrow = await events(store, '2030-01-14T09:15:00Z', '2030-01-28T09:00:00Z');
  assert.equal(narrow.map((e) => e.start), ['2030-01-21T09:00:00.000Z']);
  assert.equal((await events(store, '2030-01-10', '2030-01-25')).map((e) => e.start), ['2030-01-14T09:00:00.000Z', '2030-01-21T09:00:00.000Z']);

  const details = await read(store, name);
  assert.equal(details, {
    calendar: 'default',
    name,
    uid,
    summary: 'Standup',
    location: '',
    description: '',
    start: '2030-01-07T09:00:00.000Z',
    end: '2030-01-07T09:15:00.000Z',
    allDay: false,
    rrule: { freq: 'WEEKLY', interval: 1, count: 5 },
    etag,
  });
});

test('an all-day event: DATE values with an exclusive end, listed as dates', async () => {
  const store = openStore();
  const { name } = await create(store, { summary: 'Holiday', start: '2030-03-10', end: '2030-03-12', allDay: true, location: 'Coast' });
  const text = stored(store, name);
  assert.match(text, /\r\nDTSTART;VALUE=DATE:20300310\r\n/);
  assert.match(text, /\r\nDTEND;VALUE=DATE:20300312\r\n/);
  parseCalendarObject(Buffer.from(text));
  assert.equal(await events(store, '2030-03-01', '2030-04-01'), [
    { calendar: 'default', name, uid: name.replace('.ics', ''), summary: 'Holiday', location: 'Coast', start: '2030-03-10', end: '2030-03-12', allDay: true, recurring: false },
  ]);
  assert.equal(await events(store, '2030-03-12', '2030-03-13'), [], 'the end date is exclusive');
  const details = await read(store, name);
  assert.equal([details.start, details.end, details.allDay], ['2030-03-10', '2030-03-12', true]);
});

test('text with ; , newlines and <script> is escaped for iCalendar and reads back as typed', async () => {
  const store = openStore();
  const summary = 'Lunch; with Bob, Alice <script>alert(1)</script>';
  const description = 'line one\r\nline two\\ with a backslash';
  const { name } = await create(store, { summary, description, location: 'Café "Zur Post", Raum 2', start: '2030-01-07T12:00:00Z', end: '2030-01-07T13:00:00Z' });
  const text = stored(store, name);
  assert.match(text, /SUMMARY:Lunch\\; with Bob\\, Alice <script>alert\(1\)<\/script>\r\n/);
  assert.match(text, /DESCRIPTION:line one\\nline two\\\\ with a backslash\r\n/);
  const parsed = parseCalendarObject(Buffer.from(text));
  assert.is(parsed.calendar.components[0]!.properties.find((p) => p.name === 'SUMMARY')!.value, summary);
  const details = await read(store, name);
  assert.equal([details.summary, details.description, details.location], [summary, 'line one\nline two\\ with a backslash', 'Café "Zur Post", Raum 2']);
});

/** An event as a CalDAV client stores it: a Berlin time zone, an alarm, an attendee, an X- property. */
const FROM_CLIENT = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Example Corp//Client//EN',
  ...BERLIN.split('\n'),
  'BEGIN:VEVENT',
  'UID:client-1@example.org',
  'DTSTAMP:20290101T000000Z',
  'DTSTART;TZID=Europe/Berlin:20300107T090000',
  'DTEND;TZID=Europe/Berlin:20300107T100000',
  'RRULE:FREQ=WEEKLY;BYDAY=MO,WE',
  'SUMMARY:Team',
  'ATTENDEE;CN=Bob:mailto:bob@example.org',
  'X-CLIENT-COLOR:teal',
  'BEGIN:VALARM',
  'ACTION:DISPLAY',
  'DESCRIPTION:Reminder',
  'TRIGGER:-PT10M',
  'END:VALARM',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

test('an edit keeps the UID, VALARM, attendees, the zone and a rule sent back as read', async () => {
  const store = openStore();
  await create(store, WEEKLY);
  await store.branch('main').set('calendar/default/client.ics', FROM_CLIENT);
  const before = await read(store, 'client.ics');
  // In a zone, the times are its wall clocks: the form shows them as they are.
  assert.equal([before.start, before.end, before.timezone, before.rrule], ['2030-01-07T09:00:00', '2030-01-07T10:00:00', 'Europe/Berlin', { freq: 'WEEKLY', interval: 1 }]);

  const edited = await replace(store, 'client.ics', { ...before, summary: 'Team meeting', location: 'Room 1' });
  assert.is(edited.uid, 'client-1@example.org');
  assert.is.not(edited.etag, before.etag);
  let text = stored(store, 'client.ics');
  assert.is(store.branch('main').view().baseBlobId('calendar/default/client.ics'), edited.etag);
  for (const kept of ['UID:client-1@example.org', 'PRODID:-//Example Corp//Client//EN', 'DTSTART;TZID=Europe/Berlin:20300107T090000', 'RRULE:FREQ=WEEKLY;BYDAY=MO,WE', 'ATTENDEE;CN=Bob:mailto:bob@example.org', 'X-CLIENT-COLOR:teal', 'BEGIN:VALARM', 'TRIGGER:-PT10M', 'BEGIN:VTIMEZONE']) {
    assert.ok(text.includes(`${kept}\r\n`), kept);
  }
  assert.match(text, /\r\nSUMMARY:Team meeting\r\n/);
  assert.match(text, /\r\nLOCATION:Room 1\r\n/);
  assert.not.match(text, /SEQUENCE/, 'times and rule unchanged');
  parseCalendarObject(Buffer.from(text));

  // New times stay in the event's zone: 10:00 UTC in January is 11:00 in Berlin.
  const moved = await replace(store, 'client.ics', { ...before, summary: 'Team meeting', start: '2030-01-07T10:00:00Z', end: '2030-01-07T11:00:00Z', etag: edited.etag });
  text = stored(store, 'client.ics');
  assert.match(text, /\r\nDTSTART;TZID=Europe\/Berlin:20300107T110000\r\n/);
  assert.match(text, /\r\nDTEND;TZID=Europe\/Berlin:20300107T120000\r\n/);
  assert.match(text, /\r\nSEQUENCE:1\r\n/);
  assert.match(text, /BEGIN:VALARM/);
  assert.equal((await events(store, '2030-07-01', '2030-07-04')).filter((e) => e.name === 'client.ics').map((e) => e.start), ['2030-07-01T09:00:00.000Z', '2030-07-03T09:00:00.000Z'], 'summer time keeps 11:00 in Berlin');

  // A changed rule replaces the stored one; no rule makes the event single.
  await replace(store, 'client.ics', { ...before, rrule: { freq: 'DAILY', interval: 2, count: 3 }, etag: moved.etag });
  assert.match(stored(store, 'client.ics'), /\r\nRRULE:FREQ=DAILY;COUNT=3;INTERVAL=2\r\n/);
  const single = await read(store, 'client.ics');
  await replace(store, 'client.ics', { ...single, rrule: null });
  assert.not.match(stored(store, 'client.ics').split('BEGIN:VEVENT')[1]!, /RRULE/);
  assert.is((await read(store, 'client.ics')).rrule, null);
});

const BERLIN_WEEKLY = { summary: 'Standup', timezone: 'Europe/Berlin', start: '2030-01-07T09:00', end: '2030-01-07T09:15', rrule: { freq: 'WEEKLY', interval: 1 } };
const berlinClock = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const vtimezones = (text: string) => text.split('BEGIN:VTIMEZONE').length - 1;

test('a weekly 09:00 in Europe/Berlin stays at 09:00 there across the change to summer time', async () => {
  const store = openStore();
  const { name } = await create(store, BERLIN_WEEKLY);
  const text = stored(store, name);
  assert.match(text, /\r\nDTSTART;TZID=Europe\/Berlin:20300107T090000\r\n/);
  assert.match(text, /\r\nDTEND;TZID=Europe\/Berlin:20300107T091500\r\n/);
  assert.is(vtimezones(text), 1);
  assert.match(text, /^BEGIN:VCALENDAR\r\nVERSION:2\.0\r\nPRODID:[^\r]*\r\nBEGIN:VTIMEZONE\r\nTZID:Europe\/Berlin\r\n/, 'the zone before the event');
  assert.is(parseCalendarObject(Buffer.from(text)).zones.size, 1);

  const all = await events(store, '2030-01-01', '2030-08-01');
  assert.is(all.length, 30);
  assert.ok(all.every((e) => berlinClock.format(new Date(e.start)) === '09:00' && berlinClock.format(new Date(e.end)) === '09:15'));
  assert.equal(all.slice(11, 14).map((e) => e.start), ['2030-03-25T08:00:00.000Z', '2030-04-01T07:00:00.000Z', '2030-04-08T07:00:00.000Z'], '08:00Z in winter, 07:00Z in summer');
  assert.is(all.at(-1)!.start, '2030-07-29T07:00:00.000Z');

  const details = await read(store, name);
  assert.equal([details.start, details.end, details.timezone], ['2030-01-07T09:00:00', '2030-01-07T09:15:00', 'Europe/Berlin']);
  await replace(store, name, { ...details, summary: 'Daily standup' });
  assert.not.match(stored(store, name), /SEQUENCE/, 'wall clocks sent back as read are unchanged times');
});

test('the VTIMEZONE covers a year before the start to ten years after, or to UNTIL', async () => {
  const store = openStore();
  const onsets = (text: string) => [...text.matchAll(/\n(?:DTSTART|RDATE):(\d{8}T\d{6})\r/g)].map((m) => m[1]!).sort();
  const open = onsets(stored(store, (await create(store, BERLIN_WEEKLY)).name));
  assert.equal([open[0], open.at(-1)], ['20290107T090000', '20391030T030000']);
  const until = onsets(stored(store, (await create(store, { ...BERLIN_WEEKLY, rrule: { freq: 'WEEKLY', interval: 1, until: '2030-06-30' } })).name));
  assert.equal([until[0], until.at(-1)], ['20290107T090000', '20300331T020000']);
});

test("an edit to another zone rewrites the times and swaps the VTIMEZONE; a client's VTIMEZONE is kept", async () => {
  const store = openStore();
  const { name, etag } = await create(store, BERLIN_WEEKLY);
  await replace(store, name, { ...BERLIN_WEEKLY, timezone: 'America/New_York', etag });
  const text = stored(store, name);
  assert.match(text, /\r\nDTSTART;TZID=America\/New_York:20300107T090000\r\n/);
  assert.match(text, /\r\nSEQUENCE:1\r\n/);
  assert.is(vtimezones(text), 1);
  assert.match(text, /\r\nTZID:America\/New_York\r\n/);
  assert.not.match(text, /Berlin/);
  assert.equal((await events(store, '2030-07-01', '2030-07-02')).map((e) => e.start), ['2030-07-01T13:00:00.000Z']);
  assert.equal([(await read(store, name)).timezone, (await read(store, name)).start], ['America/New_York', '2030-01-07T09:00:00']);

  await store.branch('main').set('calendar/default/client.ics', FROM_CLIENT);
  const client = await read(store, 'client.ics');
  await replace(store, 'client.ics', { ...client, start: '2030-01-07T10:00', end: '2030-01-07T11:00' });
  const edited = stored(store, 'client.ics');
  assert.match(edited, /\r\nDTSTART;TZID=Europe\/Berlin:20300107T100000\r\n/);
  assert.is(vtimezones(edited), 1);
  assert.match(edited, /\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n/, "the client's own VTIMEZONE");
});

test('an unknown time zone, or a wall clock without one, is 400 EINVAL and commits nothing', async () => {
  const store = openStore();
  const { name, etag } = await create(store, BERLIN_WEEKLY);
  const head = store.branch('main').head();
  for (const body of [{ ...BERLIN_WEEKLY, timezone: 'Mars/Olympus_Mons' }, { ...BERLIN_WEEKLY, timezone: 42 }, { ...BERLIN_WEEKLY, timezone: undefined }]) {
    await rejects(() => create(store, body), httpError(400, 'EINVAL'), `POST ${String(body.timezone)}`);
    await rejects(() => replace(store, name, { ...body, etag }), httpError(400, 'EINVAL'), `PUT ${String(body.timezone)}`);
  }
  assert.is(store.branch('main').head(), head);
});

test('a stale etag is 412 EETAG and changes nothing', async () => {
  const store = openStore();
  const { name, etag } = await create(store, WEEKLY);
  await replace(store, name, { ...WEEKLY, summary: 'Renamed', etag });
  const head = store.branch('main').head();
  await rejects(() => replace(store, name, { ...WEEKLY, summary: 'Lost update', etag }), httpError(412, 'EETAG'));
  await rejects(() => call(store, 'DELETE', 'calendar/:cal/:name', { params: { cal: 'default', name }, query: { etag } }), httpError(412, 'EETAG'));
  assert.is(store.branch('main').head(), head);
  assert.is((await read(store, name)).summary, 'Renamed');
});

test('bad input is 400 EINVAL and commits nothing', async () => {
  const store = openStore();
  const { name, etag } = await create(store, WEEKLY);
  const head = store.branch('main').head();
  const bad: [string, Record<string, unknown>][] = [
    ['end before start', { ...WEEKLY, end: '2030-01-07T08:00:00Z' }],
    ['end equal to start', { ...WEEKLY, end: WEEKLY.start }],
    ['unknown frequency', { ...WEEKLY, rrule: { freq: 'HOURLY', interval: 1 } }],
    ['interval 0', { ...WEEKLY, rrule: { freq: 'DAILY', interval: 0 } }],
    ['interval 1001', { ...WEEKLY, rrule: { freq: 'DAILY', interval: 1001 } }],
    ['count 0', { ...WEEKLY, rrule: { freq: 'DAILY', interval: 1, count: 0 } }],
    ['count 10001', { ...WEEKLY, rrule: { freq: 'DAILY', interval: 1, count: 10_001 } }],
    ['count and until', { ...WEEKLY, rrule: { freq: 'DAILY', interval: 1, count: 2, until: '2030-02-01' } }],
    ['summary too long', { ...WEEKLY, summary: 'x'.repeat(1001) }],
    ['no summary', { ...WEEKLY, summary: '  ' }],
    ['control character', { ...WEEKLY, summary: 'a\u0000b' }],
    ['no such day', { ...WEEKLY, start: '2030-02-30T10:00:00Z' }],
    ['no zone', { ...WEEKLY, start: '2030-01-07T09:00:00' }],
    ['all-day with instants', { ...WEEKLY, allDay: true }],
    ['allDay not a boolean', { ...WEEKLY, allDay: 'yes' }],
  ];
  for (const [why, body] of bad) {
    await rejects(() => create(store, body), httpError(400, 'EINVAL'), `POST: ${why}`);
    await rejects(() => replace(store, name, { ...body, etag }), httpError(400, 'EINVAL'), `PUT: ${why}`);
  }
  await rejects(() => create(store, WEEKLY, '..'), httpError(400, 'EINVAL'), 'calendar ..');
  await rejects(() => create(store, WEEKLY, '.props.json'), httpError(400, 'EINVAL'), 'calendar .props.json');
  await rejects(() => call(store, 'GET', 'calendar/:cal/:name', { params: { cal: 'default', name: 'a/b' } }), httpError(400, 'EINVAL'), 'name with /');
  for (const [from, to] of [['2030-01-01', '2032-01-01'], ['2030-01-01', 'soon'], ['2030-13-01', '2030-12-01'], ['2030-02-01', '2030-01-01']]) {
    await rejects(() => events(store, from!, to!), httpError(400, 'EINVAL'), `range ${from} – ${to}`);
  }
  assert.is(store.branch('main').head(), head);
});

test('unknown calendars and events are 404; a calendar exists once one does', async () => {
  const store = openStore();
  await create(store, WEEKLY);
  await rejects(() => create(store, WEEKLY, 'work'), httpError(404, 'ENOTFOUND'));
  await rejects(() => read(store, 'missing.ics'), httpError(404, 'ENOTFOUND'));
  await store.branch('main').set('calendar/work/.props.json', JSON.stringify({ '': { '{DAV:}displayname': '<D:displayname xmlns:D="DAV:">Work &amp; more</D:displayname>' } }));
  assert.equal(await call(store, 'GET', 'calendar'), [{ name: 'default', displayName: 'Calendar' }, { name: 'work', displayName: 'Work & more' }]);
  const { name } = await create(store, WEEKLY, 'work');
  assert.equal([...new Set((await events(store, '2030-01-01', '2030-02-01')).map((e) => e.calendar))], ['default', 'work']);
  assert.ok(store.branch('main').exists(`calendar/work/${name}`));
});

test('delete removes the event and its dead properties', async () => {
  const store = openStore();
  const { name, etag } = await create(store, WEEKLY);
  const props = JSON.parse(store.branch('main').get('calendar/default/.props.json')!.toString()) as Record<string, unknown>;
  await store.branch('main').set('calendar/default/.props.json', JSON.stringify({ ...props, [name]: { '{urn:x}note': '<x:note xmlns:x="urn:x">n</x:note>' } }));
  assert.equal(await call(store, 'DELETE', 'calendar/:cal/:name', { params: { cal: 'default', name }, query: { etag } }), {});
  assert.not.ok(store.branch('main').exists(`calendar/default/${name}`));
  assert.equal(JSON.parse(store.branch('main').get('calendar/default/.props.json')!.toString()), props);
  assert.equal(await events(store, '2030-01-01', '2030-03-01'), []);
  await rejects(() => read(store, name), httpError(404, 'ENOTFOUND'));
  await rejects(() => call(store, 'DELETE', 'calendar/:cal/:name', { params: { cal: 'default', name } }), httpError(404, 'ENOTFOUND'));
});

test('a daily rule without end over a whole year; an hourly one stops at the per-event cap', async () => {
  const store = openStore();
  await create(store, { summary: 'Every day', start: '2030-01-01T08:00:00Z', end: '2030-01-01T08:30:00Z', rrule: { freq: 'DAILY', interval: 1 } });
  const year = await events(store, '2030-01-01', '2031-01-01');
  assert.is(year.length, 365);
  assert.is(year.at(-1)!.start, '2030-12-31T08:00:00.000Z');
  const hourly = FROM_CLIENT.replace(/BEGIN:VEVENT[^]*END:VEVENT/, ['BEGIN:VEVENT', 'UID:hourly', 'DTSTAMP:20290101T000000Z', 'DTSTART:20300101T000000Z', 'DURATION:PT5M', 'RRULE:FREQ=HOURLY', 'SUMMARY:Ping', 'END:VEVENT'].join('\r\n'));
  await store.branch('main').set('calendar/default/hourly.ics', hourly);
  const all = await events(store, '2030-01-01', '2030-03-01');
  assert.is(all.filter((e) => e.name === 'hourly.ics').length, 1000);
  assert.is((await read(store, 'hourly.ics')).rrule, null, 'a frequency the UI does not offer');
});

test.run();
