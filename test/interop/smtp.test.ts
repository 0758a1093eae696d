/**
 * SMTP submission and inbound SMTP in-process, driven by real clients: python's smtplib
 * (STARTTLS, AUTH, sendmail, refusals, an over-size message) and swaks; the outbound queue
 * sends through a fake smarthost (smtp-server with STARTTLS and AUTH) that accepts, defers
 * once with a 4xx and refuses with a 5xx, and the queue survives a restart of the service.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SmtpService, saveSmarthost, type SmtpDependencies, type SmtpLimits } from '../../firmware/apps/mail/smtp/index.js';
import { makeSelfSignedCertificate } from '../../firmware/http/tls.js';
import { LogSink } from '../../firmware/runtime/log.js';
import { Store } from '../../firmware/store/index.js';
import { tempDir } from '../_lib/tmp.js';

const PASSWORD = 'alice-secret-pass-1';
const RELAY_PASSWORD = 'relay-secret-pass-2';
const USERS = new Set(['alice', 'bob']);

const dir = tempDir('smtp');
const configDir = path.join(dir, 'config');
const secretsDir = path.join(dir, 'secrets');
const caFile = path.join(dir, 'ca.pem');
let tlsCert = makeSelfSignedCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] });
const stores = new Map<string, Store>();
const delivered: { user: string; mailbox: string | undefined; text: string }[] = [];
const sink = new LogSink({ stderr: false, ringSize: 10_000 });

const deps: SmtpDependencies = {
  log: sink.logger(),
  tls: () => tlsCert,
  authenticate: async (user, password) => {
    if (user === 'alice' && password === PASSWORD) return { ok: true, user: 'alice' };
    if (user === 'limited') return { ok: false, temporary: true, message: 'too many failed logins; try again in 5 s' };
    return { ok: false, temporary: false, message: 'wrong user name or password' };
  },
  localDomains: () => ['example.org', 'nymote.home.arpa'],
  userOf: (address) => {
    const name = address.slice(0, address.lastIndexOf('@')).split('+')[0]!.toLowerCase();
    return USERS.has(name) ? name : undefined;
  },
  deliver: async (user, message, mailbox) => {
    delivered.push({ user, mailbox, text: message.toString('latin1') });
  },
  store: (user) => {
    let store = stores.get(user);
    if (store === undefined) {
      store = Store.open(path.join(dir, 'store', `${user}.git`), { durability: 'none' });
      stores.set(user, store);
    }
    return store;
  },
  configDir,
  secretsDir,
};

const QUICK_QUEUE: Partial<SmtpLimits> = { retryDelaysMs: [300], queuePollMs: 200, closeTimeoutMs: 500 };
let submission: SmtpService;
let inbound: SmtpService;
let small: SmtpService;
let submissionPort: number;
let inboundPort: number;
let smallPort: number;

const portOf = (service: SmtpService) => Number(service.describe().listen![0]!.split(':').pop());

// ---------------------------------------------------------------------------------------------
// The fake smarthost: STARTTLS required, one login, per-recipient answers by address.

interface Relayed {
  from: string;
  to: string[];
  text: string;
  user: string;
  secure: boolean;
}
const relayed: Relayed[] = [];
const relayRcpts: string[] = [];
let relayMode: 'normal' | 'defer-all' = 'normal';
const deferredOnce = new Set<string>();
const relayCert = makeSelfSignedCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] });
const relay = new SMTPServer({
  ...relayCert,
  logger: false,
  disableReverseLookup: true,
  authMethods: ['PLAIN', 'LOGIN'],
  onAuth: (auth, _session, done) =>
    auth.username === 'relayuser' && auth.password === RELAY_PASSWORD ? done(null, { user: 'relayuser' }) : done(Object.assign(new Error('bad login'), { responseCode: 535 })),
  onRcptTo: (address, _session, done) => {
    relayRcpts.push(address.address);
    if (relayMode === 'defer-all') return done(Object.assign(new Error('4.3.0 relay busy'), { responseCode: 451 }));
    if (address.address === 'reject@far.example') return done(Object.assign(new Error('5.1.1 <reject@far.example>: user unknown'), { responseCode: 550 }));
    if (address.address === 'defer@far.example' && !deferredOnce.has(address.address)) {
      deferredOnce.add(address.address);
      return done(Object.assign(new Error('4.2.1 mailbox busy, try later'), { responseCode: 450 }));
    }
    done();
  },
  onData: (stream, session, done) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      relayed.push({
        from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((r) => r.address),
        text: Buffer.concat(chunks).toString('latin1'),
        user: String(session.user),
        secure: session.secure,
      });
      done();
    });
  },
});
let relayPort: number;

// ---------------------------------------------------------------------------------------------
// Clients

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without blocking the event loop (the servers under test live in it). */
function run(command: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a program that reads no input closes the pipe early
    child.stdin.end(input);
  });
}

