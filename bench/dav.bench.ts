/**
 * The CalDAV server against Radicale and Xandikos (both from ../shared/peers), same machine, same
 * run, same generated calendar for all three:
 *   nymote (`nymote run`, /dav/alice/calendar/<name>/, Basic auth) vs Radicale 3 (/alice/<name>/,
 *   Basic auth, HTTP/1.0 so a connection per request) vs Xandikos (/user/calendars/<name>/, no auth).
 * Workloads, on a calendar of 3,000 VEVENTs in UTC spread over one year, 10% with a weekly RRULE:
 *   - PUT of the 3,000 events (If-None-Match: *) over 4 concurrent keep-alive connections into a
 *     new calendar (MKCALENDAR, untimed), 500 per round: the warm-up and the 5 rounds fill it
 *     once, so the median round is the rate half-way through the fill (Radicale and Xandikos slow
 *     down as the calendar grows; a full fill of Xandikos takes many minutes): events/s;
 *   - PROPFIND Depth: 1 over the calendar (getetag, getcontenttype, resourcetype): requests/s;
 *   - calendar-query REPORT, VEVENT time-range of one month (the months in turn), returning
 *     getetag and calendar-data: requests/s;
 *   - sync-collection REPORT with the token taken before one event was changed (each round takes
 *     a token and changes one more event, untimed): requests/s.
 * Every answer's status is checked (201/204 for PUT, 207 for the rest; anything else stops the
 * bench), and so are the number of responses: PROPFIND must list every event, a calendar-query
 * must return the events whose instances (recurrences included) overlap the month, as computed
 * from the generated data, and a sync report exactly the changed event. A wrong count is printed
 * as a warning and recorded under "warnings" in bench/results/dav.json.
 *
 * The issue's target compares nymote with the faster of the two peers in each case, which the
 * harness's single baseline cannot express; so when the process exits this bench rewrites the
 * report's "ratios" as value / value of the faster peer (each ratio names its peer), adds the
 * peak RSS of every server process ("peakRssKiB", VmHWM of the process and its children) and the
 * warnings, and prints that table. Read requests go one at a time over one keep-alive connection.
 * BENCH_DAV_EVENTS changes the calendar's size (default 3000); BENCH_DAV_ONLY=radicale,xandikos
 * runs a subset of the servers.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { healthAnswers, startNymoteServer } from './nymote-server.js';
import { peakRssKiB } from './processes.js';
import { formatColumns, type Bench, type BenchCase, type BenchReport, type Ratio } from './harness.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEERS = path.resolve(REPO_ROOT, '..', 'shared', 'peers');
const BUNDLE = path.join(REPO_ROOT, 'dist/firmware/index.js');
const RESULT_FILE = path.join(REPO_ROOT, 'bench/results/dav.json');
const EVENTS = Number(process.env.BENCH_DAV_EVENTS ?? 3000);
const PORT_BASE = 32_000;
const NYMOTE_PASSWORD = 'bench-pass-1';
const PUT_CONNECTIONS = 4;
/** The harness's warm-up and 5 rounds each PUT one sixth of the events. */
const PUT_SLICES = 6;
const YEAR = 2027;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const PEER_NAMES = ['radicale', 'xandikos'];
/** BENCH_DAV_ONLY=radicale,xandikos: a subset of the servers (while one does not work yet, say). */
const ONLY = (process.env.BENCH_DAV_ONLY ?? 'nymote,radicale,xandikos').split(',');

// ---------------------------------------------------------------------------------------------
// The calendar: deterministic, so every server (and every run) gets the same events.

