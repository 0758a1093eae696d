/**
 * IMAP against real clients: python3 imaplib (plain, STARTTLS, IMAPS; the commands a mail
 * client uses, two clients on one mailbox with IDLE), curl imap/imaps, imapflow from Node,
 * and raw sockets for bad input. Every change must be a commit in the user's store.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImapFlow } from 'imapflow';
import { nymote, startInstance, tool, type Instance } from '../_lib/cli.js';
import { tempDir } from '../_lib/tmp.js';

const PASSWORD = 'imap-secret-pass-1';
let data: string;
let instance: Instance;
let imapPort: number;
let imapsPort: number;
let certFile: string;

/** Runs a python3 script with imaplib in scope; its last printed line is JSON. */
function python(script: string, ...args: string[]): any {
  const prelude = `import imaplib, json, ssl, sys, time\nPORT=${imapPort}\nIMAPS=${imapsPort}\nCERT=${JSON.stringify(certFile)}\nPASSWORD=${JSON.stringify(PASSWORD)}\n`;
  const out = execFileSync('python3', ['-c', prelude + script, ...args], { encoding: 'utf8', timeout: 60_000 });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

function gitLog(): string[] {
  return execFileSync('git', ['--git-dir', path.join(data, 'store', 'alice.git'), 'log', '--format=%s', 'main'], { encoding: 'utf8' }).trim().split('\n');
}

const MULTIPART = [
  'From: "Bob Example" <bob@example.org>',
  'To: alice@example.org',
  'Subject: =?UTF-8?Q?Caf=C3=A9?= plans',
  'Date: Mon, 30 Nov 2026 10:00:00 +0100',
  'Message-ID: <plans@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Meet at the caf=C3=A9 at noon.',
  '--b1',
  'Content-Type: application/octet-stream; name="notes.bin"',
  'Content-Disposition: attachment; filename="notes.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  'AAECAwQ=',
  '--b1--',
  '',
].join('\r\n');

test.before(async () => {
  data = tempDir('imap');
  assert.is(nymote(['user', 'add', 'alice', '--password-stdin', '--data', data], { input: `${PASSWORD}\n` }).status, 0);
  instance = await startInstance(data);
  imapPort = 1143 + instance.portBase;
  imapsPort = 1993 + instance.portBase;
  certFile = path.join(data, 'secrets', 'tls', 'cert.pem');
});

test.after(async () => {
  await instance?.stop();
});

test('imaplib: login, list, append, fetch with BODYSTRUCTURE, search, store, copy, move, expunge', () => {
  const result = python(
    `
M = imaplib.IMAP4('127.0.0.1', PORT)
M.login('alice', PASSWORD)
r = {}
r['list'] = [x.decode() for x in M.list()[1]]
r['append'] = M.append('INBOX', '(\\\\Flagged)', None, sys.argv[1].encode())[1][0].decode()
M.append('INBOX', None, None, b'From: carol@example.org\\r\\nSubject: second\\r\\n\\r\\nnothing here\\r\\n')
r['select'] = M.select('INBOX')[1][0].decode()
typ, d = M.fetch('1', '(FLAGS BODYSTRUCTURE ENVELOPE RFC822.SIZE)')
r['fetch'] = d[0].decode()
typ, d = M.fetch('1', '(BODY.PEEK[1] BINARY.PEEK[2] BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
r['parts'] = [x[1].decode('latin1') if isinstance(x, tuple) else x.decode() for x in d]
M.literal = 'CAFÉ'.encode()  # a UTF-8 search term goes as a literal, as mail clients send it
r['text'] = M.search('UTF-8', 'TEXT')[1][0].decode()
r['from'] = M.search(None, 'FROM', 'carol')[1][0].decode()
r['flagged'] = M.search(None, 'FLAGGED')[1][0].decode()
r['unseen_since'] = M.uid('SEARCH', None, 'UNSEEN SINCE 1-Jan-2020')[1][0].decode()
r['store'] = M.store('2', '+FLAGS', '(\\\\Seen $Work)')[1][0].decode()
r['copy'] = M.copy('1', 'Archive')[0]
M.untagged_responses.pop('COPYUID', None)
r['move'] = M.uid('MOVE', '2', 'Junk')[0]
r['copyuid'] = [x.decode() for x in M.untagged_responses.pop('COPYUID', [])]
r['after_move'] = M.select('INBOX')[1][0].decode()
M.store('1', '+FLAGS', '(\\\\Deleted)')
r['expunge'] = [x.decode() for x in M.expunge()[1] if x]
r['archive'] = M.select('Archive', readonly=True)[1][0].decode()
r['junk'] = M.status('Junk', '(MESSAGES UIDNEXT UNSEEN)')[1][0].decode()
M.logout()
print(json.dumps(r))
`,
    MULTIPART,
  );
  assert.ok(result.list.includes('(\\HasNoChildren \\Sent) "/" Sent'), result.list.join('\n'));
  assert.match(result.append, /^\[APPENDUID \d+ 1\] /);
  assert.is(result.select, '2');
  assert.match(result.fetch, /FLAGS \(\\Flagged\)/);
  assert.match(result.fetch, /BODYSTRUCTURE \(\("text" "plain" \("charset" "utf-8"\) NIL NIL "quoted-printable" \d+ \d+ NIL NIL NIL NIL\)\("application" "octet-stream" \("name" "notes\.bin"\) NIL NIL "base64" 8 NIL \("attachment" \("filename" "notes\.bin"\)\) NIL NIL\) "mixed" \("boundary" "b1"\) NIL NIL NIL\)/);
  assert.match(result.fetch, /ENVELOPE \("Mon, 30 Nov 2026 10:00:00 \+0100" "=\?UTF-8\?Q\?Caf=C3=A9\?= plans" \(\("Bob Example" NIL "bob" "example\.org"\)\)/);
  assert.equal(result.parts[0], 'Meet at the caf=C3=A9 at noon.');
  assert.equal(result.parts[1], '\x00\x01\x02\x03\x04');
  assert.equal(result.parts[2], 'Subject: =?UTF-8?Q?Caf=C3=A9?= plans\r\n\r\n');
  assert.is(result.text, '1');
  assert.is(result.from, '2');
  assert.is(result.flagged, '1');
  assert.is(result.unseen_since, '1 2');
  assert.match(result.store, /2 \(FLAGS \(\$Work \\Seen\)\)/);
  assert.is(result.copy, 'OK');
  assert.is(result.move, 'OK');
  assert.match(result.copyuid.join(), /^\d+ 2 1$/);
  assert.is(result.after_move, '1');
  assert.equal(result.expunge, ['1']);
  assert.is(result.archive, '1');
  assert.match(result.junk, /Junk \(MESSAGES 1 UIDNEXT 2 UNSEEN 0\)/);
  const log = gitLog();
  assert.ok(log.includes('mail: move 1 from INBOX to Junk'), log.join('\n'));
  assert.ok(log.includes('mail: expunge INBOX'));
});

test('STARTTLS and IMAPS verify against the device certificate; capabilities before login', () => {
  const result = python(`
ctx = ssl.create_default_context(cafile=CERT)
M = imaplib.IMAP4('127.0.0.1', PORT)
before = list(M.capabilities)
M.starttls(ssl_context=ctx)
after = list(M.capabilities)
M.login('alice', PASSWORD)
S = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=ctx)
answers = iter([b'alice', PASSWORD.encode()])
S.authenticate('LOGIN', lambda challenge: next(answers))
n = S.select('Archive')[1][0].decode()
try:
    S.login('alice', PASSWORD)
    again = 'accepted'
except imaplib.IMAP4.error as e:
    again = str(e)
print(json.dumps({'before': before, 'after': after, 'imaps': n, 'again': again}))
`);
  assert.ok(result.before.includes('STARTTLS'));
  assert.not.ok(result.after.includes('STARTTLS'));
  assert.is(result.imaps, '1');
  assert.match(result.again, /already authenticated|illegal in state/);
});

test('two clients on one mailbox: IDLE sees appends, flag changes and expunges; NOOP too', () => {
  const result = python(`
A = imaplib.IMAP4('127.0.0.1', PORT); A.login('alice', PASSWORD); A.select('INBOX')
B = imaplib.IMAP4('127.0.0.1', PORT); B.login('alice', PASSWORD); B.select('INBOX')
def idle(client, action):
    tag = client._new_tag().decode()
    client.send(f'{tag} IDLE\\r\\n'.encode())
    assert client.readline().startswith(b'+')
    action()
    seen = []
    client.sock.settimeout(10)
    while True:
        line = client.readline().decode().strip()
        seen.append(line)
        if 'EXISTS' in line or 'EXPUNGE' in line or 'FETCH' in line:
            break
    client.send(b'DONE\\r\\n')
    while True:
        line = client.readline().decode().strip()
        if line.startswith(tag):
            seen.append(line)
            break
    return seen
r = {}
r['exists'] = idle(A, lambda: B.append('INBOX', None, None, b'Subject: new\\r\\n\\r\\nhello\\r\\n'))
B.noop()
r['flags'] = idle(A, lambda: B.store('1', '+FLAGS', '(\\\\Deleted)'))
r['expunge'] = idle(A, lambda: B.expunge())
B.append('INBOX', None, None, b'Subject: later\\r\\n\\r\\nagain\\r\\n')
A.untagged_responses.pop('EXISTS', None)
A.noop()
r['noop'] = [x.decode() for x in A.untagged_responses.get('EXISTS', [])]
print(json.dumps(r))
`);
  assert.ok(result.exists.some((l: string) => /^\* 1 EXISTS$/.test(l)), result.exists.join('\n'));
  assert.ok(result.exists.at(-1).endsWith('OK IDLE terminated'));
  assert.ok(result.flags.some((l: string) => /^\* 1 FETCH \(UID \d+ FLAGS \(\\Deleted\)\)$/.test(l)), result.flags.join('\n'));
  assert.ok(result.expunge.some((l: string) => /^\* 1 EXPUNGE$/.test(l)), result.expunge.join('\n'));
  assert.ok(result.noop.includes('1'), JSON.stringify(result.noop));
});

test('SORT, THREAD, CONDSTORE, QRESYNC and COMPRESS=DEFLATE with imaplib', () => {
  const result = python(`
import zlib
M = imaplib.IMAP4('127.0.0.1', PORT); M.login('alice', PASSWORD)
M.create('Threads')
def msg(subject, mid, refs=None, date='Mon, 30 Nov 2026 10:00:00 +0000'):
    head = f'From: a@example.org\\r\\nSubject: {subject}\\r\\nMessage-ID: <{mid}>\\r\\nDate: {date}\\r\\n'
    if refs: head += f'References: {refs}\\r\\nIn-Reply-To: {refs.split()[-1]}\\r\\n'
    return (head + '\\r\\nbody\\r\\n').encode()
M.append('Threads', None, None, msg('Zebra', 'z@x', date='Mon, 30 Nov 2026 09:00:00 +0000'))
M.append('Threads', None, None, msg('apple', 'a@x', date='Mon, 30 Nov 2026 11:00:00 +0000'))
M.append('Threads', None, None, msg('Re: Zebra', 'z2@x', '<z@x>', date='Mon, 30 Nov 2026 12:00:00 +0000'))
M.append('Threads', None, None, msg('Re: Re: Zebra', 'z3@x', '<z@x> <z2@x>', date='Mon, 30 Nov 2026 13:00:00 +0000'))
r = {}
typ, d = M.select('Threads')
r['sort'] = M.sort('(SUBJECT)', 'UTF-8', 'ALL')[1][0].decode()
r['sort_rev_date'] = M.sort('(REVERSE DATE)', 'UTF-8', 'ALL')[1][0].decode()
r['thread'] = M.thread('REFERENCES', 'UTF-8', 'ALL')[1][0].decode()
r['ordered'] = M.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1][0].decode()
M.select('Threads')
modseq = int(M.untagged_responses['HIGHESTMODSEQ'][0])
uidvalidity = int(M.untagged_responses['UIDVALIDITY'][0])
M.store('2', '+FLAGS', '(\\\\Flagged)')
typ, d = M.fetch('1:*', f'(FLAGS) (CHANGEDSINCE {modseq})')
r['changedsince'] = [x.decode() for x in d]
M.store('3', '+FLAGS', '(\\\\Deleted)'); M.expunge()
M.logout()
Q = imaplib.IMAP4('127.0.0.1', PORT); Q.login('alice', PASSWORD)
r['enabled'] = Q._simple_command('ENABLE', 'QRESYNC')[0]
typ, d = Q._simple_command('SELECT', f'Threads (QRESYNC ({uidvalidity} {modseq}))')
r['qresync'] = [x.decode() for x in Q.untagged_responses.get('VANISHED', [])] + [x.decode() for x in Q.untagged_responses.get('FETCH', [])]
imaplib.Commands['COMPRESS'] = ('AUTH', 'SELECTED')
r['compress'] = Q._simple_command('COMPRESS', 'DEFLATE')[0]
deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
inflate = zlib.decompressobj(-15)
Q.sock.sendall(deflate.compress(b'c1 NOOP\\r\\nc2 STATUS INBOX (MESSAGES)\\r\\n') + deflate.flush(zlib.Z_SYNC_FLUSH))
got = b''
Q.sock.settimeout(10)
while b'c2 OK' not in got:
    got += inflate.decompress(Q.sock.recv(4096))
r['compressed'] = got.decode()
print(json.dumps(r))
`);
  assert.is(result.sort, '2 1 3 4');
  assert.is(result.sort_rev_date, '4 3 2 1');
  assert.is(result.thread, '(1 3 4)(2)');
  assert.is(result.ordered, '(1 (3)(4))(2)');
  assert.equal(result.changedsince.length, 1);
  assert.match(result.changedsince[0], /^2 \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$|^2 \(FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$/);
  assert.is(result.enabled, 'OK');
  assert.ok(result.qresync.includes('(EARLIER) 3'), JSON.stringify(result.qresync));
  assert.ok(result.qresync.some((line: string) => /UID 2 FLAGS \(\\Flagged\) MODSEQ/.test(line)), JSON.stringify(result.qresync));
  assert.is(result.compress, 'OK');
  assert.match(result.compressed, /c1 OK NOOP completed\r\n\* STATUS INBOX \(MESSAGES \d+\)\r\nc2 OK STATUS completed/);
});

test('curl reads over imap and imaps', () => {
  const list = tool('curl', ['-s', '--url', `imap://127.0.0.1:${imapPort}/`, '--user', `alice:${PASSWORD}`]);
  assert.match(list.stdout, /\* LIST \(\\HasNoChildren \\Archive\) "\/" Archive/);
  const body = tool('curl', ['-s', '--cacert', certFile, '--url', `imaps://127.0.0.1:${imapsPort}/Archive;UID=1`, '--user', `alice:${PASSWORD}`]);
  assert.is(body.status, 0, body.stderr);
  assert.match(body.stdout, /Meet at the caf=C3=A9 at noon\./);
});

test('imapflow: list with status, fetch, flags, compression', async () => {
  const client = new ImapFlow({ host: '127.0.0.1', port: imapsPort, secure: true, tls: { ca: fs.readFileSync(certFile) }, auth: { user: 'alice', pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const list = await client.list({ statusQuery: { messages: true, unseen: true } });
    const archive = list.find((m) => m.path === 'Archive');
    assert.is(archive?.specialUse, '\\Archive');
    assert.is(archive?.status?.messages, 1);
    const lock = await client.getMailboxLock('Archive');
    try {
      const message = await client.fetchOne('1', { envelope: true, bodyStructure: true, flags: true });
      assert.is(message && message.envelope?.subject, 'Café plans');
      assert.is(message && message.bodyStructure?.childNodes?.length, 2);
      await client.messageFlagsAdd('1', ['\\Answered']);
      // imapflow appends with LITERAL+: a large message goes without waiting for a continuation.
      const large = Buffer.from(`From: a@example.org\r\nSubject: large\r\n\r\n${'0123456789abcdef'.repeat(4096 * 16)}\r\n`);
      const appended = await client.append('Archive', large);
      assert.ok(appended && appended.uid !== undefined);
      const back = await client.fetchOne(String(appended.uid), { source: true }, { uid: true });
      assert.ok(back && back.source?.equals(large));
      const after = await client.fetchOne('1', { flags: true });
      assert.ok(after && after.flags?.has('\\Answered'));
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
});

test('mbsync: a Maildir and the server sync both ways (messages, flags, expunges)', () => {
  const local = tempDir('mbsync');
  fs.mkdirSync(path.join(local, 'mail'));
  const config = path.join(local, 'mbsyncrc');
  fs.writeFileSync(
    config,
    [
      'IMAPAccount nymote', 'Host 127.0.0.1', `Port ${imapsPort}`, 'User alice', `Pass ${PASSWORD}`, 'SSLType IMAPS', `CertificateFile ${certFile}`, '',
      'IMAPStore remote', 'Account nymote', '',
      'MaildirStore local', `Path ${local}/mail/`, `Inbox ${local}/mail/INBOX`, 'SubFolders Verbatim', '',
      'Channel sync', 'Far :remote:', 'Near :local:', 'Patterns *', 'Create Both', 'Expunge Both', 'SyncState *', '',
    ].join('\n'),
  );
  const sync = () => {
    const run = tool('mbsync', ['-c', config, '-a']);
    assert.is(run.status, 0, run.stderr);
  };
  python(`
M = imaplib.IMAP4('127.0.0.1', PORT); M.login('alice', PASSWORD)
M.create('Projects')
M.append('Projects', '(\\\\Seen)', None, b'From: x@example.org\\r\\nSubject: from the server\\r\\n\\r\\nup there\\r\\n')
print(json.dumps(True))
`);
  sync();
  const projects = path.join(local, 'mail', 'Projects');
  const [downloaded] = fs.readdirSync(path.join(projects, 'cur'));
  assert.match(fs.readFileSync(path.join(projects, 'cur', downloaded), 'utf8'), /Subject: from the server/);
  // Flag it here, and write a new message into the local Maildir.
  fs.renameSync(path.join(projects, 'cur', downloaded), path.join(projects, 'cur', downloaded.replace(/:2,.*$/, ':2,FS')));
  fs.writeFileSync(path.join(projects, 'new', '1700000000.1.local'), 'From: me@example.org\r\nSubject: written offline\r\n\r\nhello\r\n');
  sync();
  const server = python(`
M = imaplib.IMAP4('127.0.0.1', PORT); M.login('alice', PASSWORD); M.select('Projects')
typ, d = M.fetch('1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
print(json.dumps([x[0].decode() + x[1].decode() if isinstance(x, tuple) else x.decode() for x in d]))
`);
  assert.is(server.length, 4, JSON.stringify(server));
  assert.match(server[0], /FLAGS \(\\Flagged \\Seen\).*from the server/);
  assert.match(server[2], /written offline/);
  // Deleted on the server: gone from the Maildir after the next sync.
  python(`
M = imaplib.IMAP4('127.0.0.1', PORT); M.login('alice', PASSWORD); M.select('Projects')
M.store('1', '+FLAGS', '(\\\\Deleted)'); M.expunge()
print(json.dumps(True))
`);
  sync();
  const left = fs.readdirSync(path.join(projects, 'cur')).concat(fs.readdirSync(path.join(projects, 'new')));
  assert.is(left.length, 1, left.join());
});

test('SMTP delivery lands in INBOX and in git log; mail log and mail restore bring a lost message back', async () => {
  const smtpPort = 2525 + instance.portBase;
  python(`
import smtplib
s = smtplib.SMTP('127.0.0.1', ${smtpPort})
s.sendmail('bob@example.org', ['alice@localhost'], b'From: bob@example.org\\r\\nTo: alice@localhost\\r\\nSubject: delivered by smtp\\r\\n\\r\\nover port 25\\r\\n')
s.quit()
print(json.dumps(True))
`);
  const delivered = python(`
M = imaplib.IMAP4('127.0.0.1', PORT); M.login('alice', PASSWORD); M.select('INBOX')
n = M.search(None, 'SUBJECT', 'delivered')[1][0].decode()
M.store(n, '+FLAGS', '(\\\\Deleted)'); M.expunge()
print(json.dumps(n))
`);
  assert.ok(delivered !== '', 'the message is in INBOX');
  assert.ok(gitLog().includes('mail: append 1 to INBOX'));
  const log = nymote(['mail', 'log', 'INBOX', '-n', '3', '--data', data]);
  assert.is(log.status, 0, log.stderr);
  const lines = log.stdout.trim().split('\n');
  assert.match(lines[0], /^[0-9a-f]{12} \S+ mail: expunge INBOX$/);
  const beforeExpunge = lines[1].split(' ')[0];
  const restore = nymote(['mail', 'restore', 'INBOX', '--at', beforeExpunge, '--data', data]);
  assert.is(restore.status, 0, restore.stderr);
  assert.match(restore.stdout, /^restored 1 message into INBOX/);
  const back = python(`
M = imaplib.IMAP4('127.0.0.1', PORT); M.login('alice', PASSWORD); M.select('INBOX')
print(json.dumps(M.search(None, 'SUBJECT', 'delivered')[1][0].decode()))
`);
  assert.ok(back !== '', 'restored');
  const bad = nymote(['mail', 'restore', 'INBOX', '--at', 'yesterday-ish', '--data', data]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /neither a commit nor a time/);
});

test('nymote mail smarthost: set, show, remove; the password stays in secrets/ and is never shown', () => {
  const none = nymote(['mail', 'smarthost', '--data', data]);
  assert.equal([none.status, none.stdout], [0, 'no smarthost\n']);
  const set = nymote(['mail', 'smarthost', 'set', 'smtp.example.net', '--login', 'me', '--password-stdin', '--data', data], { input: 'relay-secret-9\n' });
  assert.is(set.status, 0, set.stderr);
  assert.is(set.stdout, 'smarthost: smtp.example.net:587 (starttls, user me)\n');
  const file = path.join(data, 'secrets', 'mail-smarthost.password');
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
  assert.not.match(JSON.stringify(fs.readdirSync(path.join(data, 'config')).map((f) => fs.readFileSync(path.join(data, 'config', f), 'utf8'))), /relay-secret-9/);
  const bad = nymote(['mail', 'smarthost', 'set', 'smtp.example.net:99999', '--data', data]);
  assert.is(bad.status, 2);
  assert.is(bad.stderr.trim().split('\n').length, 1);
  const removed = nymote(['mail', 'smarthost', 'remove', '--data', data]);
  assert.equal([removed.status, removed.stdout], [0, 'no smarthost\n']);
  assert.not.ok(fs.existsSync(file));
});

/** A raw IMAP conversation: sends each line after the previous answer, returns everything read. */
async function raw(lines: (string | Buffer)[], port = imapPort): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  const waitFor = async (predicate: () => boolean) => {
    for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  };
  await waitFor(() => received.includes('\r\n'));
  for (const line of lines) {
    const mark = received.length;
    socket.write(line);
    await waitFor(() => received.length > mark && received.endsWith('\r\n'));
  }
  socket.destroy();
  return received;
}

test('bad input: tagged BAD/NO, nothing before login, oversize literal refused unread, long lines, wrong password', async () => {
  const before = gitLog().length;
  const out = await raw([
    'a1 SELECT INBOX\r\n',
    'a2 FROB\r\n',
    'a3 LOGIN alice wrong-password\r\n',
    'a4 LOGIN alice {999}\r\n',
    `${'x'.repeat(70_000)}\r\n`,
    `a5 LOGIN alice ${PASSWORD}\r\n`,
    'a6 APPEND INBOX {999999999}\r\n',
    'a7 FETCH 1 (BODY[\r\n',
    'a8 SELECT INBOX\r\n',
    'a9 FETCH 99 FLAGS\r\n',
    'b1 STORE 1 +FLAGS (\\Seen\r\n',
    'b2 SEARCH CHARSET KOI8-R TEXT x\r\n',
    'b3 LOGOUT\r\n',
  ]);
  assert.match(out, /a1 BAD SELECT: log in first/);
  assert.match(out, /a2 BAD unknown command FROB/);
  assert.match(out, /a3 NO \[AUTHENTICATIONFAILED\]/);
  assert.match(out, /\* BAD .*too long|a4 BAD/);
  assert.match(out, /a5 OK/);
  assert.match(out, /a6 NO \[TOOBIG\]/);
  assert.not.match(out, /\+ Ready for literal data\r\na6/);
  assert.match(out, /a7 BAD/);
  assert.match(out, /a9 BAD .*out of range/);
  assert.match(out, /b1 BAD/);
  assert.match(out, /b2 NO \[BADCHARSET \(UTF-8 US-ASCII\)\]/);
  assert.match(out, /b3 OK LOGOUT completed/);
  assert.is(gitLog().length, before, 'nothing was committed');
});

test.run();
