/**
 * Jitsu's promise that a parked service gives its memory back (target ≥ 80%), for DAV: the
 * heap DAV builds up answering a calendar of 3,000 events, and how much of it parking returns.
 * This measures memory, not a rate, so it has no timed cases: it runs in-process (DAV mounted
 * on an HTTP server on 127.0.0.1, requests over real HTTP), forces full garbage collections,
 * prints its figures and writes bench/results/jitsu.json itself.
 *   heap0: DAV mounted, the events already in the store and read once through it (the store's
 *          caches are the store's, shared by every service, so they are in the baseline);
 *   heap1: after PROPFIND Depth 1 and one calendar-query per month (DAV's indexes and parsed
 *          objects now built);
 *   heap2: after park (what Jitsu calls when DAV has been idle for twice the zone's TTL).
 * Given back = (heap1 - heap2) / (heap1 - heap0); also without V8's code space, which keeps the
 * compiled code of the paths DAV ran until V8 flushes it.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

import { TokenStore, UserDirectory } from '../firmware/accounts/index.js';
import { calendarKind } from '../firmware/apps/calendar/index.js';
import { contactsKind } from '../firmware/apps/contacts/index.js';
import { filesKind, mountDav, type DavKind } from '../firmware/http/dav/index.js';
import { Authenticator, HttpService } from '../firmware/http/index.js';
import { LogSink, prepareDataDir } from '../firmware/runtime/index.js';
import { UserStores, defaultMergeTypes } from '../firmware/store/index.js';
import type { Bench } from './harness.js';

const RESULT_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', 'jitsu.json');
const EVENTS = 3000;
const PASSWORD = 'bench-pass-1';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap in use after full collections, and the part of it that is V8's compiled code. */
function heapUsed(): { heap: number; code: number } {
  for (let i = 0; i < 3; i++) gc();
  const code = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'code_space')?.space_used_size ?? 0;
  return { heap: process.memoryUsage().heapUsed, code };
}

function event(i: number): string {
  const start = new Date(Date.UTC(2027, 0, 1) + i * 2.9 * 3_600_000);
  const utc = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const rule = i % 10 === 0 ? 'RRULE:FREQ=WEEKLY;COUNT=10\r\n' : '';
  return `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//jitsu//EN\r\nBEGIN:VEVENT\r\nUID:event-${i}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:${utc(start)}\r\nDURATION:PT1H\r\nSUMMARY:Event ${i}\r\n${rule}END:VEVENT\r\nEND:VCALENDAR\r\n`;
}

function request(port: number, method: string, target: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, auth: `alice:${PASSWORD}`, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function measure(): Promise<Record<string, number>> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'nymote-jitsu-'));
  try {
    const dirs = prepareDataDir(data);
    const log = new LogSink({ level: 'error' }).logger();
    const users = new UserDirectory(dirs.secrets);
    await users.add('alice', PASSWORD);
    const kinds = [calendarKind, contactsKind, filesKind] as DavKind[];
    const mergeTypes = defaultMergeTypes();
    for (const kind of kinds) for (const [pattern, type] of kind.mergeTypes ?? []) mergeTypes.register(pattern, type);
    const stores = new UserStores(dirs.store, { mergeTypes, durability: 'none' });
    const http = new HttpService('127.0.0.1', 0, log);
    const dav = mountDav(http.router, { stores, auth: new Authenticator({ users, tokens: new TokenStore(dirs.secrets), log }), log, kinds });
    await http.start();
    const port = http.boundPort()!;
    const main = stores.ensure('alice').branch('main');
    await main.transaction((view) => {
      for (let i = 0; i < EVENTS; i++) view.set(`calendar/default/event-${i}.ics`, event(i));
    });
    main.list('calendar/default');
    for (let i = 0; i < EVENTS; i++) main.get(`calendar/default/event-${i}.ics`);
    const xml = { 'content-type': 'application/xml; charset=utf-8' };
    // One request first, so the baseline holds DAV's code paths and the user's home, not its caches.
    await request(port, 'PROPFIND', '/dav/alice/', '', { depth: '0' });
    const heap0 = heapUsed();
    if ((await request(port, 'PROPFIND', '/dav/alice/calendar/default/', '', { depth: '1' })) !== 207) throw new Error('PROPFIND failed');
    for (let month = 0; month < 12; month++) {
      const from = `2027${String(month + 1).padStart(2, '0')}01T000000Z`;
      const to = month === 11 ? '20280101T000000Z' : `2027${String(month + 2).padStart(2, '0')}01T000000Z`;
      const query = `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${from}" end="${to}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
      if ((await request(port, 'REPORT', '/dav/alice/calendar/default/', query, { depth: '1', ...xml })) !== 207) throw new Error('REPORT failed');
    }
    const heap1 = heapUsed();
    dav.park();
    const heap2 = heapUsed();
    await http.stop();
    await stores.closeAll();
    // Compiled code for DAV's paths stays with V8 (it flushes unused code on its own schedule);
    // a heap snapshot after park shows no DAV objects left, so data is reported apart from code.
    const withoutCode = (at: { heap: number; code: number }) => at.heap - at.code;
    return {
      heap0: heap0.heap,
      heap1: heap1.heap,
      heap2: heap2.heap,
      code0: heap0.code,
      code2: heap2.code,
      givenBack: (heap1.heap - heap2.heap) / (heap1.heap - heap0.heap),
      dataGivenBack: (withoutCode(heap1) - withoutCode(heap2)) / (withoutCode(heap1) - withoutCode(heap0)),
    };
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
}

const bench: Bench = {
  name: 'jitsu',
  unit: 'bytes',
  baseline: 'heap',
  async cases() {
    const figures = await measure();
    const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
    console.log(
      `jitsu (DAV, ${EVENTS} events): heap ${mib(figures.heap0!)} mounted → ${mib(figures.heap1!)} after PROPFIND + 12 calendar-queries → ${mib(figures.heap2!)} parked; ` +
        `given back ${(100 * figures.givenBack!).toFixed(1)}% of the ${mib(figures.heap1! - figures.heap0!)} DAV built up (target ≥ 80%); ` +
        `${(100 * figures.dataGivenBack!).toFixed(1)}% without V8's compiled code (code space ${mib(figures.code0!)} → ${mib(figures.code2!)})`,
    );
    fs.writeFileSync(RESULT_FILE, `${JSON.stringify({ bench: 'jitsu', date: new Date().toISOString(), events: EVENTS, ...figures }, null, 2)}\n`);
    return [];
  },
};

export default bench;