interface CalendarEvent {
  readonly uid: string;
  /** The resource's name in its collection: `<uid>.ics`. */
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** Weekly recurrence: endless, `count` instances, or instances starting at or before `until`. */
  readonly rrule?: { readonly count?: number; readonly until?: number };
  /** The rest of the VEVENT's properties, folded, CRLF-terminated. */
  readonly body: string;
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const utc = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** RFC 5545 folding: lines of at most 75 octets (the text here is ASCII). */
function fold(line: string): string {
  if (line.length <= 75) return `${line}\r\n`;
  let out = `${line.slice(0, 75)}\r\n`;
  for (let i = 75; i < line.length; i += 74) out += ` ${line.slice(i, i + 74)}\r\n`;
  return out;
}

const WORDS = (
  'review planning sync design budget roadmap lunch dentist standup retro interview onboarding ' +
  'release demo quarterly offsite training yoga football piano school parents dinner call ' +
  'workshop hiring migration backup garden visit flight hotel invoice taxes doctor meeting'
).split(' ');
const PLACES = ['Room 1', 'Room 2', 'Main office, 3rd floor', 'Cafe Rouge', 'Online', 'Town hall', 'Home', 'Gym'];
const PEOPLE = ['ana', 'ben', 'chloe', 'dmitri', 'eve', 'farah', 'gus', 'hiro'];
const DURATIONS_MIN = [15, 30, 30, 45, 60, 60, 60, 90, 120, 180];
const DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

function generateCalendar(count: number): CalendarEvent[] {
  const next = random(20_271);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(next() * 16).toString(16)).join('');
  const yearStart = Date.UTC(YEAR, 0, 1);
  const events: CalendarEvent[] = [];
  for (let i = 0; i < count; i++) {
    const uid = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
    // 07:00–19:45 UTC on any day of the year, on a quarter hour.
    const start = yearStart + Math.floor(next() * 365) * DAY + 7 * HOUR + Math.floor(next() * 52) * 15 * 60_000;
    const end = start + pick(DURATIONS_MIN) * 60_000;
    const summary = `${pick(WORDS)} ${pick(WORDS)} #${i}`;
    let rrule: CalendarEvent['rrule'];
    let rule = '';
    if (i % 10 === 3) {
      const byday = DAYS[new Date(start).getUTCDay()]!;
      const kind = Math.floor(i / 10) % 3;
      if (kind === 0) {
        rrule = {};
        rule = `RRULE:FREQ=WEEKLY;BYDAY=${byday}`;
      } else if (kind === 1) {
        rrule = { count: 4 + Math.floor(next() * 30) };
        rule = `RRULE:FREQ=WEEKLY;COUNT=${rrule.count};BYDAY=${byday}`;
      } else {
        // UNTIL at the end of a day some weeks later: the instance starting that day is included.
        const weeks = 2 + Math.floor(next() * 40);
        const until = Date.UTC(YEAR, 0, 1) + (Math.floor((start - yearStart) / DAY) + weeks * 7) * DAY + DAY - 1000;
        rrule = { until };
        rule = `RRULE:FREQ=WEEKLY;UNTIL=${utc(until)};BYDAY=${byday}`;
      }
    }
    const organizer = pick(PEOPLE);
    let body =
      fold(`SUMMARY:${summary}`) +
      fold(`LOCATION:${pick(PLACES).replace(/,/g, '\\,')}`) +
      fold(`DESCRIPTION:${Array.from({ length: 8 + Math.floor(next() * 30) }, () => pick(WORDS)).join(' ')}`) +
      fold(`ORGANIZER;CN=${organizer}:mailto:${organizer}@example.test`);
    const attendees = Math.floor(next() * 4);
    for (let a = 0; a < attendees; a++) {
      const who = pick(PEOPLE);
      body += fold(`ATTENDEE;CN=${who};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:${who}@example.test`);
    }
    body += `STATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\nCATEGORIES:${pick(WORDS).toUpperCase()}\r\n`;
    if (rule !== '') body += `${rule}\r\n`;
    if (next() < 0.3) body += 'BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n';
    events.push({ uid, name: `${uid}.ics`, start, end, ...(rrule === undefined ? {} : { rrule }), body });
  }
  return events;
}

