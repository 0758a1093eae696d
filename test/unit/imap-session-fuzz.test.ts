/**
 * The IMAP server under random and mutated real sessions, in process: mutations of transcripts
 * a mail client sends (byte flips, cuts, repeats, insertions, random chunking) must get IMAP
 * answers and never an internal error; afterwards a clean session still works. An uncaught
 * exception would end the run. Seeded, so a failure reproduces.
 */
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImapService, MessageCache } from '../../firmware/apps/mail/imap/index.js';
import { MailStore } from '../../firmware/apps/mail/store/index.js';
import { makeSelfSignedCertificate } from '../../firmware/http/tls.js';
import type { Logger } from '../../firmware/runtime/index.js';
import { Store } from '../../firmware/store/index.js';
import { Random } from '../_lib/random.js';
import { tempDir } from '../_lib/tmp.js';

const errors: string[] = [];
const log: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (msg, fields) => void errors.push(`${msg} ${JSON.stringify(fields)}`),
  child: () => log,
};

const MESSAGE = 'From: "Bob" <bob@example.org>\r\nTo: alice@example.org\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n';

const SESSIONS = [
  [
    'a1 CAPABILITY',
    'a2 LOGIN alice pw',
    'a3 ENABLE CONDSTORE QRESYNC UTF8=ACCEPT',
    'a4 LIST "" "*" RETURN (SPECIAL-USE CHILDREN STATUS (MESSAGES UNSEEN))',
    'a5 SELECT INBOX (CONDSTORE)',
    'a6 UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (From Subject)] MODSEQ) (CHANGEDSINCE 1)',
    'a7 UID STORE 1:2 +FLAGS.SILENT (\\Seen $Label1)',
    'a8 UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 OR SUBJECT hi (NOT FROM carol) SINCE 1-Jan-2020',
    'a9 UID FETCH $ (BINARY.PEEK[1] BINARY.SIZE[1] BODY[1.MIME]<0.10>)',
    'b1 UID SORT (REVERSE DATE SUBJECT) UTF-8 ALL',
    'b2 UID THREAD REFERENCES UTF-8 ALL',
    'b3 UID COPY 1 Archive',
    'b4 UID MOVE 2 Trash',
    'b5 UID EXPUNGE 1:*',
    'b6 IDLE',
    'DONE',
    'b7 UNSELECT',
    'b8 LOGOUT',
  ],
  [
    'c1 AUTHENTICATE PLAIN AGFsaWNlAHB3',
    'c2 CREATE "Projects/2024" (USE (\\Archive))',
    `c3 APPEND Projects/2024 (\\Flagged) "30-Nov-2026 10:00:00 +0000" {${MESSAGE.length}+}\r\n${MESSAGE}`,
    'c4 STATUS Projects/2024 (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ SIZE DELETED)',
    'c5 EXAMINE Projects/2024',
    'c6 FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE BODY[] BODY[TEXT]<2.5>)',
    'c7 SEARCH TEXT hello BODY "x" HEADER Subject hi LARGER 10 SMALLER 100000 UID 1:* NOT DELETED',
    'c8 RENAME Projects/2024 Projects/2025',
    'c9 LSUB "" *',
    'd1 SUBSCRIBE Projects/2025',
    'd2 DELETE Projects/2025',
    'd3 NAMESPACE',
    'd4 ID ("name" "fuzz")',
    'd5 CHECK',
    'd6 CLOSE',
    'd7 LOGOUT',
  ],
];

let service: ImapService;
let port: number;

test.before(async () => {
  const store = Store.open(`${tempDir('imapfuzz')}/alice.git`, { durability: 'none' });
  const mail = new MailStore(store);
  await mail.ensureDefaults();
  await mail.append('INBOX', [{ raw: Buffer.from(MESSAGE) }, { raw: Buffer.from(MESSAGE.replace('hi', 'Re: hi')) }, { raw: Buffer.from('garbage\r\nwithout a header\r\n') }]);
  const { key, cert } = makeSelfSignedCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] });
  const context = tls.createSecureContext({ key, cert });
  service = new ImapService(
    { name: 'imap', listen: '127.0.0.1', port: 0, implicitTls: false, secureContext: () => context, log, limits: { maxConnections: 64, maxConnectionsPerAddress: 64 } },
    {
      authenticate: async (user, password) => (user === 'alice' && password === 'pw' ? { ok: true, user } : { ok: false }),
      mailOf: async () => mail,
      messages: new MessageCache(),
      appendLimit: 1 << 20,
    },
  );
  await service.start();
  port = service.boundPort()!;
});

test.after(async () => {
  await service.stop();
});

/** Sends `bytes` in random chunks, then reads until quiet; resolves with what came back. */
function converse(bytes: Buffer, random: () => number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    const settle = () => {
      if (quiet !== undefined) clearTimeout(quiet);
      quiet = setTimeout(done, 60);
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      settle();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.once('data', () => {
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 200);
        socket.write(bytes.subarray(at, at + size));
        at += size;
      }
      settle();
    });
  });
}

function mutate(lines: string[], random: () => number): Buffer {
  const text = Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1');
  const bytes = Array.from(text);
  const edits = 1 + Math.floor(random() * 6);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * bytes.length);
    switch (Math.floor(random() * 6)) {
      case 0:
        bytes[at] = Math.floor(random() * 256);
        break;
      case 1:
        bytes.splice(at, Math.floor(random() * 20));
        break;
      case 2:
        bytes.splice(at, 0, ...Array.from({ length: Math.floor(random() * 20) }, () => Math.floor(random() * 256)));
        break;
      case 3:
        bytes.splice(at, 0, ...Array.from(Buffer.from(['{', '}', '(', ')', '"', '\\', '*', '%', '~{3}', '{99999999}', '{5+}', '\r\n', ' '][Math.floor(random() * 13)])));
        break;
      case 4:
        bytes.splice(at, 0, ...bytes.slice(at, at + Math.floor(random() * 60)));
        break;
      default:
        bytes.length = at;
    }
  }
  return Buffer.from(bytes);
}

test('mutated real sessions and random bytes get IMAP answers, never an internal error', async () => {
  const seeded = new Random(0x1a4f);
  const random = () => seeded.next();
  let selected = 0;
  let refused = 0;
  for (let round = 0; round < 150; round++) {
    const session = SESSIONS[round % SESSIONS.length];
    const input = round % 10 === 9 ? Buffer.from(Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(random() * 256))) : mutate(session, random);
    const answer = await converse(input, random);
    assert.ok(answer.startsWith('* OK'), `round ${round}: no greeting`);
    assert.not.match(answer, /SERVERBUG/, `round ${round}: ${answer.slice(-300)}`);
    if (/OK \[READ-(WRITE|ONLY)\]/.test(answer)) selected += 1;
    if (/ BAD /.test(answer)) refused += 1;
  }
  // The mutations reach deep into sessions, and break them too.
  assert.ok(selected > 40, `only ${selected} sessions got as far as SELECT`);
  assert.ok(refused > 40, `only ${refused} sessions got a BAD`);
  assert.equal(errors, []);
});

test('afterwards a clean session works', async () => {
  const answer = await converse(Buffer.from('z1 LOGIN alice pw\r\nz2 SELECT INBOX\r\nz3 FETCH 1:* (FLAGS)\r\nz4 LOGOUT\r\n'), () => 0.99);
  assert.match(answer, /z2 OK \[READ-WRITE\]/);
  assert.match(answer, /z3 OK FETCH completed/);
  assert.match(answer, /z4 OK LOGOUT completed/);
});

test.run();
