/**
 * The web UI in a real browser: playwright-core driving Debian's chromium, headless, against
 * `nymote run`. What the UI writes is checked through the protocols other clients use (CardDAV
 * with curl, CalDAV with python3-caldav); mail arrives by SMTP (python smtplib). Screenshots
 * of each page go to test/artifacts/web-ui/.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { NYMOTE, nymote, REPO, startInstance, tool, type Instance } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const PASSWORD = 'web-ui-secret-pass';
const ARTIFACTS = path.join(REPO, 'test', 'artifacts', 'web-ui');
// A script in a name or subject: it must show as text and never run.
const HOSTILE = '<img src=x onerror="window.__pwned=1">Eve <script>window.__pwned=2</script>';

/** Form controls on the page that no label names. */
const UNLABELLED_CONTROLS = `[...document.querySelectorAll('input, select, textarea')].filter((c) => c.labels.length === 0 && !c.getAttribute('aria-label')).map((c) => c.outerHTML)`;

let data: string;
let instance: Instance;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Errors the page logged (a CSP violation shows up here too). */
const consoleErrors: string[] = [];

function chromiumPath(): string {
  // Debian's /usr/bin/chromium is a wrapper script; the binary itself starts quicker.
  return ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => fs.existsSync(p)) ?? 'chromium';
}

async function screenshot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** What the page knows about the injected script: undefined unless it ran. (Strings, not functions: this file has no DOM types.) */
function pwned(target: Page = page): Promise<unknown> {
  return target.evaluate('window.__pwned');
}

function dav(method: string, davPath: string, body?: string, headers: string[] = []): string {
  const args = ['-sS', '--max-time', '10', '-u', `alice:${PASSWORD}`, '-X', method, ...headers.flatMap((h) => ['-H', h])];
  if (body !== undefined) args.push('-H', 'content-type: application/xml; charset=utf-8', '--data-binary', body);
  return tool('curl', [...args, `${instance.httpUrl}${davPath}`]).stdout;
}

/** Every card in the default address book, as CardDAV returns them. */
function cardsOverCardDav(): string {
  return dav(
    'REPORT',
    '/dav/alice/contacts/default/',
    '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter/></C:addressbook-query>',
    ['Depth: 1'],
  );
}

/** Debian's python3 (where python3-caldav is), whatever else is first on PATH. */
function python(script: string): any {
  const out = execFileSync(fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

test.before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  data = tempDir('webui');
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: `${PASSWORD}\n` }).status, 0);
  instance = await startInstance(data);
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] });
  context = await browser.newContext({ timezoneId: 'Europe/Berlin', locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
});

test.after(async () => {
  await browser?.close();
  await instance?.stop();
});

test('sign in: a wrong password is refused on the page, the right one opens the dashboard', async () => {
  await page.goto(`${instance.httpUrl}/`);
  assert.is(new URL(page.url()).pathname, '/ui/');
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
  await screenshot('login-refused');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.getByRole('rowheader', { name: 'imap', exact: true }).waitFor();
  assert.match((await page.textContent('main')) ?? '', /All services running/);
  await screenshot('dashboard');
});

test('over HTTPS the session cookie is also Secure; a forged Origin cannot sign out', () => {
  const cert = path.join(data, 'secrets', 'tls', 'cert.pem');
  const signIn = tool('curl', ['-sS', '--cacert', cert, '-D', '-', '-o', '/dev/null', '-H', 'content-type: application/json', '--data', JSON.stringify({ user: 'alice', password: PASSWORD }),
    `https://localhost:${8443 + instance.portBase}/ui/api/session`]);
  const cookie = /^set-cookie: (.*)$/im.exec(signIn.stdout)?.[1]?.trim() ?? '';
  assert.match(cookie, /^nymote_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict; Secure$/, signIn.stdout);
  const session = cookie.split(';')[0]!;
  const signOut = tool('curl', ['-sS', '--cacert', cert, '-o', '/dev/null', '-w', '%{http_code}', '-X', 'DELETE', '-H', `cookie: ${session}`, '-H', 'origin: https://evil.example',
    `https://localhost:${8443 + instance.portBase}/ui/api/session`]);
  assert.is(signOut.stdout, '403');
});