function icalendar(event: CalendarEvent, sequence = 0): string {
  const changed = sequence === 0 ? '' : `X-BENCH-CHANGE:${sequence}\r\n`;
  return (
    'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Nymote//DAV bench//EN\r\nCALSCALE:GREGORIAN\r\nBEGIN:VEVENT\r\n' +
    `UID:${event.uid}\r\nDTSTAMP:${utc(Date.UTC(YEAR - 1, 10, 1, 12))}\r\nCREATED:${utc(Date.UTC(YEAR - 1, 10, 1, 12))}\r\n` +
    `LAST-MODIFIED:${utc(Date.UTC(YEAR - 1, 10, 1, 12) + sequence * 1000)}\r\nSEQUENCE:${sequence}\r\n` +
    `DTSTART:${utc(event.start)}\r\nDTEND:${utc(event.end)}\r\n${event.body}${changed}END:VEVENT\r\nEND:VCALENDAR\r\n`
  );
}

/** RFC 4791 §9.9 for a VEVENT with DTEND, over every instance: start < to and end > from. */
function overlaps(event: CalendarEvent, from: number, to: number): boolean {
  const duration = event.end - event.start;
  if (event.rrule === undefined) return event.start < to && event.end > from;
  for (let k = 0; ; k++) {
    const start = event.start + k * WEEK;
    if (event.rrule.count !== undefined && k >= event.rrule.count) return false;
    if (event.rrule.until !== undefined && start > event.rrule.until) return false;
    if (start >= to) return false;
    if (start + duration > from) return true;
  }
}

const MONTHS = Array.from({ length: 12 }, (_, m) => ({ from: Date.UTC(YEAR, m, 1), to: Date.UTC(YEAR, m + 1, 1) }));

// ---------------------------------------------------------------------------------------------
// HTTP

interface Server {
  readonly name: string;
  readonly port: number;
  /** Where the bench's calendars are made: `<home><name>/`. */
  readonly home: string;
  readonly authorization?: string;
  /** The server's process, for its peak RSS. */
  readonly pid: number;
  readonly agent: http.Agent;
  /** The calendar the PUT rounds fill: the one the read cases use. */
  calendar: string;
  calendars: number;
  /** Events PUT into `calendar` so far (the first `filled` of them). */
  filled: number;
}

interface Answer {
  status: number;
  body: string;
}

function send(server: Server, method: string, target: string, headers: Record<string, string>, body = '', retry = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path: target,
        agent: server.agent,
        headers: {
          ...(server.authorization === undefined ? {} : { Authorization: server.authorization }),
          ...headers,
          'Content-Length': String(Buffer.byteLength(body)),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    request.setTimeout(300_000, () => request.destroy(new Error(`${server.name}: ${method} ${target} got no answer in 300 s`)));
    request.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed while idle: the request never reached it.
      if (retry && request.reusedSocket && error.code === 'ECONNRESET') send(server, method, target, headers, body, false).then(resolve, reject);
      else reject(new Error(`${server.name}: ${method} ${target}: ${error.message}`));
    });
    request.end(body);
  });
}

function expectStatus(server: Server, what: string, answer: Answer, allowed: readonly number[]): Answer {
  if (!allowed.includes(answer.status)) {
    throw new Error(`${server.name}: ${what} answered ${answer.status} (expected ${allowed.join('/')}): ${answer.body.slice(0, 400)}`);
  }
  return answer;
}

const XML = { 'Content-Type': 'application/xml; charset=utf-8' };
const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/><D:resourcetype/></D:prop></D:propfind>';
const TOKEN_BODY = '<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>';
const queryBody = (from: number, to: number) =>
  '<?xml version="1.0" encoding="utf-8"?>\n<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">' +
  '<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">' +
  `<C:time-range start="${utc(from)}" end="${utc(to)}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
const syncBody = (token: string) =>
  '<?xml version="1.0" encoding="utf-8"?>\n<D:sync-collection xmlns:D="DAV:">' +
  `<D:sync-token>${escapeXml(token)}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&amp;/g, '&');
}