/**
 * smtplib steps, each answered with [code, text] (or ['refused', {rcpt: [code, text]}],
 * ['not-supported', …], ['disconnected', …]).
 */
const SMTPLIB_DRIVER = String.raw`
import hashlib, json, smtplib, ssl, sys
cfg = json.load(sys.stdin)
s = smtplib.SMTP('127.0.0.1', cfg['port'], local_hostname='client.example', timeout=30)
out = []
def text(b):
    return b.decode('latin1') if isinstance(b, bytes) else str(b)
def step(fn):
    try:
        out.append(fn())
    except smtplib.SMTPRecipientsRefused as e:
        out.append(['refused', {k: [v[0], text(v[1])] for k, v in e.recipients.items()}])
    except smtplib.SMTPSenderRefused as e:
        out.append([e.smtp_code, text(e.smtp_error)])
    except smtplib.SMTPResponseException as e:
        out.append([e.smtp_code, text(e.smtp_error)])
    except smtplib.SMTPNotSupportedError as e:
        out.append(['not-supported', str(e)])
    except smtplib.SMTPServerDisconnected as e:
        out.append(['disconnected', str(e)])
def starttls():
    code, _ = s.starttls(context=ssl.create_default_context(cafile=cfg['ca']))
    return [code, hashlib.sha256(s.sock.getpeercert(True)).hexdigest()]
def sendmail(sender, rcpts, msg, options=[]):
    refused = s.sendmail(sender, rcpts, msg, options)
    return ['sent', {k: [v[0], text(v[1])] for k, v in refused.items()}]
for op, *args in cfg['steps']:
    if op == 'ehlo': step(lambda: [s.ehlo()[0], text(s.ehlo_resp)])
    elif op == 'starttls': step(starttls)
    elif op == 'login': step(lambda: (lambda r: [r[0], text(r[1])])(s.login(args[0], args[1])))
    elif op == 'cmd': step(lambda: (lambda r: [r[0], text(r[1])])(s.docmd(args[0])))
    elif op == 'sendmail': step(lambda: sendmail(*args))
    elif op == 'data': step(lambda: (lambda r: [r[0], text(r[1])])(s.data(args[0])))
    elif op == 'quit': step(lambda: list(s.quit())[:1])
print(json.dumps(out))
`;

type Step = [string, ...unknown[]];
type Answer = [number | string, unknown];

async function smtplib(port: number, steps: Step[]): Promise<Answer[]> {
  const result = await run('/usr/bin/python3', ['-c', SMTPLIB_DRIVER], JSON.stringify({ port, ca: caFile, steps }));
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Answer[];
}

function swaks(port: number, args: string[]): Promise<Run> {
  return run('swaks', ['--server', `127.0.0.1:${port}`, '--helo', 'client.example', '--timeout', '30', ...args]);
}

/** A raw connection: write lines, read replies; for what no polite client sends. */
class RawClient {
  private buffer = '';
  private closed = false;
  private readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => (this.buffer += d.toString('latin1')));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => (this.closed = true));
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Waits for a complete reply line matching `pattern`; returns everything read so far. */
  async expect(pattern: RegExp, ms = 10_000): Promise<string> {
    await waitFor(() => pattern.test(this.buffer) || this.closed, ms, `reply ${pattern}`);
    assert.match(this.buffer, pattern);
    return this.buffer;
  }

  async waitClosed(ms = 10_000): Promise<void> {
    await waitFor(() => this.closed, ms, 'connection closed');
  }

  close(): void {
    this.socket.destroy();
  }
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const message = (from: string, to: string, subject: string, body = 'Hello there.\n') => `From: ${from}\nTo: ${to}\nSubject: ${subject}\n\n${body}`;
const inboxOf = (user: string) => delivered.filter((d) => d.user === user);
const queueOf = (user: string) => deps.store(user).branch().list('mail-queue');

// ---------------------------------------------------------------------------------------------

