/**
 * The DAV server against real clients, as people would use it with `nymote run`:
 * litmus (WebDAV conformance) on the files home; vdirsyncer syncing calendars and contacts
 * both ways into filesystem vdirs, found by discovery; khal and khard reading those vdirs;
 * python3-caldav making a calendar, saving events and a todo, searching by time range
 * (recurrence with EXDATE, all-day, a TZID), expand, free-busy, sync-token and delete
 * (test/_lib/caldav_client.py prints what it saw as JSON; the assertions are here).
 * The clients are Debian's packages (`make test-tools` installs them); a missing one fails
 * its test, it is not skipped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nymote, startInstance, tool, type Instance } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PASSWORD = 'clients-secret-1';
let data: string;
let instance: Instance;
let gitDir: string;
/** The vdirsyncer test's work directory, which the khal and khard test reads. */
let synced: string | undefined;

interface Reply {
  code: number;
  headers: Record<string, string>;
  body: string;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Fails the test with a clear message when a client program is not installed. */
function requireProgram(name: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  assert.ok(found.status === 0 && found.stdout.trim() !== '', `${name} is not installed (\`make test-tools\` installs it: apt-get install ${name})`);
}

/** Runs a program in `cwd` with HOME there too (so no user configuration leaks in). */
function run(command: string, args: string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Run {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    env: { ...process.env, HOME: options.cwd, XDG_CONFIG_HOME: path.join(options.cwd, '.config'), XDG_DATA_HOME: path.join(options.cwd, '.local'), XDG_CACHE_HOME: path.join(options.cwd, '.cache'), TZ: 'UTC', LC_ALL: 'C.UTF-8', ...options.env },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** One request with curl as alice. */
function dav(method: string, urlPath: string, options: { body?: string; headers?: Record<string, string> } = {}): Reply {
  const headers = Object.entries(options.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const body = options.body === undefined ? [] : ['--data-binary', '@-'];
  // The headers go to a file: Node's stdio pipes are socketpairs, which /dev/stderr cannot reopen (curl 7.88 then crashes).
  const headerFile = path.join(tempDir('dc-curl'), 'headers');
  const result = tool('curl', ['-sS', '--max-time', '20', '-X', method, '-D', headerFile, '-u', `alice:${PASSWORD}`, ...headers, ...body, `${instance.httpUrl}${urlPath}`], options.body);
  const received = fs.existsSync(headerFile) ? fs.readFileSync(headerFile, 'utf8') : '';
  fs.rmSync(path.dirname(headerFile), { recursive: true, force: true });
  const blocks = received.split(/\r\n\r\n/).filter((b) => b.startsWith('HTTP/'));
  const last = blocks.at(-1) ?? '';
  const replyHeaders: Record<string, string> = {};
  for (const line of last.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) replyHeaders[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const code = Number(/^HTTP\/\S+ (\d+)/.exec(last)?.[1] ?? 0);
  // No response at all: say what curl said.
  return { code, headers: replyHeaders, body: code === 0 ? `curl (status ${result.status}): ${result.stderr}` : result.stdout };
}

function gitLog(): string[] {
  const result = tool('git', ['--git-dir', gitDir, 'log', '--format=%s', 'main']);
  assert.is(result.status, 0, result.stderr);
  return result.stdout.trim().split('\n');
}

function head(): string {
  return tool('git', ['--git-dir', gitDir, 'rev-parse', 'main']).stdout.trim();
}

/** The summary line litmus prints for one group, e.g. "of 13 tests run: 13 passed, 0 failed." */
function litmusSummary(output: string, group: string): string | undefined {
  return new RegExp(`summary for \`${group}': (.*)`).exec(output)?.[1];
}

function vcalendar(...lines: string[]): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//nymote test//dav-clients//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
}

function vevent(uid: string, summary: string, ...lines: string[]): string {
  return vcalendar('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20300101T000000Z', `SUMMARY:${summary}`, ...lines, 'END:VEVENT');
}

function vcard(uid: string, given: string, family: string): string {
  return ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `N:${family};${given};;;`, `FN:${given} ${family}`, `EMAIL;TYPE=INTERNET:${given.toLowerCase()}@example.org`, 'END:VCARD', ''].join('\r\n');
}

test.before(async () => {
  data = tempDir('dc');
  const added = nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: `${PASSWORD}\n` });
  assert.is(added.status, 0, added.stderr);
  gitDir = path.join(data, 'store', 'alice.git');
  instance = await startInstance(data);
});

test.after(async () => {
  await instance?.stop();
});

test('litmus: the basic, copymove and props groups pass on the files home', () => {
  requireProgram('litmus');
  const work = tempDir('dc-litmus');
  const result = run('litmus', [`${instance.httpUrl}/dav/alice/files/`, 'alice', PASSWORD], { cwd: work, env: { TESTS: 'basic copymove props' } });
  const output = result.stdout + result.stderr;
  for (const group of ['basic', 'copymove', 'props']) {
    const summary = litmusSummary(output, group);
    assert.ok(summary !== undefined, `litmus printed no summary for ${group}:\n${output}`);
    assert.match(summary!, / 0 failed\./, `litmus ${group}: ${summary}\n${output}`);
  }
  assert.is(result.status, 0, output);
});

test('vdirsyncer: calendars and contacts found by discovery sync both ways, and a sync with no change changes nothing', () => {
  requireProgram('vdirsyncer');
  const work = tempDir('dc-vds');
  const config = path.join(work, 'vdirsyncer.conf');
  const calendars = path.join(work, 'calendars');
  const contacts = path.join(work, 'contacts');
  fs.writeFileSync(
    config,
    [
      '[general]',
      `status_path = "${path.join(work, 'status')}/"`,
      '',
      '[pair calendars]',
      'a = "calendars_local"',
      'b = "calendars_remote"',
      'collections = ["from a", "from b"]',
      '',
      '[storage calendars_local]',
      'type = "filesystem"',
      `path = "${calendars}/"`,
      'fileext = ".ics"',
      '',
      // The server root: vdirsyncer falls back to /.well-known/caldav from there.
      '[storage calendars_remote]',
      'type = "caldav"',
      `url = "${instance.httpUrl}/"`,
      'username = "alice"',
      `password = "${PASSWORD}"`,
      '',
      '[pair contacts]',
      'a = "contacts_local"',
      'b = "contacts_remote"',
      'collections = ["from a", "from b"]',
      '',
      '[storage contacts_local]',
      'type = "filesystem"',
      `path = "${contacts}/"`,
      'fileext = ".vcf"',
      '',
      '[storage contacts_remote]',
      'type = "carddav"',
      `url = "${instance.httpUrl}/dav/"`,
      'username = "alice"',
      `password = "${PASSWORD}"`,
      '',
    ].join('\n'),
  );
  const vdirsyncer = (...args: string[]): Run => {
    const result = run('vdirsyncer', ['-c', config, ...args], { cwd: work, input: 'y\n'.repeat(20) });
    assert.is(result.status, 0, `vdirsyncer ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
    return result;
  };

  vdirsyncer('discover');
  vdirsyncer('sync');
  const calendarDir = path.join(calendars, 'default');
  const contactDir = path.join(contacts, 'default');
  assert.ok(fs.statSync(calendarDir).isDirectory(), 'the default calendar was discovered and made locally');
  assert.ok(fs.statSync(contactDir).isDirectory(), 'the default address book was discovered and made locally');

  // Local creations, and a weekly event and a contact made on the server.
  fs.writeFileSync(path.join(calendarDir, 'nymote-local-event.ics'), vevent('nymote-local-event', 'Local planning', 'DTSTART:20300108T100000Z', 'DTEND:20300108T110000Z'));
  fs.writeFileSync(path.join(calendarDir, 'nymote-doomed.ics'), vevent('nymote-doomed', 'Doomed event', 'DTSTART:20300109T100000Z', 'DTEND:20300109T110000Z'));
  fs.writeFileSync(path.join(contactDir, 'nymote-local-contact.vcf'), vcard('nymote-local-contact', 'Ada', 'Lovelace'));
  fs.writeFileSync(path.join(contactDir, 'nymote-doomed-contact.vcf'), vcard('nymote-doomed-contact', 'Doomed', 'Contact'));
  const weekly = dav('PUT', '/dav/alice/calendar/default/server-weekly.ics', {
    body: vevent('server-weekly', 'Team sync weekly', 'DTSTART:20300107T150000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=5'),
    headers: { 'content-type': 'text/calendar; charset=utf-8', 'if-none-match': '*' },
  });
  assert.is(weekly.code, 201, `PUT of the weekly event: ${weekly.code} ${weekly.body}`);
  const grace = dav('PUT', '/dav/alice/contacts/default/server-contact.vcf', { body: vcard('server-contact', 'Grace', 'Hopper'), headers: { 'content-type': 'text/vcard; charset=utf-8', 'if-none-match': '*' } });
  assert.is(grace.code, 201, `PUT of the contact: ${grace.code} ${grace.body}`);

  vdirsyncer('sync');
  for (const [urlPath, needle, message] of [
    ['/dav/alice/calendar/default/nymote-local-event.ics', 'SUMMARY:Local planning', 'PUT calendar/default/nymote-local-event.ics'],
    ['/dav/alice/calendar/default/nymote-doomed.ics', 'SUMMARY:Doomed event', 'PUT calendar/default/nymote-doomed.ics'],
    ['/dav/alice/contacts/default/nymote-local-contact.vcf', 'FN:Ada Lovelace', 'PUT contacts/default/nymote-local-contact.vcf'],
    ['/dav/alice/contacts/default/nymote-doomed-contact.vcf', 'FN:Doomed Contact', 'PUT contacts/default/nymote-doomed-contact.vcf'],
  ] as const) {
    const got = dav('GET', urlPath);
    assert.is(got.code, 200, `${urlPath} after sync: ${got.code} ${got.body}`);
    assert.ok(got.body.includes(needle), `${urlPath} has ${needle}:\n${got.body}`);
    assert.ok(gitLog().includes(`dav: ${message}`), `a commit "dav: ${message}" in\n${gitLog().join('\n')}`);
  }
  const localWeekly = fs.readdirSync(calendarDir).map((f) => fs.readFileSync(path.join(calendarDir, f), 'utf8')).filter((t) => t.includes('UID:server-weekly'));
  assert.is(localWeekly.length, 1, `the server's weekly event reached the vdir: ${fs.readdirSync(calendarDir).join(', ')}`);
  assert.ok(localWeekly[0]!.includes('RRULE:FREQ=WEEKLY;COUNT=5'));
  const localGrace = fs.readdirSync(contactDir).filter((f) => fs.readFileSync(path.join(contactDir, f), 'utf8').includes('FN:Grace Hopper'));
  assert.is(localGrace.length, 1, `the server's contact reached the vdir: ${fs.readdirSync(contactDir).join(', ')}`);

  // An edit on the server, made with the ETag the client would use, reaches the local file.
  const eventPath = '/dav/alice/calendar/default/nymote-local-event.ics';
  const before = dav('GET', eventPath);
  const etag = before.headers['etag'];
  assert.ok(etag, `GET ${eventPath} gives an ETag: ${JSON.stringify(before.headers)}`);
  const edited = before.body.replace('SUMMARY:Local planning', 'SUMMARY:Planning (moved on the server)');
  const stale = dav('PUT', eventPath, { body: edited, headers: { 'content-type': 'text/calendar; charset=utf-8', 'if-match': '"0000000000000000000000000000000000000000"' } });
  assert.is(stale.code, 412, `PUT with a stale If-Match: ${stale.code} ${stale.body}`);
  const put = dav('PUT', eventPath, { body: edited, headers: { 'content-type': 'text/calendar; charset=utf-8', 'if-match': etag! } });
  assert.ok(put.code === 204 || put.code === 200, `PUT with If-Match ${etag}: ${put.code} ${put.body}`);
  assert.is.not(put.headers['etag'] ?? dav('HEAD', eventPath).headers['etag'], etag, 'the ETag changed with the content');
  vdirsyncer('sync');
  const localEvent = fs.readFileSync(path.join(calendarDir, 'nymote-local-event.ics'), 'utf8');
  assert.ok(localEvent.includes('SUMMARY:Planning (moved on the server)'), `the server's edit reached the local file:\n${localEvent}`);

  // Local deletes remove the resources on the server.
  fs.rmSync(path.join(calendarDir, 'nymote-doomed.ics'));
  fs.rmSync(path.join(contactDir, 'nymote-doomed-contact.vcf'));
  vdirsyncer('sync');
  for (const urlPath of ['/dav/alice/calendar/default/nymote-doomed.ics', '/dav/alice/contacts/default/nymote-doomed-contact.vcf']) {
    const gone = dav('GET', urlPath);
    assert.is(gone.code, 404, `${urlPath} after the local delete was synced: ${gone.code}`);
  }
  assert.ok(gitLog().includes('dav: DELETE calendar/default/nymote-doomed.ics'), gitLog().join('\n'));
  assert.ok(gitLog().includes('dav: DELETE contacts/default/nymote-doomed-contact.vcf'), gitLog().join('\n'));

  // Nothing changed on either side: no commit, no local change.
  const commitBefore = head();
  const listing = (dir: string): string => fs.readdirSync(dir).sort().map((f) => `${f}:${fs.statSync(path.join(dir, f)).mtimeMs}`).join('\n');
  const localBefore = listing(calendarDir) + listing(contactDir);
  const quiet = vdirsyncer('sync');
  assert.is(head(), commitBefore, `a sync with no change made a commit: ${gitLog()[0]}\n${quiet.stdout}${quiet.stderr}`);
  assert.is(listing(calendarDir) + listing(contactDir), localBefore, 'a sync with no change touched the vdirs');
  assert.not.match(quiet.stdout + quiet.stderr, /Copying|Updating|Deleting/, quiet.stdout + quiet.stderr);
  synced = work;
});

test('khal and khard read the synced vdirs: the events incl. the weekly instances, and the contacts', () => {
  requireProgram('khal');
  requireProgram('khard');
  assert.ok(synced !== undefined, 'needs the vdirs the vdirsyncer test syncs, and that test failed');
  const work = synced!;
  const khalConfig = path.join(work, 'khal.conf');
  fs.writeFileSync(
    khalConfig,
    [
      '[calendars]',
      '[[nymote]]',
      `path = ${path.join(work, 'calendars', 'default')}`,
      'type = calendar',
      '[locale]',
      'timeformat = %H:%M',
      'dateformat = %Y-%m-%d',
      'longdateformat = %Y-%m-%d',
      'datetimeformat = %Y-%m-%d %H:%M',
      'longdatetimeformat = %Y-%m-%d %H:%M',
      'local_timezone = UTC',
      'default_timezone = UTC',
      '[sqlite]',
      `path = ${path.join(work, 'khal.db')}`,
      '',
    ].join('\n'),
  );
  const khal = run('khal', ['-c', khalConfig, 'list', '--format', '{start-date} {start-time} {title}', '--day-format', '', '2030-01-01', '2030-02-28'], { cwd: work });
  assert.is(khal.status, 0, khal.stdout + khal.stderr);
  const lines = khal.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  for (const expected of ['2030-01-08 10:00 Planning (moved on the server)', '2030-01-07 15:00 Team sync weekly', '2030-01-21 15:00 Team sync weekly', '2030-02-04 15:00 Team sync weekly']) {
    assert.ok(lines.includes(expected), `khal list shows "${expected}":\n${khal.stdout}${khal.stderr}`);
  }
  assert.is(lines.filter((l) => l.endsWith('Team sync weekly')).length, 5, `five weekly instances (COUNT=5):\n${khal.stdout}`);
  assert.not.ok(lines.some((l) => l.includes('Doomed')), `the deleted event is gone:\n${khal.stdout}`);

  const khardConfig = path.join(work, 'khard.conf');
  fs.writeFileSync(khardConfig, ['[addressbooks]', '[[nymote]]', `path = ${path.join(work, 'contacts', 'default')}`, '', '[general]', 'editor = /bin/true', 'merge_editor = /bin/true', ''].join('\n'));
  const khard = run('khard', ['-c', khardConfig, 'list'], { cwd: work });
  assert.is(khard.status, 0, khard.stdout + khard.stderr);
  assert.match(khard.stdout, /Ada Lovelace/, khard.stdout + khard.stderr);
  assert.match(khard.stdout, /Grace Hopper/, khard.stdout + khard.stderr);
  assert.not.match(khard.stdout, /Doomed/, khard.stdout);
});

test('python3-caldav: a new calendar, events and a todo, time-range searches with recurrence, free-busy, delete', () => {
  // Debian's python3-caldav lives in the system interpreter, which a pyenv python3 earlier on PATH does not see.
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const probe = spawnSync(python, ['-c', 'import caldav'], { encoding: 'utf8' });
  assert.is(probe.status, 0, `python3-caldav is not installed (\`make test-tools\` installs it: apt-get install python3-caldav): ${probe.stderr}`);
  const result = spawnSync(python, [path.join(HERE, '..', '_lib', 'caldav_client.py'), `${instance.httpUrl}/dav/`, 'alice', PASSWORD], { encoding: 'utf8', timeout: 60_000 });
  assert.is(result.status, 0, result.stdout + result.stderr);
  const out = JSON.parse(result.stdout) as Record<string, any>;
  const ok = (step: string): any => {
    const value = out[step];
    assert.ok(value !== undefined && !(value && typeof value === 'object' && 'error' in value), `${step} raised: ${value?.error}\n${value?.trace ?? ''}`);
    return value;
  };

  assert.is(ok('principal').url, `${instance.httpUrl}/dav/alice/`);
  assert.is(ok('principal').home, `${instance.httpUrl}/dav/alice/calendar/`);
  const made = ok('make_calendar');
  assert.is(made.listed, 'Work 2030', `the new calendar is listed under its name: ${JSON.stringify(made)}`);
  ok('save');
  assert.equal(ok('events'), ['Holiday', 'March review', 'Weekly standup']);

  const expected: Record<string, string[]> = {
    january: ['Holiday', 'Weekly standup'],
    excluded_instance_only: [],
    third_instance: ['Weekly standup'],
    holiday_noon: ['Holiday'],
    february: [],
    march: ['March review'],
  };
  for (const step of ['date_search', 'search']) {
    const found = ok(step);
    for (const [range, summaries] of Object.entries(expected)) assert.equal(found[range], summaries, `${step} ${range}: ${JSON.stringify(found[range])}`);
  }
  const expanded = ok('search_expand');
  assert.equal(expanded.january.instances.filter((s: string) => s.includes('T09:00')), ['2030-01-07T09:00:00+00:00', '2030-01-21T09:00:00+00:00', '2030-01-28T09:00:00+00:00']);
  assert.equal(expanded.excluded_instance_only.instances, []);
  assert.equal(expanded.third_instance.instances, ['2030-01-21T09:00:00+00:00']);
  const todos = ok('todos');
  assert.equal(todos.summaries, ['File taxes']);
  assert.equal(todos.due, ['2030-01-20T17:00:00+00:00']);
  assert.equal(ok('todo_search'), { due_in_range: ['File taxes'], due_out_of_range: [] });
  assert.equal(ok('load'), { has_uid: true, has_rrule: true, summary: ['Weekly standup'] });
  assert.equal(ok('by_uid'), ['March review']);

  const freebusy = ok('freebusy');
  const busy = freebusy.periods.filter((p: { fbtype: string }) => p.fbtype === 'BUSY').map((p: { period: string }) => p.period);
  // Periods may be start/end or start/duration; each instance is 30 minutes from its start.
  for (const start of ['20300107T090000Z', '20300121T090000Z', '20300128T090000Z']) {
    assert.ok(busy.some((b: string) => b.startsWith(`${start}/`)), `free-busy has the instance at ${start}: ${JSON.stringify(freebusy.periods)}\n${freebusy.raw}`);
  }
  assert.not.ok(busy.some((b: string) => b.startsWith('20300114T09')), `the EXDATE'd instance is not busy: ${freebusy.raw}`);
  assert.ok(busy.some((b: string) => b.startsWith('20300110')), `the all-day event is busy: ${freebusy.raw}`);

  const sync = ok('sync_token');
  assert.equal(sync, {
    initial: ['holiday%40nymote.test.ics', 'march-review%40nymote.test.ics', 'taxes%40nymote.test.ics', 'weekly-standup%40nymote.test.ics'],
    after_save: ['berlin%40nymote.test.ics'],
    after_delete: ['berlin%40nymote.test.ics'],
    tokens_differ: true,
  });
  assert.equal(ok('timezone'), { at_0830z: ['Berlin summer'], at_1000z: [] }, 'a TZID time is compared in UTC');

  const deleted = ok('delete');
  assert.equal(deleted, { march_after: [], load_after: 'NotFoundError', events: ['Holiday', 'Weekly standup'] });
  assert.equal(ok('delete_calendar'), { listed: false });
  // Last, so that a failure here leaves the checks above run.
  // RFC 4791 §9.6.5: with CALDAV:expand the server itself returns the instances in the range,
  // each with a RECURRENCE-ID and no RRULE/EXDATE (the library only covers for servers that don't).
  for (const [range, instances] of [['january', 3], ['third_instance', 1]] as const) {
    assert.is(expanded[range].server_sent_rrule, false, `REPORT calendar-query with <C:expand> (${range}): the server sent the master with its RRULE back, unexpanded`);
    assert.is(expanded[range].server_recurrence_ids, instances, `REPORT calendar-query with <C:expand> (${range}): RECURRENCE-IDs the server sent`);
  }
});

test('the server logged no error while the clients ran', () => {
  const errors = instance.output().split('\n').filter((line) => /level=(error|fatal)/.test(line));
  assert.equal(errors, []);
});

test.run();