test('keyboard and labels: the skip link comes first, every control has a label', async () => {
  await page.reload();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await page.keyboard.press('Tab');
  assert.is(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
  await page.goto(`${instance.httpUrl}/ui/#/users`);
  await page.getByRole('heading', { name: 'Users' }).waitFor();
  assert.equal(await page.evaluate(UNLABELLED_CONTROLS), []);
  await screenshot('users');
});

test('contacts: a contact made in the UI is seen over CardDAV; a script in its name stays text', async () => {
  await page.goto(`${instance.httpUrl}/ui/#/contacts`);
  await page.getByRole('button', { name: 'New contact' }).click();
  await page.getByLabel('Name', { exact: true }).fill(HOSTILE);
  await page.getByLabel('Email').fill('eve@example.org');
  await page.getByLabel('Phone').fill('+44 20 7946 0000');
  await page.getByLabel('Organization').fill('Example; Ltd, \\ Co');
  assert.equal(await page.evaluate(UNLABELLED_CONTROLS), []);
  await page.getByRole('button', { name: 'Save' }).click();
  const listed = page.getByRole('region', { name: 'Contact list' }).getByRole('link', { name: /Eve/ });
  await listed.waitFor();
  assert.match((await listed.textContent()) ?? '', /<script>window.__pwned=2<\/script>/);
  await screenshot('contacts');
  assert.is(await pwned(), undefined);

  const cards = cardsOverCardDav();
  assert.match(cards, /FN:&lt;img src=x onerror="window.__pwned=1"&gt;Eve &lt;script&gt;window.__pwned=2&lt;\/script&gt;|FN:&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;Eve/);
  assert.match(cards, /EMAIL[^:]*:eve@example.org/);
  assert.match(cards, /ORG:Example\\; Ltd\\, \\\\ Co/);

  // Edited in the UI: CardDAV sees the new phone number.
  await listed.click();
  await page.getByLabel('Phone').fill('+44 20 7946 0999');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: /Saved/ }).waitFor();
  assert.match(cardsOverCardDav(), /TEL[^:]*:\+44 20 7946 0999/);

  // Search narrows the list.
  await page.getByLabel('Search').fill('nobody-matches-this');
  await page.getByRole('region', { name: 'Contact list' }).getByRole('link', { name: /Eve/ }).waitFor({ state: 'detached' });
  await page.getByLabel('Search').fill('eve@');
  await page.getByRole('region', { name: 'Contact list' }).getByRole('link', { name: /Eve/ }).waitFor();
});

test('calendar: a weekly event made in the UI keeps its local time across the change to summer time, in the UI and over CalDAV', async () => {
  // The browser is in Berlin: summer time starts on 31 March 2030, between the 3rd and 4th instance.
  await page.goto(`${instance.httpUrl}/ui/#/calendar?view=month&date=2030-03-01`);
  await page.getByRole('button', { name: 'New event' }).click();
  await page.getByLabel('Title').fill('Standup <b>daily</b>');
  await page.getByLabel('Start').fill('2030-03-11T09:00');
  await page.getByLabel('End', { exact: true }).fill('2030-03-11T09:30');
  await page.getByLabel('Repeat').selectOption({ label: 'Weekly' });
  await page.getByLabel('Ends after (times)').fill('4');
  assert.equal(await page.evaluate(UNLABELLED_CONTROLS), []);
  await screenshot('calendar-form');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.goto(`${instance.httpUrl}/ui/#/calendar?view=month&date=2030-03-01`);
  await page.getByRole('link', { name: /Standup <b>daily<\/b>/ }).first().waitFor();
  await screenshot('calendar-month');
  // Before and after the change: 09:00 both times.
  for (const week of ['2030-03-25', '2030-04-01']) {
    await page.goto(`${instance.httpUrl}/ui/#/calendar?view=week&date=${week}`);
    const occurrence = page.getByRole('link', { name: /Standup/ });
    await occurrence.waitFor();
    assert.match((await occurrence.textContent()) ?? '', /09:00/, week);
  }
  await screenshot('calendar-week');

  let seen = springOverCalDav();
  assert.equal(seen.summaries, ['Standup <b>daily</b>']);
  assert.equal(seen.starts, ['2030-03-11T08:00:00+00:00', '2030-03-18T08:00:00+00:00', '2030-03-25T08:00:00+00:00', '2030-04-01T07:00:00+00:00']);

  // Edited in the UI (the whole series): CalDAV sees the new title on every instance.
  await page.getByRole('link', { name: /Standup/ }).first().click();
  await page.getByLabel('Title').fill('Standup, moved');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('link', { name: /Standup, moved/ }).first().waitFor();
  seen = springOverCalDav();
  assert.equal(seen.summaries, ['Standup, moved']);
  assert.is(seen.starts.length, 4);
});