test.before(async () => {
  fs.writeFileSync(caFile, tlsCert.cert);
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
  relayPort = (relay.server.address() as net.AddressInfo).port;
  submission = new SmtpService('submission', '127.0.0.1', 0, deps, QUICK_QUEUE);
  inbound = new SmtpService('inbound', '127.0.0.1', 0, deps);
  small = new SmtpService('inbound', '127.0.0.1', 0, deps, { maxMessageBytes: 64 * 1024, idleTimeoutMs: 1000, maxConnections: 2, maxRecipients: 5 });
  await submission.start();
  await inbound.start();
  await small.start();
  submissionPort = portOf(submission);
  inboundPort = portOf(inbound);
  smallPort = portOf(small);
});

test.after(async () => {
  await submission.stop();
  await inbound.stop();
  await small.stop();
  await new Promise<void>((resolve) => relay.close(() => resolve()));
});

test('submission: no AUTH before STARTTLS, no mail before AUTH; then alice sends to local users', async () => {
  const answers = await smtplib(submissionPort, [
    ['ehlo'],
    ['login', 'alice', PASSWORD],
    ['cmd', 'MAIL FROM:<alice@example.org>'],
    ['cmd', 'AUTH PLAIN AGFsaWNlAHg='],
    ['starttls'],
    ['ehlo'],
    ['cmd', 'MAIL FROM:<alice@example.org>'],
    ['cmd', 'RSET'],
    ['login', 'alice', PASSWORD],
    ['sendmail', 'alice@example.org', ['bob@example.org', 'Bob+lists@nymote.home.arpa', 'alice@example.org'], message('alice@example.org', 'bob@example.org', 'lunch')],
    ['quit'],
  ]);
  const [ehlo, login, mailFrom, clearAuth, starttls, ehloTls, mailNoAuth, , loginTls, sent] = answers;
  assert.is(ehlo![0], 250);
  assert.match(String(ehlo![1]), /STARTTLS/);
  assert.match(String(ehlo![1]), /SIZE 26214400/);
  assert.match(String(ehlo![1]), /ENHANCEDSTATUSCODES/);
  assert.not.match(String(ehlo![1]), /AUTH/, 'AUTH is not offered in clear');
  assert.is(login![0], 'not-supported', 'smtplib refuses to log in without AUTH offered');
  assert.equal(mailFrom, [530, '5.7.0 authentication required']);
  assert.is(clearAuth![0], 538, 'AUTH in clear is refused');
  assert.is(starttls![0], 220);
  assert.is(starttls![1], crypto.createHash('sha256').update(new crypto.X509Certificate(tlsCert.cert).raw).digest('hex'));
  assert.match(String(ehloTls![1]), /AUTH PLAIN LOGIN/);
  assert.not.match(String(ehloTls![1]), /STARTTLS/);
  assert.equal(mailNoAuth, [530, '5.7.0 authentication required']);
  assert.equal(loginTls, [235, '2.7.0 Authentication successful']);
  assert.equal(sent, ['sent', {}]);

  const bob = inboxOf('bob');
  assert.is(bob.length, 1, 'bob and Bob+lists are one delivery');
  assert.is(bob[0]!.mailbox, 'INBOX');
  assert.match(bob[0]!.text, /^Return-Path: <alice@example.org>\r\nReceived: from client.example\r\n\tby \S+ with ESMTPSA id \S+;\r\n\t\w{3}, \d\d \w{3} \d{4} [\d:]{8} \+0000\r\n/);
  assert.not.match(bob[0]!.text, /127\.0\.0\.1/, "the submitting client's address is not recorded");
  assert.match(bob[0]!.text, /\r\nDate: .*\r\nMessage-ID: <[^>]+>\r\nFrom: alice@example.org\r\nTo: bob@example.org\r\nSubject: lunch\r\n\r\nHello there.\r\n$/);
  assert.is(inboxOf('alice').length, 1, 'alice sent to herself too; no copy in Sent');
  assert.ok(delivered.every((d) => d.mailbox === 'INBOX'));
  assert.equal(queueOf('alice'), [], 'local mail is not queued');
});

