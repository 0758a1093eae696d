/** The host run, end to end: `nymote run`, /health with curl, the console socket, signals. */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NYMOTE, nymote, startInstance, tool } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

test('run answers /health and / over HTTP (curl), and stops cleanly on SIGTERM', async () => {
  const data = tempDir();
  const instance = await startInstance(data);
  try {
    const health = tool('curl', ['-sS', '--max-time', '5', '-w', '\\n%{http_code}', `${instance.httpUrl}/health`]);
    const [body, code] = [health.stdout.slice(0, health.stdout.lastIndexOf('\n')), health.stdout.slice(health.stdout.lastIndexOf('\n') + 1)];
    assert.is(code, '200', health.stderr);
    const report = JSON.parse(body);
    assert.is(report.status, 'ok');
    assert.is(report.version, JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
    assert.is(report.mode, 'host');
    assert.type(report.uptimeSeconds, 'number');
    assert.is(report.services.http.state, 'running');
    assert.is(report.services.console.state, 'running');
    assert.equal(report.services.http.listen, [new URL(instance.httpUrl).host]);

    const root = tool('curl', ['-sS', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `${instance.httpUrl}/`]);
    assert.is(root.stdout, `303 ${instance.httpUrl}/ui/`);
    const page = tool('curl', ['-sS', '--max-time', '5', `${instance.httpUrl}/status`]);
    assert.match(page.stdout, /<h1>Nymote<\/h1>/);
    assert.match(page.stdout, /<td>http<\/td><td class="running">running<\/td>/);

    const missing = tool('curl', ['-sS', '-w', '%{http_code}', '-o', '/dev/null', `${instance.httpUrl}/nope`]);
    assert.is(missing.stdout, '404');
    const wrongMethod = tool('curl', ['-sS', '-X', 'DELETE', '-D', '-', '-o', '/dev/null', `${instance.httpUrl}/health`]);
    assert.match(wrongMethod.stdout, /^HTTP\/1.1 405/);
    assert.match(wrongMethod.stdout, /allow: GET/i);
    const hugeHeader = tool('curl', ['-sS', '-w', '%{http_code}', '-o', '/dev/null', '-H', `x-big: ${'a'.repeat(20_000)}`, `${instance.httpUrl}/health`]);
    assert.is(hugeHeader.stdout, '431');
  } finally {
    const code = await instance.stop('SIGTERM');
    assert.is(code, 0, instance.output());
  }
  assert.match(instance.output(), /msg="stopped"/);
  assert.not.ok(fs.existsSync(path.join(data, 'run', 'console.sock')), 'console socket removed');
  assert.ok(fs.readFileSync(path.join(data, 'log', 'nymote.log'), 'utf8').includes('msg="stopped"'), 'log flushed to file');
});

test('SIGINT stops it too, with exit status 0', async () => {
  const instance = await startInstance(tempDir());
  assert.is(await instance.stop('SIGINT'), 0, instance.output());
});

test('nymote console attaches over the local socket and runs commands', async () => {
  const data = tempDir();
  const instance = await startInstance(data);
  try {
    const session = nymote(['console', '--data', data], { input: 'status\nversion\nbogus\nhelp\n' });
    assert.is(session.status, 0, session.stderr);
    assert.match(session.stdout, /nymote \d+\.\d+\.\d+ · host mode · up \d+s · ok/);
    assert.match(session.stdout, /http\s+running\s+127\.0\.0\.1:\d+/);
    assert.match(session.stdout, /nymote \d+\.\d+\.\d+ \(node v20/);
    assert.match(session.stdout, /unknown command 'bogus'/);
    assert.match(session.stdout, /status\s+version, uptime/);
    const quit = nymote(['console', '--data', data], { input: 'quit\nstatus\n' });
    assert.is(quit.status, 0);
    assert.is(quit.stdout, '', 'nothing runs after quit');
    assert.is(fs.statSync(path.join(data, 'run', 'console.sock')).mode & 0o777, 0o600);
  } finally {
    await instance.stop();
  }
  const gone = nymote(['console', '--data', data]);
  assert.is(gone.status, 1);
  assert.match(gone.stderr, /^nymote: no running nymote on this data directory/);
});

test('the terminal console works through a pty: status, version, quit stops the firmware', () => {
  const data = tempDir();
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '_lib', 'pty_session.py');
  const result = tool('python3', [script, process.execPath, NYMOTE, 'run', '--data', data, '--port-base', String(20000 + Math.floor(Math.random() * 20000))], JSON.stringify(['status', 'version', 'quit']));
  assert.is(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /nymote> /);
  assert.match(result.stdout, /host mode · up \d+s/);
  assert.match(result.stdout, /\(node v20/);
  assert.match(result.stdout, /EXIT 0/);
});

test('a port in use: one line naming the port and service, exit 1, nothing left running', async () => {
  const data = tempDir();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const result = nymote(['run', '--data', data, '--http', String(port), '--console', 'none']);
    assert.is(result.status, 1);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('nymote:'));
    assert.equal(errors, [`nymote: port ${port} (http) is already in use on 127.0.0.1`]);
    assert.not.ok(fs.existsSync(path.join(data, 'run', 'console.sock')), 'console stopped and cleaned up');
  } finally {
    blocker.close();
  }
});

test('a second instance on the same data directory is refused', async () => {
  const data = tempDir();
  const instance = await startInstance(data);
  try {
    const second = nymote(['run', '--data', data, '--port-base', '30', '--console', 'none']);
    assert.is(second.status, 1);
    assert.match(second.stderr, /nymote: another nymote is already running on this data directory/);
    const health = tool('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${instance.httpUrl}/health`]);
    assert.is(health.stdout, '200', 'the first one is unharmed');
  } finally {
    await instance.stop();
  }
});

test.run();