/** The events of March and April 2030 as python3-caldav sees them, recurrences expanded, starts in UTC. */
function springOverCalDav(): { starts: string[]; summaries: string[] } {
  return python(`
import caldav, json
from datetime import datetime, timezone
client = caldav.DAVClient(url='${instance.httpUrl}/dav/', username='alice', password='${PASSWORD}')
calendar = client.principal().calendars()[0]
found = calendar.date_search(datetime(2030, 3, 1, tzinfo=timezone.utc), datetime(2030, 5, 1, tzinfo=timezone.utc), expand=True)
starts = []
summaries = set()
for event in found:
    for component in event.icalendar_instance.walk('VEVENT'):
        starts.append(component.get('dtstart').dt.astimezone(timezone.utc).isoformat())
        summaries.add(str(component.get('summary')))
print(json.dumps({'starts': sorted(starts), 'summaries': sorted(summaries)}))
`);
}

test('mail: a message delivered over SMTP is read in the UI; a script in its subject and HTML body never runs', async () => {
  const html = `<p>Lunch at <b>noon</b>?</p><script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">`;
  python(`
import smtplib, json
from email.message import EmailMessage
m = EmailMessage()
m['From'] = 'Bob <bob@example.org>'
m['To'] = 'alice@localhost'
m['Subject'] = ${JSON.stringify(HOSTILE)}
m.set_content('Lunch at noon?')
m.add_alternative(${JSON.stringify(html)}, subtype='html')
s = smtplib.SMTP('127.0.0.1', ${2525 + instance.portBase}, timeout=20)
s.send_message(m)
s.quit()
print(json.dumps('sent'))
`);
  await page.goto(`${instance.httpUrl}/ui/#/mail?mailbox=INBOX`);
  const message = page.getByRole('link', { name: /Eve/ });
  await message.waitFor();
  await screenshot('mail-list');
  await message.click();
  await page.getByRole('heading', { name: /<script>window.__pwned=2<\/script>/ }).waitFor();
  assert.match((await page.textContent('main')) ?? '', /Lunch at noon\?/);
  await screenshot('mail-message');
  assert.is(await pwned(), undefined);
  await page.getByRole('navigation', { name: 'Mailboxes' }).getByRole('link', { name: /Inbox/ }).click();
  await page.getByRole('region', { name: 'Inbox' }).getByRole('link', { name: 'History' }).click();
  await page.getByRole('heading', { name: /History of/ }).waitFor();
  await screenshot('mail-history');
});

test("history: the contact's last change is reverted in the UI, and CardDAV sees the card as it was", async () => {
  await page.goto(`${instance.httpUrl}/ui/#/history?path=contacts`);
  const commits = page.getByRole('main').getByRole('list').getByRole('link');
  await commits.first().waitFor();
  await screenshot('history');
  // The newest change below contacts/ was the new phone number.
  await commits.first().click();
  await page.getByRole('button', { name: 'Revert this change' }).waitFor();
  assert.match((await page.textContent('main')) ?? '', /- TEL:\+44 20 7946 0000/);
  assert.match((await page.textContent('main')) ?? '', /\+ TEL:\+44 20 7946 0999/);
  await screenshot('history-commit');
  await page.getByRole('button', { name: 'Revert this change' }).click();
  await page.getByText('Reverted.').waitFor();
  await screenshot('history-reverted');
  const card = cardsOverCardDav();
  assert.match(card, /TEL[^:]*:\+44 20 7946 0000/);
  assert.not.match(card, /7946 0999/);
  assert.match(card, /eve@example.org/);
});

/** Runs `nymote ARGS` on a pseudo-terminal, answering prompts as test/_lib/pty_expect.py is told; resolves with the screen. */
function onPty(argv: string[], steps: [pattern: string, reply: string | null][]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('python3', [path.join(REPO, 'test', '_lib', 'pty_expect.py'), process.execPath, NYMOTE, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
    let screen = '';
    child.stdout.on('data', (chunk) => (screen += chunk));
    child.on('close', () => resolve(screen));
    child.stdin.end(JSON.stringify(steps));
  });
}

test("devices: pairing started in the browser with `nymote pair` on the owner's computer; both show the same code", async () => {
  const laptop = tempDir('webui-owner');
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', laptop], { input: `${PASSWORD}\n` }).status, 0);
  assert.is(nymote(['owner', 'init', '--data', laptop]).status, 0);
  await page.goto(`${instance.httpUrl}/ui/#/devices`);
  await page.getByRole('button', { name: 'Start pairing' }).click();
  await page.getByText(`nymote pair 127.0.0.1:${7171 + instance.portBase}`).waitFor();
  const owner = onPty(['pair', `127.0.0.1:${7171 + instance.portBase}`, '--data', laptop], [
    ['Code: \\d{3} \\d{3}', null],
    ['\\[y/N\\] ', 'y'],
    ['paired: ', null],
  ]);
  const code = page.getByTestId('pairing-code');
  await code.waitFor({ timeout: 60_000 });
  const shown = await code.textContent();
  await screenshot('devices-pairing');
  await page.getByRole('button', { name: 'Yes, the same' }).click();
  await page.getByText('Paired: this device is').waitFor({ timeout: 60_000 });
  const ownerScreen = await owner;
  assert.is(/Code: (\d{3} \d{3})/.exec(ownerScreen)?.[1], shown, ownerScreen);
  assert.match(ownerScreen, /EXIT 0/, ownerScreen);
  await screenshot('devices-paired');
});