/** The href of each DAV:response of a multistatus, whatever prefix the server gives DAV:. */
function responseHrefs(multistatus: string): string[] {
  const hrefs: string[] = [];
  const response = /<(?:[\w.-]+:)?response[\s>]/g;
  const href = /<(?:[\w.-]+:)?href(?:\s[^>]*)?>([^<]*)</y;
  for (let match = response.exec(multistatus); match !== null; match = response.exec(multistatus)) {
    const at = multistatus.indexOf('<', match.index + match[0].length - 1);
    // The href is the response's first child (RFC 4918 §14.24), after optional whitespace.
    const open = multistatus.slice(at).search(/<(?:[\w.-]+:)?href[\s>]/);
    href.lastIndex = at + open;
    const found = open < 0 ? null : href.exec(multistatus);
    hrefs.push(found === null ? '' : unescapeXml(found[1]!.trim()));
  }
  return hrefs;
}

const baseName = (href: string) => decodeURIComponent(href.replace(/\/$/, '').split('/').pop() ?? '');

function syncToken(server: Server, multistatus: string): string {
  const match = /<(?:[\w.-]+:)?sync-token(?:\s[^>]*)?>([^<]+)</.exec(multistatus);
  if (match === null) throw new Error(`${server.name}: no DAV:sync-token in ${multistatus.slice(0, 400)}`);
  return unescapeXml(match[1]!.trim());
}

// ---------------------------------------------------------------------------------------------
// Servers


async function startNymote(work: string, cleanups: (() => void)[]): Promise<Server> {
  const port = 8080 + PORT_BASE;
  const pid = await startNymoteServer({ bundle: BUNDLE, work, cleanups, name: 'nymote', portBase: PORT_BASE, password: NYMOTE_PASSWORD, ready: () => healthAnswers(PORT_BASE) });
  return {
    name: 'nymote',
    port,
    home: '/dav/alice/calendar/',
    authorization: `Basic ${Buffer.from(`alice:${NYMOTE_PASSWORD}`).toString('base64')}`,
    pid,
    agent: new http.Agent({ keepAlive: true, maxSockets: PUT_CONNECTIONS }),
    calendar: '',
    calendars: 0,
    filled: 0,
  };
}