test('submission refusals: bad password, temporary lock-out, foreign sender, unknown user, no smarthost', async () => {
  const answers = await smtplib(submissionPort, [
    ['ehlo'],
    ['starttls'],
    ['ehlo'],
    ['login', 'alice', 'wrong password'],
    ['login', 'limited', 'whatever'],
    ['login', 'alice', PASSWORD],
    ['cmd', 'MAIL FROM:<bob@example.org>'],
    ['cmd', 'MAIL FROM:<alice@far.example>'],
    ['cmd', 'MAIL FROM:<>'],
    ['cmd', 'MAIL FROM:<alice+work@example.org>'],
    ['cmd', 'RCPT TO:<carol@example.org>'],
    ['cmd', 'RCPT TO:<b%far.example@example.org>'],
    ['cmd', 'RCPT TO:<someone@far.example>'],
    ['quit'],
  ]);
  assert.equal(answers[3], [535, '5.7.8 authentication credentials invalid']);
  assert.equal(answers[4], [454, '4.7.0 too many failed logins; try again in 5 s']);
  assert.is(answers[5]![0], 235);
  assert.equal(answers[6], [553, '5.7.1 sender address <bob@example.org> is not owned by user alice']);
  assert.equal(answers[7], [553, '5.7.1 sender address <alice@far.example> is not owned by user alice']);
  assert.equal(answers[8], [553, '5.7.1 the null sender is not allowed for submission']);
  assert.equal(answers[9], [250, '2.1.0 Accepted']);
  assert.equal(answers[10], [550, '5.1.1 <carol@example.org>: no such user here']);
  assert.equal(answers[11], [553, '5.1.3 mailbox name not allowed: characters not allowed in a local address']);
  assert.equal(answers[12], [550, '5.7.1 no smarthost configured for mail to other domains']);
  const log = sink.ring.join('\n');
  assert.match(log, /msg="login refused" user=alice/);
  assert.match(log, /msg="message refused" .*mailFrom=bob@example.org/);
});

test('swaks submits with STARTTLS and AUTH LOGIN or PLAIN; without TLS it is never offered AUTH', async () => {
  for (const mechanism of ['LOGIN', 'PLAIN']) {
    const ok = await swaks(submissionPort, ['--tls', '--auth', mechanism, '--auth-user', 'alice', '--auth-password', PASSWORD, '--from', 'alice@example.org', '--to', 'bob@example.org', '--header', `Subject: swaks ${mechanism}`]);
    assert.is(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /<~\s+235 2\.7\.0 Authentication successful/);
    assert.match(ok.stdout, /<~\s+250 2\.6\.0 /);
  }
  assert.ok(inboxOf('bob').some((d) => d.text.includes('Subject: swaks PLAIN')));
  const clear = await swaks(submissionPort, ['--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', PASSWORD, '--from', 'alice@example.org', '--to', 'bob@example.org']);
  assert.is.not(clear.status, 0);
  assert.not.match(clear.stdout, /-> AUTH/, 'no password went out in clear');
  const noAuth = await swaks(submissionPort, ['--tls', '--from', 'alice@example.org', '--to', 'bob@example.org']);
  assert.is.not(noAuth.status, 0);
  assert.match(noAuth.stdout, /<~\*? 530 5\.7\.0 authentication required/);
});