test('bad input: a forged CSRF token is refused; an ended session goes back to the sign-in page', async () => {
  const forged = await page.evaluate(`fetch('/ui/api/users', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': 'forged' }, body: JSON.stringify({ name: 'mallory', password: 'a long enough password' }) }).then((r) => r.status)`);
  assert.is(forged, 403);
  assert.not.match(nymote(['user', 'list', '--data', data]).stdout, /mallory/);
  await context.clearCookies();
  await page.goto(`${instance.httpUrl}/ui/#/contacts`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  // With the page open and the session gone, the next action lands on the sign-in page too.
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Contacts' }).waitFor();
  await context.clearCookies();
  await page.getByLabel('Search').fill('a');
  await page.getByText('Your session has ended').waitFor();
  assert.equal(consoleErrors.filter((e) => !/status of 40[13]/.test(e)), [], 'no script errors, no CSP violations');
});

/** The pages and states an accessibility check visits: [screenshot-free label, hash route]. */
const A11Y_ROUTES = ['dashboard', 'mail?mailbox=INBOX', 'contacts', 'contacts/new', 'calendar?view=month&date=2030-03-01', 'calendar?view=week&date=2030-03-11', 'calendar/new?date=2030-03-11', 'history', 'devices', 'users'];

test('accessibility: axe-core finds no WCAG 2 A or AA violation (contrast included) on any page, light or dark', async () => {
  // Only this context lets axe's script in past the CSP; the others check that the CSP holds.
  const checked = await browser.newContext({ bypassCSP: true, timezoneId: 'UTC' });
  try {
    const tab = await checked.newPage();
    const axe = path.join(REPO, 'node_modules', 'axe-core', 'axe.min.js');
    const violations = async (where: string) => {
      await tab.addScriptTag({ path: axe });
      const found = (await tab.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
        .then((r) => r.violations.map((v) => v.id + ' (' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ') + ')'))`)) as string[];
      return found.map((v) => `${where}: ${v}`);
    };
    const problems: string[] = [];
    const schemes = ['light', 'dark'] as const;
    await tab.goto(`${instance.httpUrl}/ui/`);
    for (const scheme of schemes) {
      await tab.emulateMedia({ colorScheme: scheme });
      await tab.getByLabel('User name').waitFor();
      problems.push(...(await violations(`${scheme} sign-in`)));
    }
    await tab.getByLabel('User name').fill('alice');
    await tab.getByLabel('Password').fill(PASSWORD);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByRole('heading', { name: 'Dashboard' }).waitFor();
    for (const scheme of schemes) {
      await tab.emulateMedia({ colorScheme: scheme });
      for (const route of A11Y_ROUTES) {
        await tab.goto(`${instance.httpUrl}/ui/#/${route}`);
        await tab.waitForLoadState('networkidle');
        problems.push(...(await violations(`${scheme} #/${route}`)));
      }
    }
    assert.equal(problems, []);
  } finally {
    await checked.close();
  }
});

test('on a phone: every page fits the screen without scrolling sideways', async () => {
  const width = 390;
  const phone = await browser.newContext({ viewport: { width, height: 844 }, isMobile: true, hasTouch: true, timezoneId: 'UTC' });
  try {
    const small = await phone.newPage();
    await small.goto(`${instance.httpUrl}/ui/`);
    await small.getByLabel('User name').fill('alice');
    await small.getByLabel('Password').fill(PASSWORD);
    await small.getByRole('button', { name: 'Sign in' }).click();
    for (const [route, heading] of [['dashboard', 'Dashboard'], ['contacts', 'Contacts'], ['calendar', 'Calendar'], ['mail', 'Mail'], ['history', 'History'], ['devices', 'Devices'], ['users', 'Users']] as const) {
      await small.goto(`${instance.httpUrl}/ui/#/${route}`);
      await small.getByRole('heading', { name: heading, exact: true }).first().waitFor();
      // (On a phone the layout viewport grows to fit content that is too wide: compare with the screen.)
      assert.ok(Number(await small.evaluate('document.documentElement.scrollWidth')) <= width, `${route} fits in ${width} px`);
      await screenshot(`phone-${route}`, small);
    }
  } finally {
    await phone.close();
  }
});

test.run();