function startPeer(work: string, cleanups: (() => void)[], name: string, port: number, home: string, authorization?: string): Server {
  const script = path.join(PEERS, `${name}.sh`);
  const dir = path.join(work, name);
  // A peer that does not start (its port taken by a stale server, say) must stop the bench,
  // not leave it measuring whatever answers on that port.
  const started = spawnSync('bash', [script, 'start', dir, String(port)], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`${name} did not start on port ${port}: ${started.stderr.trim().split('\n').slice(-5).join('\n')}`);
  cleanups.push(() => spawnSync('bash', [script, 'stop', dir]));
  return {
    name,
    port,
    home,
    ...(authorization === undefined ? {} : { authorization: `Basic ${Buffer.from(authorization).toString('base64')}` }),
    pid: Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')),
    agent: new http.Agent({ keepAlive: true, maxSockets: PUT_CONNECTIONS }),
    calendar: '',
    calendars: 0,
    filled: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// The report's last touches, when the process exits (after run.ts has written it).

function finishReport(startedAt: Date, rss: Record<string, number | null>, warnings: string[]): void {
  if (!fs.existsSync(RESULT_FILE)) return;
  const report = JSON.parse(fs.readFileSync(RESULT_FILE, 'utf8')) as BenchReport & Record<string, unknown>;
  // A report from an earlier run (this one failed before writing): leave it alone.
  if (new Date(report.date) < startedAt) return;
  const ratios: Ratio[] = [];
  for (const workload of [...new Set(report.results.map((r) => r.case))]) {
    const results = report.results.filter((r) => r.case === workload);
    const peers = results.filter((r) => PEER_NAMES.includes(r.implementation));
    if (peers.length === 0) continue;
    const faster = peers.reduce((a, b) => (b.value > a.value ? b : a));
    for (const result of results) {
      if (result !== faster) ratios.push({ case: workload, implementation: result.implementation, baseline: faster.implementation, value: result.value / faster.value });
    }
  }
  report.ratios = ratios;
  report.peakRssKiB = rss;
  report.warnings = warnings;
  fs.writeFileSync(RESULT_FILE, JSON.stringify(report, null, 2) + '\n');

  const header = ['case', 'implementation', report.unit, '× faster peer'];
  const rows = report.results.map((result) => {
    const ratio = ratios.find((r) => r.case === result.case && r.implementation === result.implementation);
    const value = result.value >= 100 ? Math.round(result.value).toLocaleString('en-US') : result.value.toPrecision(3);
    return [result.case, result.implementation, value, ratio === undefined ? '(faster peer)' : `${ratio.value.toFixed(2)} × ${ratio.baseline}`];
  });
  const memory = Object.entries(rss).map(([name, kib]) => `${name} ${kib === null ? 'unknown' : `${(kib / 1024).toFixed(1)} MiB`}`);
  process.stdout.write(
    `dav vs the faster peer per case:\n${formatColumns([header, ...rows], (column) => column >= 2)}\n` +
      `peak RSS (VmHWM): ${memory.join(', ')}\n` +
      (warnings.length === 0 ? 'no correctness warnings\n' : `${warnings.length} correctness warning(s):\n${warnings.map((w) => `  ${w}`).join('\n')}\n`) +
      `→ ${path.relative(process.cwd(), RESULT_FILE)} (rewritten)\n`,
  );
}

// ---------------------------------------------------------------------------------------------

const bench: Bench = {
  name: 'dav',
  unit: 'req/s',
  // No implementation has this name: the harness's table then shows values only, and the
  // ratios against the faster peer are written when the process exits (see finishReport).
  baseline: 'faster peer',
  async cases(): Promise<BenchCase[]> {
    const startedAt = new Date();
    const events = generateCalendar(EVENTS);
    const texts = events.map((event) => icalendar(event));
    const expected = MONTHS.map(({ from, to }) => events.filter((event) => overlaps(event, from, to)).length);
    process.stderr.write(
      `  dav: ${EVENTS} events (${events.filter((e) => e.rrule !== undefined).length} recurring, ${(texts.reduce((n, t) => n + t.length, 0) / 1e6).toFixed(2)} MB); ` +
        `expected per month of ${YEAR}: ${expected.join(' ')}\n`,
    );

    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nydav-'));
    const cleanups: (() => void)[] = [];
    const warnings: string[] = [];
    const servers: Server[] = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      // Peaks first: stopping a server loses them.
      const rss: Record<string, number | null> = {};
      for (const server of servers) rss[server.name] = peakRssKiB(server.pid);
      for (const server of servers) server.agent.destroy();
      for (const cleanup of cleanups.reverse()) {
        try {
          cleanup();
        } catch {
          // keep stopping the others
        }
      }
      try {
        fs.rmSync(work, { recursive: true, force: true });
      } catch (error) {
        process.stderr.write(`  dav: could not remove ${work}: ${(error as Error).message}\n`);
      }
      finishReport(startedAt, rss, warnings);
    };
    process.on('exit', finish);
    // Ctrl-C or a kill: stop the servers too.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
    const warn = (message: string) => {
      if (warnings.includes(message)) return;
      warnings.push(message);
      process.stderr.write(`  dav: WARNING ${message}\n`);
    };

    if (ONLY.includes('nymote')) servers.push(await startNymote(work, cleanups));
    if (ONLY.includes('radicale')) servers.push(startPeer(work, cleanups, 'radicale', 5306, '/alice/', 'alice:secret-pass-1'));
    if (ONLY.includes('xandikos')) servers.push(startPeer(work, cleanups, 'xandikos', 5305, '/user/calendars/'));

    // PUT fills each server's calendar a slice per round (warm-up included), so that the rounds
    // together PUT the 3,000 events once: the servers whose PUT slows as the calendar grows are
    // measured over the whole fill, and the slow peers' fill is not repeated six times.
    const slice = Math.max(1, Math.floor(EVENTS / PUT_SLICES));
    const putEvents = async (server: Server, from: number, to: number) => {
      let next = from;
      const worker = async () => {
        for (let i = next++; i < to; i = next++) {
          const target = server.calendar + events[i]!.name;
          const answer = await send(server, 'PUT', target, { 'Content-Type': 'text/calendar; charset=utf-8', 'If-None-Match': '*' }, texts[i]);
          expectStatus(server, `PUT ${target}`, answer, [201, 204]);
        }
      };
      await Promise.all(Array.from({ length: PUT_CONNECTIONS }, worker));
      server.filled = Math.max(server.filled, to);
    };
    const newCalendar = async (server: Server) => {
      server.calendar = `${server.home}bench-${server.calendars++}/`;
      server.filled = 0;
      expectStatus(server, `MKCALENDAR ${server.calendar}`, await send(server, 'MKCALENDAR', server.calendar, {}), [201]);
    };
    /** Before the read cases: the rest of the events, if the PUT rounds did not PUT them all. */
    const fill = async (server: Server) => {
      if (server.calendar === '') await newCalendar(server);
      if (server.filled < EVENTS) await putEvents(server, server.filled, EVENTS);
    };

    const cases: BenchCase[] = [];
    for (const server of servers) {
      let from = 0;
      cases.push({
        case: `PUT ${EVENTS.toLocaleString('en-US')} events, ${PUT_CONNECTIONS} connections`,
        implementation: server.name,
        unitsPerRun: slice,
        runsPerRound: 1,
        setup: async () => {
          // More rounds than slices: start over in a new calendar.
          if (server.calendar === '' || server.filled + slice > EVENTS) await newCalendar(server);
          from = server.filled;
        },
        run: () => putEvents(server, from, from + slice),
      });
    }

    for (const server of servers) {
      let checked = false;
      cases.push({
        case: `PROPFIND depth 1 over ${EVENTS.toLocaleString('en-US')}`,
        implementation: server.name,
        unitsPerRun: 1,
        setup: () => fill(server),
        run: async () => {
          const answer = expectStatus(server, `PROPFIND ${server.calendar}`, await send(server, 'PROPFIND', server.calendar, { ...XML, Depth: '1' }, PROPFIND_BODY), [207]);
          const hrefs = responseHrefs(answer.body);
          if (hrefs.length !== EVENTS + 1) warn(`${server.name}: PROPFIND depth 1 listed ${hrefs.length} responses, expected ${EVENTS + 1}`);
          if (!checked) {
            // Once, in the warm-up: the listing is exactly the events (plus the collection).
            checked = true;
            const names = new Set(hrefs.map(baseName));
            const missing = events.filter((event) => !names.has(event.name)).length;
            if (missing > 0) warn(`${server.name}: PROPFIND depth 1 is missing ${missing} of the ${EVENTS} events`);
            if (!/getetag[\s>]/.test(answer.body) || !/calendar[\s/>]/.test(answer.body)) warn(`${server.name}: PROPFIND answer lacks getetag or the calendar resourcetype`);
          }
        },
      });
    }

    // Untimed, once per server before its warm-up: the answer for every month, checked against
    // the generated data; the timed calls then only compare counts.
    const seen = new Map<string, number[]>();
    const describe = (event: CalendarEvent) =>
      `${event.name.slice(0, 8)} ${utc(event.start)}${event.rrule === undefined ? '' : event.rrule.count !== undefined ? ` weekly×${event.rrule.count}` : event.rrule.until !== undefined ? ` weekly until ${utc(event.rrule.until)}` : ' weekly'}`;
    const query = async (server: Server, month: number) => {
      const { from, to } = MONTHS[month]!;
      const body = queryBody(from, to);
      const answer = expectStatus(server, `calendar-query REPORT ${server.calendar}`, await send(server, 'REPORT', server.calendar, { ...XML, Depth: '1' }, body), [207]);
      return responseHrefs(answer.body);
    };
    for (const server of servers) {
      let call = 0;
      cases.push({
        case: `calendar-query 1 month over ${EVENTS.toLocaleString('en-US')}`,
        implementation: server.name,
        unitsPerRun: 1,
        setup: async () => {
          if (seen.has(server.name)) return;
          const counts: number[] = [];
          seen.set(server.name, counts);
          for (const [month, { from, to }] of MONTHS.entries()) {
            const hrefs = await query(server, month);
            counts.push(hrefs.length);
            const names = new Set(hrefs.map(baseName));
            const missing = events.filter((event) => overlaps(event, from, to) && !names.has(event.name));
            const extra = events.filter((event) => !overlaps(event, from, to) && names.has(event.name));
            if (missing.length + extra.length > 0 || hrefs.length !== expected[month]) {
              warn(
                `${server.name}: calendar-query for ${utc(from).slice(0, 6)} returned ${hrefs.length} hrefs, expected ${expected[month]}` +
                  (missing.length === 0 ? '' : `; missing ${missing.length}: ${missing.slice(0, 3).map(describe).join(', ')}${missing.length > 3 ? ', …' : ''}`) +
                  (extra.length === 0 ? '' : `; extra ${extra.length}: ${extra.slice(0, 3).map(describe).join(', ')}${extra.length > 3 ? ', …' : ''}`),
              );
            }
          }
        },
        run: async () => {
          const month = call++ % MONTHS.length;
          const hrefs = await query(server, month);
          const counts = seen.get(server.name)!;
          if (hrefs.length !== counts[month]) warn(`${server.name}: calendar-query for ${utc(MONTHS[month]!.from).slice(0, 6)} returned ${counts[month]} then ${hrefs.length} hrefs`);
        },
      });
    }

    let compared = false;
    for (const server of servers) {
      let token = '';
      let changed = '';
      let changes = 0;
      cases.push({
        case: 'sync-collection after 1 change',
        implementation: server.name,
        unitsPerRun: 1,
        setup: async () => {
          if (!compared) {
            compared = true;
            // Do the servers agree with each other on the calendar-query answers?
            const disagreements = MONTHS.flatMap(({ from }, month) =>
              new Set(servers.map((s) => seen.get(s.name)![month])).size > 1
                ? [`${utc(from).slice(0, 6)} [${expected[month]}] ${servers.map((s) => `${s.name} ${seen.get(s.name)![month]}`).join(', ')}`]
                : [],
            );
            if (disagreements.length > 0) warn(`servers disagree on calendar-query in ${disagreements.length} of 12 months (month [expected]: answers): ${disagreements.join('; ')}`);
          }
          const answer = expectStatus(server, `PROPFIND sync-token ${server.calendar}`, await send(server, 'PROPFIND', server.calendar, { ...XML, Depth: '0' }, TOKEN_BODY), [207]);
          token = syncToken(server, answer.body);
          // One more event changed (same times, so the calendar-query answers stay as they were).
          const event = events[(changes * 7919) % events.length]!;
          changed = event.name;
          const target = server.calendar + event.name;
          expectStatus(server, `PUT ${target} (change)`, await send(server, 'PUT', target, { 'Content-Type': 'text/calendar; charset=utf-8' }, icalendar(event, ++changes)), [200, 201, 204]);
        },
        run: async () => {
          const answer = expectStatus(server, `sync-collection REPORT ${server.calendar}`, await send(server, 'REPORT', server.calendar, { ...XML, Depth: '0' }, syncBody(token)), [207]);
          const hrefs = responseHrefs(answer.body);
          if (hrefs.length !== 1 || baseName(hrefs[0]!) !== changed) warn(`${server.name}: sync-collection after one change returned ${hrefs.length} hrefs (${hrefs.slice(0, 3).map(baseName).join(', ')}), expected just ${changed}`);
        },
      });
    }
    return cases;
  },
};

export default bench;