test('inbound: no AUTH, STARTTLS offered, mail for local users only — never an open relay', async () => {
  const answers = await smtplib(inboundPort, [
    ['ehlo'],
    ['cmd', 'AUTH PLAIN AGFsaWNlAHg='],
    ['cmd', 'MAIL FROM:<someone@far.example>'],
    ['cmd', 'RCPT TO:<b@far.example>'],
    ['cmd', 'RCPT TO:<@example.org:b@far.example>'],
    ['cmd', 'RCPT TO:<@a,@b:b@far.example>'],
    ['cmd', 'RCPT TO:<"b@far.example"@example.org>'],
    ['cmd', 'RCPT TO:<b%far.example@example.org>'],
    ['cmd', 'RCPT TO:<far.example!b@example.org>'],
    ['cmd', 'RCPT TO:<b@far.example.>'],
    ['cmd', 'RCPT TO:<alice@example.org.>'],
    ['cmd', 'RCPT TO:<alice@example.org.far.example>'],
    ['cmd', 'RCPT TO:<alice@[127.0.0.1]>'],
    ['cmd', 'RCPT TO:<carol@example.org>'],
    ['cmd', 'RCPT TO:<alice@EXAMPLE.org>'],
    ['cmd', 'RCPT TO:<alice+news@nymote.home.arpa>'],
    ['cmd', 'RCPT TO:<bob@example.org>'],
    ['quit'],
  ]);
  const ehlo = String(answers[0]![1]);
  assert.not.match(ehlo, /AUTH/);
  assert.match(ehlo, /STARTTLS/);
  assert.is(answers[1]![0], 500, 'AUTH is not a command here');
  assert.is(answers[2]![0], 250);
  const relayDenied = [550, '5.7.1 relaying denied: this server only receives mail for its own domains'];
  assert.equal(answers[3], relayDenied);
  assert.equal(answers[4], relayDenied, 'a source route is ignored, and what is left is foreign');
  assert.equal(answers[5], relayDenied);
  assert.is(answers[6]![0], 501, 'a quoted local part with @ is bad syntax');
  assert.equal(answers[7], [553, '5.1.3 mailbox name not allowed: characters not allowed in a local address']);
  assert.equal(answers[8], [553, '5.1.3 mailbox name not allowed: characters not allowed in a local address']);
  assert.is(answers[9]![0], 501, 'trailing dot');
  assert.is(answers[10]![0], 501, 'trailing dot on a local domain');
  assert.equal(answers[11], relayDenied);
  assert.equal(answers[12], relayDenied, 'address literals are not ours');
  assert.equal(answers[13], [550, '5.1.1 <carol@example.org>: no such user here']);
  for (const i of [14, 15, 16]) assert.equal(answers[i], [250, '2.1.5 Accepted']);

  const before = delivered.length;
  const sent = await smtplib(inboundPort, [
    ['ehlo'],
    ['starttls'],
    ['ehlo'],
    ['sendmail', 'someone@far.example', ['alice@example.org', 'ALICE+x@example.org', 'bob@nymote.home.arpa'], message('someone@far.example', 'alice@example.org', 'hello from afar')],
    ['quit'],
  ]);
  assert.equal(sent[3], ['sent', {}]);
  const fresh = delivered.slice(before);
  assert.equal(fresh.map((d) => d.user).sort(), ['alice', 'bob'], 'each user once');
  assert.match(fresh[0]!.text, /^Return-Path: <someone@far.example>\r\nReceived: from client.example \(\[127\.0\.0\.1\]\)\r\n\tby \S+ with ESMTPS id \S+;\r\n/);
  assert.match(fresh[0]!.text, /\r\nSubject: hello from afar\r\n\r\nHello there.\r\n$/);
  assert.not.match(fresh[0]!.text, /Message-ID/, 'inbound mail is stored as sent (plus trace lines)');
});

test('swaks against inbound: local delivery works, relaying is refused', async () => {
  const ok = await swaks(inboundPort, ['--from', 'someone@far.example', '--to', 'bob@example.org', '--tls']);
  assert.is(ok.status, 0, ok.stdout);
  const relayTry = await swaks(inboundPort, ['--from', 'bob@example.org', '--to', 'victim@far.example']);
  assert.is.not(relayTry.status, 0);
  assert.match(relayTry.stdout, /550 5\.7\.1 relaying denied/);
  const nullSender = await swaks(inboundPort, ['--from', '<>', '--to', 'alice@example.org']);
  assert.is(nullSender.status, 0, 'bounces from elsewhere are accepted');
});

test('size: SIZE advertised; an over-size message refused with 552 after DATA or at MAIL FROM; the session goes on', async () => {
  const big = message('someone@far.example', 'alice@example.org', 'big', `${'x'.repeat(100)}\n`.repeat(2000));
  const before = delivered.length;
  const answers = await smtplib(smallPort, [
    ['ehlo'],
    ['cmd', 'MAIL FROM:<someone@far.example>'],
    ['cmd', 'RCPT TO:<alice@example.org>'],
    ['data', big],
    ['sendmail', 'someone@far.example', ['alice@example.org'], big],
    ['cmd', 'RSET'],
    ['sendmail', 'someone@far.example', ['alice@example.org'], message('someone@far.example', 'alice@example.org', 'small')],
    ['sendmail', 'someone@far.example', ['alice@example.org'], 'Received: from a by b; x\n'.repeat(51) + message('someone@far.example', 'alice@example.org', 'loop')],
    ['quit'],
  ]);
  assert.match(String(answers[0]![1]), /SIZE 65536/);
  assert.equal(answers[7], [554, '5.4.6 too many Received lines (more than 50): a mail loop']);
  assert.equal(answers[3], [552, '5.3.4 Error: message exceeds fixed maximum message size 65536'], 'DATA without SIZE: read, counted, refused');
  assert.equal(answers[4], [552, '5.3.4 Error: message exceeds fixed maximum message size 65536'], 'smtplib declares SIZE: refused at MAIL FROM');
  assert.equal(answers[6], ['sent', {}]);
  assert.equal(delivered.slice(before).map((d) => d.text.includes('Subject: small')), [true]);
  assert.match(sink.ring.join('\n'), /msg="message refused" .*bytes=20\d{4}/);
});

test('bounds: recipients per message, bad commands, long lines, broken TLS, cut DATA, idle timeout, connections at once', async () => {
  const rcpts = await smtplib(smallPort, [
    ['ehlo'],
    ['cmd', 'MAIL FROM:<someone@far.example>'],
    ...[1, 2, 3, 4, 5, 6].map((n): Step => ['cmd', `RCPT TO:<alice+${n}@example.org>`]),
    ['cmd', 'FOO bar'],
    ['cmd', 'MAIL FROM:<x@far.example>'],
    ['cmd', 'VRFY alice'],
    ['cmd', `NOOP ${'a'.repeat(3000)}`],
    ['quit'],
  ]);
  assert.equal(rcpts[6], [250, '2.1.5 Accepted']);
  assert.equal(rcpts[7], [452, '4.5.3 Error: too many recipients']);
  assert.is(rcpts[8]![0], 500);
  assert.is(rcpts[9]![0], 503, 'nested MAIL');
  assert.is(rcpts[10]![0], 252, 'VRFY reveals nothing');

  const long = new RawClient(smallPort);
  await long.expect(/^220 /m);
  long.write(`EHLO ${'a'.repeat(10_000)}\r\n`);
  await long.expect(/421 .*too long/);
  await long.waitClosed();

  const http = new RawClient(smallPort);
  await http.expect(/^220 /m);
  http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await http.expect(/421 /);
  http.close();

  const badTls = new RawClient(inboundPort);
  await badTls.expect(/^220 /m);
  badTls.write('EHLO client.example\r\nSTARTTLS\r\n');
  await badTls.expect(/220 2\.0\.0 Ready to start TLS/);
  badTls.write('this is not a TLS client hello\r\n\r\n');
  await badTls.waitClosed();

  const before = delivered.length;
  const cut = new RawClient(inboundPort);
  await cut.expect(/^220 /m);
  cut.write('EHLO client.example\r\nMAIL FROM:<x@far.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n');
  await cut.expect(/354 /);
  cut.write('Subject: cut short\r\n\r\nhalf a mess');
  await new Promise((r) => setTimeout(r, 100));
  cut.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.is(delivered.length, before, 'nothing delivered from a message cut short');
  assert.is((await smtplib(inboundPort, [['ehlo'], ['quit']]))[0]![0], 250, 'still serving');

  const idle = new RawClient(smallPort);
  const greeting = await idle.expect(/^220 /m);
  assert.match(greeting, /^220 \S+ ESMTP\r\n$/, 'the banner names no software or version');
  await idle.expect(/421 4\.4\.2 Timeout/, 5000);
  await idle.waitClosed();

  const a = new RawClient(smallPort);
  const b = new RawClient(smallPort);
  await a.expect(/^220 /m);
  await b.expect(/^220 /m);
  const c = new RawClient(smallPort);
  await c.expect(/421 .*Too many connected clients/);
  a.close();
  b.close();
  c.close();
  await new Promise((r) => setTimeout(r, 100));
  const afterwards = await smtplib(smallPort, [['ehlo'], ['quit']]);
  assert.is(afterwards[0]![0], 250, 'still serving');
});

test('STARTTLS takes a renewed certificate without a restart', async () => {
  const old = tlsCert;
  tlsCert = makeSelfSignedCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] });
  fs.writeFileSync(caFile, tlsCert.cert);
  try {
    const answers = await smtplib(inboundPort, [['ehlo'], ['starttls'], ['quit']]);
    assert.is(answers[1]![1], crypto.createHash('sha256').update(new crypto.X509Certificate(tlsCert.cert).raw).digest('hex'));
  } finally {
    assert.ok(old !== tlsCert);
  }
});

test('queue: mail for other domains leaves through the smarthost; a 4xx is retried, a 5xx bounces', async () => {
  saveSmarthost(configDir, secretsDir, { host: '127.0.0.1', port: relayPort, security: 'starttls', user: 'relayuser', ca: relayCert.cert }, RELAY_PASSWORD);
  const before = delivered.length;
  const answers = await smtplib(submissionPort, [
    ['ehlo'],
    ['starttls'],
    ['ehlo'],
    ['login', 'alice', PASSWORD],
    ['sendmail', 'alice+work@example.org', ['carol@far.example', 'defer@far.example', 'reject@far.example', 'bob@example.org'], message('alice@example.org', 'carol@far.example', 'to the world')],
    ['quit'],
  ]);
  assert.equal(answers[4], ['sent', {}], 'accepted: queued for the smarthost');
  assert.equal(inboxOf('bob').slice(-1).map((d) => d.text.includes('Subject: to the world')), [true], 'the local recipient has it at once');

  await waitFor(() => relayed.length >= 2 && queueOf('alice').length === 0, 15_000, 'the queue to empty');
  const [first, second] = relayed.slice(-2);
  assert.equal(first!.to, ['carol@far.example'], 'the first attempt took carol; defer got a 450, reject a 550');
  assert.equal(second!.to, ['defer@far.example'], 'the retry took only the deferred recipient');
  for (const r of [first!, second!]) {
    assert.is(r.from, 'alice+work@example.org');
    assert.is(r.user, 'relayuser');
    assert.ok(r.secure, 'over STARTTLS');
    assert.match(r.text, /^Received: from client.example\r\n\tby \S+ with ESMTPSA id /);
    assert.match(r.text, /\r\nSubject: to the world\r\n/);
  }
  const bounces = delivered.slice(before).filter((d) => d.user === 'alice');
  assert.is(bounces.length, 1);
  assert.is(bounces[0]!.mailbox, 'INBOX');
  assert.match(bounces[0]!.text, /Content-Type: multipart\/report; report-type=delivery-status;/);
  assert.match(bounces[0]!.text, /Final-Recipient: rfc822; reject@far.example\r\nAction: failed\r\nStatus: 5\.1\.1\r\n/);
  assert.match(bounces[0]!.text, /Diagnostic-Code: smtp; 550 5\.1\.1 <reject@far.example>: user unknown/);
  assert.not.match(bounces[0]!.text, /Final-Recipient: rfc822; (carol|defer)@/);

  const history = deps.store('alice').branch().history().map((h) => h.message);
  assert.ok(history.length >= 3, 'queued, attempt, done: one commit each');
  assert.ok(history.every((m) => m.startsWith('mail-queue: ')));
});

test('queue: a restart finds the queue and sends what waited', async () => {
  relayMode = 'defer-all';
  const relayedBefore = relayed.length;
  const answers = await smtplib(submissionPort, [
    ['ehlo'],
    ['starttls'],
    ['ehlo'],
    ['login', 'alice', PASSWORD],
    ['sendmail', 'alice@example.org', ['dave@far.example'], message('alice@example.org', 'dave@far.example', 'after the restart')],
    ['quit'],
  ]);
  assert.equal(answers[4], ['sent', {}]);
  await waitFor(() => relayRcpts.filter((r) => r === 'dave@far.example').length >= 1, 10_000, 'a first, deferred attempt');
  await submission.stop();
  assert.is(queueOf('alice').length, 1, 'still queued while stopped');
  relayMode = 'normal';
  submission = new SmtpService('submission', '127.0.0.1', 0, deps, QUICK_QUEUE);
  await submission.start();
  submissionPort = portOf(submission);
  await waitFor(() => relayed.length > relayedBefore && queueOf('alice').length === 0, 10_000, 'the queued message to leave');
  assert.equal(relayed[relayed.length - 1]!.to, ['dave@far.example']);
  assert.ok(submission.describe().detail!.startsWith(`127.0.0.1:${relayPort} (starttls, user relayuser)`));
});

test('no password in a log line or in the store', async () => {
  const log = sink.ring.join('\n');
  assert.not.ok(log.includes(PASSWORD), 'the user password');
  assert.not.ok(log.includes(RELAY_PASSWORD), 'the smarthost password');
  assert.match(log, /msg="message accepted" .*user=alice .*rcpts=\d+ .*bytes=\d+/);
  const store = deps.store('alice');
  const result = await run('git', ['--git-dir', store.gitDir, 'log', '-p', '--all']);
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /mail-queue\//);
  assert.not.ok(result.stdout.includes(RELAY_PASSWORD));
  assert.not.ok(result.stdout.includes(PASSWORD));
});

test.run();
