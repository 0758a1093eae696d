/**
 * The IMAP server against Dovecot 2.3 (../shared/peers/dovecot.sh), same machine, same run, same
 * generated mailbox for both: nymote (`nymote run`, IMAP on 127.0.0.1:1143+base, LOGIN from
 * loopback) vs Dovecot (Maildir, no FTS, 127.0.0.1:5307). Both get the same N messages in INBOX
 * (N = 10,000; 2,000 with --quick; BENCH_MAIL_MESSAGES changes it): 2–20 KB (log-uniform), plain
 * text (us-ascii, utf-8 8bit, quoted-printable), multipart/alternative and multipart/mixed with a
 * small base64 attachment, realistic headers (Received, DKIM-Signature, lists, replies).
 *
 * Filling is untimed (its time is printed and recorded): Dovecot gets the first N − A messages as
 * Maildir files (then one SELECT indexes them), nymote by MULTIAPPEND (100 per command, 4
 * connections). The A = 10 × k × (rounds + 1) others are the measured APPEND:
 *   - APPEND, 10 clients, each its own logged-in connection appending one message per command
 *     (LITERAL+) into INBOX, k per client per round (the warm-up and the rounds bring INBOX to N): messages/s;
 * then with one client, INBOX selected (N messages):
 *   - FETCH 1:1000 (BODY.PEEK[HEADER]): fetches/s (each returns 1,000 headers);
 *   - FETCH 1:1000 (FLAGS RFC822.SIZE ENVELOPE): fetches/s;
 *   - SEARCH TEXT "kumquat" (the word is in ~1% of the messages, some in the Subject): one
 *     search per round, the warm-up run first (cold for both; Dovecot without FTS scans the
 *     mails too), reported as ms per search (median of the rounds; the first time is recorded too);
 *   - connect + LOGIN + LOGOUT, 4 clients at once: logins/s.
 * After SEARCH and FETCH (the reading client still logged in, INBOX selected) the bench records
 * VmRSS and VmHWM of the nymote process and of Dovecot's processes (total and per process).
 *
 * Answers are checked and a wrong one stops the bench: every APPEND must be OK, each FETCH must
 * return 1,000 messages (the first one of each kind per server is checked in full: every header is
 * byte-for-byte one of the generated messages', RFC822.SIZE and \Seen match it), SEARCH must
 * return exactly the messages the generated data says contain the word, INBOX must hold N.
 * The IMAP client is the bench's own (node:net, tagged commands, literals in responses), the same
 * for both servers. When the process exits the bench rewrites bench/results/mail.json: SEARCH
 * as ms/search with the ratio of times (nymote / dovecot; for the other cases the ratio of rates),
 * a unit per result, memory, fill times and the individual search times; and prints that table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { formatColumns, type Bench, type BenchCase, type BenchReport, type Ratio } from './harness.js';
import { healthAnswers, startNymoteServer } from './nymote-server.js';
import { memoryKiB, processTree } from './processes.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEERS = path.resolve(REPO_ROOT, '..', 'shared', 'peers');
const BUNDLE = path.join(REPO_ROOT, 'dist/firmware/index.js');
const RESULT_FILE = path.join(REPO_ROOT, 'bench/results/mail.json');
const QUICK = process.argv.includes('--quick');
const MESSAGES = Number(process.env.BENCH_MAIL_MESSAGES ?? (QUICK ? 2000 : 10_000));
/** The harness's warm-up plus its rounds (run.ts: 3 with --quick, else 5): one APPEND slice each. */
const APPEND_SLICES = (QUICK ? 3 : 5) + 1;
const APPEND_CLIENTS = 10;
const LOGIN_CLIENTS = 4;
const FILL_CONNECTIONS = 4;
const FILL_BATCH = 100;
const FETCH_COUNT = 1000;
const KEYWORD = 'kumquat';
const PASSWORD = 'secret-pass-1';
const PORT_BASE = 34_000;
const NYMOTE_IMAP = 1143 + PORT_BASE;
const DOVECOT_IMAP = Number(process.env.BENCH_MAIL_DOVECOT_PORT ?? 5307);
const DOVECOT_LMTP = DOVECOT_IMAP + 10;

// ---------------------------------------------------------------------------------------------
// The messages: deterministic, so both servers (and every run) get the same ones.

interface MailMessage {
  /** Message-ID, with its angle brackets. */
  readonly id: string;
  /** As sent by APPEND: CRLF line ends. */
  readonly raw: Buffer;
  /** Bytes of the header, the empty line after it included: BODY[HEADER]'s length. */
  readonly headerBytes: number;
  readonly seen: boolean;
  /** KEYWORD is in its text (body, and for some the Subject too); nowhere else in any message. */
  readonly matches: boolean;
  readonly kind: 'plain' | 'qp' | 'alternative' | 'attachment';
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

const WORDS = (
  'the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were ' +
  'project meeting schedule review budget proposal deadline report invoice customer release server backup update ' +
  'network storage upgrade migration contract quarter forecast travel hotel flight booking weekend dinner family school ' +
  'garden holiday photos birthday concert tickets library bicycle weather morning afternoon evening tomorrow yesterday ' +
  'please thanks attached document version draft comments feedback question answer issue problem solution change ' +
  'request approval team office kitchen parking building elevator printer laptop password account payment receipt ' +
  'delivery package order shipping address phone number calendar agenda minutes notes summary details followup ' +
  'reminder invitation conference workshop training session speaker slides recording transcript deployment incident ' +
  'postmortem database cluster latency throughput kernel patch firmware router switch cable battery charger monitor'
).split(' ');
const ACCENTED = ['café', 'Grüße', 'naïve', 'über', 'façade', 'déjà', 'Zürich', 'smörgåsbord', 'crème', 'Ærø'];
const FIRST = ['Ana', 'Ben', 'Chloe', 'Dmitri', 'Eve', 'Farah', 'Gus', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lena', 'Marta', 'Nils', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Sven', 'Tomás'];
const LAST = ['Almeida', 'Berg', 'Castro', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Novak', 'Okafor'];
const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net', 'lists.example.org', 'uni.example.edu', 'shop.example.com'];
const LISTS = ['dev', 'announce', 'users', 'ops', 'book-club'];
const ZONES = [0, 60, 120, -300, -420, 330, 540, -180];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ATTACHMENTS = [
  ['application/pdf', 'invoice-%.pdf'],
  ['image/png', 'screenshot-%.png'],
  ['image/jpeg', 'IMG_%.jpg'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'report-%.xlsx'],
  ['application/zip', 'logs-%.zip'],
] as const;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function rfc5322Date(ms: number, zoneMinutes: number): string {
  const d = new Date(ms + zoneMinutes * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const zone = `${zoneMinutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(zoneMinutes) / 60))}${pad(Math.abs(zoneMinutes) % 60)}`;
  return `${DAY_NAMES[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTH_NAMES[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${zone}`;
}

/** Words into lines of at most `width` (as `measure` counts; never splitting a word). */
function wrap(words: readonly string[], width: number, measure: (text: string) => number = (text) => text.length): string[] {
  const lines: string[] = [];
  let line = '';
  let length = 0;
  for (const word of words) {
    const size = measure(word);
    if (line !== '' && length + 1 + size > width) {
      lines.push(line);
      line = word;
      length = size;
    } else {
      line = line === '' ? word : `${line} ${word}`;
      length += (length === 0 ? 0 : 1) + size;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Quoted-printable of short lines (the text is wrapped by encoded length, so no soft breaks are needed). */
function quotedPrintable(line: string): string {
  let out = '';
  for (const byte of Buffer.from(line, 'utf8')) {
    out += byte === 0x3d || byte > 0x7e ? `=${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}=20`;
  if (out.length > 76) throw new Error(`quoted-printable line too long: ${out}`);
  return out;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function generateMessages(count: number): MailMessage[] {
  const next = random(31_337);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(next() * 16).toString(16)).join('');
  const base64Random = (chars: number) => Array.from({ length: chars }, () => B64[Math.floor(next() * 64)]).join('');
  const start = Date.UTC(2024, 0, 2, 8);
  const messages: MailMessage[] = [];
  if (WORDS.some((w) => w.includes(KEYWORD))) throw new Error('the search word is in the vocabulary');
  for (let i = 0; i < count; i++) {
    const target = Math.round(2048 * 10 ** next());
    const r = next();
    const kind: MailMessage['kind'] = r < 0.55 ? 'plain' : r < 0.65 ? 'qp' : r < 0.75 ? 'alternative' : 'attachment';
    const matches = next() < 0.01;
    const inSubject = matches && next() < 0.25;
    const seen = next() < 0.7;
    const utf8 = kind !== 'plain' || next() < 0.5;
    const sender = { first: pick(FIRST), last: pick(LAST), domain: pick(DOMAINS) };
    const from = `${sender.first.toLowerCase()}.${sender.last.toLowerCase()}@${sender.domain}`;
    const date = start + i * 3_100_000 + Math.floor(next() * 3_000_000);
    const zone = pick(ZONES);
    const dateText = rfc5322Date(date, zone);
    const id = `<${hex(12)}.${i}@${sender.domain}>`;
    const reply = next() < 0.35;
    const list = next() < 0.25 ? pick(LISTS) : undefined;
    let subject = wrap(Array.from({ length: 3 + Math.floor(next() * 6) }, () => pick(WORDS)), 1000)[0]!;
    subject = subject[0]!.toUpperCase() + subject.slice(1);
    if (inSubject) subject += ` (${KEYWORD})`;
    if (list !== undefined) subject = `[${list}] ${subject}`;
    if (reply) subject = `Re: ${subject}`;

    const relay = `mail-${hex(4)}.${sender.domain}`;
    const ip = `203.0.113.${1 + Math.floor(next() * 250)}`;
    const headers: string[] = [
      `Return-Path: <${from}>`,
      `Delivered-To: alice@example.test`,
      `Received: from ${relay} (${relay} [${ip}])\r\n\tby mx.example.test (Postfix) with ESMTPS id ${hex(10).toUpperCase()}\r\n\tfor <alice@example.test>; ${dateText}`,
      `Received: by ${relay} with SMTP id ${hex(16)}\r\n        for <alice@example.test>; ${dateText}`,
    ];
    if (next() < 0.6) {
      const b = base64Random(344);
      headers.push(
        `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=${sender.domain}; s=s${1 + Math.floor(next() * 3)};\r\n\t` +
          `h=from:to:subject:date:message-id:mime-version; bh=${base64Random(43)}=;\r\n\tb=${b.match(/.{1,70}/g)!.join('\r\n\t ')}`,
      );
    }
    const displayName = utf8 && next() < 0.2 ? `=?UTF-8?Q?${quotedPrintable(`${sender.first} ${pick(ACCENTED)}`).replace(/ /g, '_')}?=` : `${sender.first} ${sender.last}`;
    headers.push(`From: ${displayName} <${from}>`);
    headers.push(list === undefined ? 'To: Alice Example <alice@example.test>' : `To: ${list}@lists.example.org`);
    if (next() < 0.3) headers.push(`Cc: ${pick(FIRST)} ${pick(LAST)} <${pick(FIRST).toLowerCase()}@${pick(DOMAINS)}>, ${pick(FIRST).toLowerCase()}@${pick(DOMAINS)}`);
    headers.push(`Subject: ${subject}`, `Date: ${dateText}`, `Message-ID: ${id}`);
    if (reply) {
      const parent = `<${hex(12)}.${Math.max(0, i - 1 - Math.floor(next() * 50))}@${pick(DOMAINS)}>`;
      headers.push(`In-Reply-To: ${parent}`, `References: <${hex(12)}@${pick(DOMAINS)}>\r\n ${parent}`);
    }
    if (list !== undefined) {
      headers.push(`List-Id: ${list} discussion <${list}.lists.example.org>`, `List-Unsubscribe: <mailto:${list}-leave@lists.example.org>`, 'Precedence: list');
    }
    headers.push('MIME-Version: 1.0');

    // The text, wrapped: long enough that the whole message is about `target` bytes.
    const attachmentBytes = kind === 'attachment' ? Math.min(Math.floor(target * 0.5), 800 + Math.floor(next() * 5000)) : 0;
    const headerLength = headers.join('\r\n').length + 200;
    let textBudget = Math.max(300, target - headerLength - Math.ceil(attachmentBytes * 1.37));
    if (kind === 'alternative') textBudget = Math.max(300, Math.floor(textBudget / 2.2));
    // Quoted-printable lines are wrapped by their encoded length (non-ASCII bytes take 3).
    const width = kind === 'qp' ? 70 : 72;
    const measure = kind === 'qp' ? (text: string) => [...text].reduce((n, ch) => n + (ch < '\x7f' && ch !== '=' ? 1 : 3 * Buffer.byteLength(ch)), 0) : undefined;
    const paragraphs: string[][] = [];
    let length = 0;
    while (length < textBudget) {
      const words: string[] = [];
      const sentences = 1 + Math.floor(next() * 5);
      for (let s = 0; s < sentences; s++) {
        const n = 5 + Math.floor(next() * 12);
        for (let w = 0; w < n; w++) {
          let word = utf8 && next() < 0.02 ? pick(ACCENTED) : pick(WORDS);
          if (w === 0) word = word[0]!.toUpperCase() + word.slice(1);
          if (w === n - 1) word += next() < 0.15 ? '?' : '.';
          words.push(word);
        }
      }
      paragraphs.push(words);
      length += words.reduce((sum, w) => sum + w.length + 1, 2);
    }
    if (matches) {
      const paragraph = paragraphs[Math.floor(next() * paragraphs.length)]!;
      paragraph.splice(Math.floor(next() * paragraph.length), 0, KEYWORD);
    }
    const greeting = `Hi ${list === undefined ? 'Alice' : 'all'},`;
    let lines = [greeting, ''];
    for (const [p, words] of paragraphs.entries()) {
      const wrapped = wrap(words, width, measure);
      // Replies quote some of the earlier mail.
      lines.push(...(reply && p === paragraphs.length - 1 ? ['On an earlier day someone wrote:', ...wrapped.map((l) => `> ${l}`)] : wrapped), '');
    }
    lines.push('--', `${sender.first} ${sender.last}`);
    if (kind === 'qp') lines = lines.map(quotedPrintable);
    const text = lines.join('\r\n') + '\r\n';
    const textType = `text/plain; charset=${utf8 ? 'utf-8' : 'us-ascii'}; format=flowed`;
    const textEncoding = kind === 'qp' ? 'quoted-printable' : utf8 ? '8bit' : '7bit';
    const boundary = `=_${hex(24)}`;
    let body: string;
    if (kind === 'plain' || kind === 'qp') {
      headers.push(`Content-Type: ${textType}`, `Content-Transfer-Encoding: ${textEncoding}`);
      body = text;
    } else if (kind === 'alternative') {
      headers.push(`Content-Type: multipart/alternative;\r\n boundary="${boundary}"`);
      const html =
        `<html><head><meta charset="utf-8"></head><body>\r\n<p>${escapeHtml(greeting)}</p>\r\n` +
        paragraphs.map((words) => `<p>${wrap(words.map(escapeHtml), 72).join('\r\n')}</p>`).join('\r\n') +
        `\r\n<p>-- <br>${sender.first} ${sender.last}</p>\r\n</body></html>\r\n`;
      body =
        `This is a multi-part message in MIME format.\r\n\r\n--${boundary}\r\nContent-Type: ${textType}\r\nContent-Transfer-Encoding: ${textEncoding}\r\n\r\n${text}\r\n` +
        `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}\r\n--${boundary}--\r\n`;
    } else {
      const [type, pattern] = pick(ATTACHMENTS);
      const name = pattern.replace('%', String(1000 + i));
      let encoded: string;
      // Neither the attachment's bytes nor their base64 may contain the word (in any case).
      for (;;) {
        const bytes = Buffer.from(Array.from({ length: attachmentBytes }, () => Math.floor(next() * 256)));
        encoded = bytes.toString('base64');
        if (!encoded.toLowerCase().includes(KEYWORD) && !bytes.toString('latin1').toLowerCase().includes(KEYWORD)) break;
      }
      headers.push(`Content-Type: multipart/mixed;\r\n boundary="${boundary}"`);
      body =
        `This is a multi-part message in MIME format.\r\n\r\n--${boundary}\r\nContent-Type: ${textType}\r\nContent-Transfer-Encoding: ${textEncoding}\r\n\r\n${text}\r\n` +
        `--${boundary}\r\nContent-Type: ${type}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
        `${encoded.match(/.{1,76}/g)!.join('\r\n')}\r\n--${boundary}--\r\n`;
    }
    const header = headers.join('\r\n') + '\r\n\r\n';
    const raw = Buffer.from(header + body, 'utf8');
    const occurrences = raw.toString('latin1').toLowerCase().split(KEYWORD).length - 1;
    // The word once in the text (twice with HTML), plus once in the Subject; never by accident.
    const expected = !matches ? 0 : (kind === 'alternative' ? 2 : 1) + (inSubject ? 1 : 0);
    if (occurrences !== expected) {
      // Base64 in a DKIM signature or a Message-ID could, in theory, spell it: regenerate then.
      i--;
      continue;
    }
    messages.push({ id, raw, headerBytes: Buffer.byteLength(header), seen, matches, kind });
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------
// A tiny IMAP client: one command at a time, LITERAL+ for what it sends, literals in responses.

interface ImapResponse {
  /** The response's lines joined, each literal's `{n}` marker kept in place. */
  text: string;
  literals: Buffer[];
}

interface Completion {
  untagged: ImapResponse[];
  /** The tagged line after the tag: `OK …`. */
  status: string;
}

interface Pending {
  tag: string;
  what: string;
  untagged: ImapResponse[];
  resolve(completion: Completion): void;
  reject(error: Error): void;
}

const EMPTY = Buffer.alloc(0);

class ImapClient {
  private buffer: Buffer = EMPTY;
  /** Bytes of the literal being read, or -1 between literals. */
  private literalBytes = -1;
  private segments: string[] = [];
  private literals: Buffer[] = [];
  private pending: Pending | undefined;
  private tags = 0;
  private failure: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(
    readonly server: string,
    private readonly socket: net.Socket,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(300_000, () => socket.destroy(new Error('no answer in 300 s')));
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (error) => this.fail(error));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects and reads the greeting, which must be `* OK` and offer LITERAL+. */
  static async connect(server: string, port: number): Promise<ImapClient> {
    const client = new ImapClient(server, net.connect({ host: '127.0.0.1', port }));
    const greeting = await new Promise<Completion>((resolve, reject) => {
      client.pending = { tag: '', what: 'greeting', untagged: [], resolve, reject };
    });
    if (!/^\* OK\b/.test(greeting.status)) throw new Error(`${server}: greeting ${greeting.status}`);
    if (!/LITERAL\+/.test(greeting.status)) throw new Error(`${server}: the greeting does not offer LITERAL+: ${greeting.status}`);
    return client;
  }

  static async login(server: string, port: number, select = false): Promise<ImapClient> {
    const client = await ImapClient.connect(server, port);
    await client.command(`LOGIN alice "${PASSWORD}"`);
    if (select) await client.command('SELECT INBOX');
    return client;
  }

  /** Sends `tag text` (parts: text and LITERAL+ literals, which the caller marks `{n+}`). */
  command(text: string, ...literals: Buffer[]): Promise<Completion> {
    if (this.pending !== undefined) throw new Error(`${this.server}: a command is already running`);
    if (this.failure !== undefined) return Promise.reject(new Error(`${this.server}: ${text.slice(0, 60)}: ${this.failure.message}`));
    const tag = `a${++this.tags}`;
    const what = text.slice(0, 80);
    const done = new Promise<Completion>((resolve, reject) => {
      this.pending = { tag, what, untagged: [], resolve, reject };
    });
    this.socket.cork();
    this.socket.write(`${tag} `);
    // `text` holds one `\0` where each literal goes.
    const pieces = text.split('\0');
    for (const [i, piece] of pieces.entries()) {
      this.socket.write(piece);
      if (i < literals.length) this.socket.write(literals[i]!);
    }
    this.socket.write('\r\n');
    this.socket.uncork();
    return done;
  }

  /** APPEND of one message (or several: MULTIAPPEND) into INBOX; the answer must be OK. */
  append(messages: readonly MailMessage[]): Promise<Completion> {
    const text = messages.map((m) => ` (${m.seen ? '\\Seen' : ''}) {${m.raw.length}+}\r\n\0`).join('');
    return this.command(`APPEND INBOX${text}`, ...messages.map((m) => m.raw));
  }

  async logout(): Promise<void> {
    const { untagged } = await this.command('LOGOUT');
    if (!untagged.some((r) => r.text.startsWith('* BYE'))) throw new Error(`${this.server}: LOGOUT without BYE`);
    this.socket.destroy();
    await this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(new Error(`${this.server}: ${pending.what}: ${error.message}`));
  }

  private received(chunk: Buffer): void {
    const buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    for (;;) {
      if (this.literalBytes >= 0) {
        if (buffer.length - at < this.literalBytes) break;
        this.literals.push(buffer.subarray(at, at + this.literalBytes));
        at += this.literalBytes;
        this.literalBytes = -1;
        continue;
      }
      const end = buffer.indexOf('\r\n', at);
      if (end < 0) break;
      const line = buffer.toString('latin1', at, end);
      at = end + 2;
      this.segments.push(line);
      if (line.endsWith('}')) {
        const open = line.lastIndexOf('{');
        const size = open < 0 ? NaN : Number(line.slice(open + 1, -1).replace(/\+$/, ''));
        if (Number.isInteger(size) && size >= 0) {
          this.literalBytes = size;
          continue;
        }
      }
      const response = { text: this.segments.length === 1 ? line : this.segments.join(''), literals: this.literals };
      this.segments = [];
      this.literals = [];
      this.dispatch(response);
    }
    this.buffer = at === buffer.length ? EMPTY : buffer.subarray(at);
  }

  private dispatch(response: ImapResponse): void {
    const pending = this.pending;
    // Unsolicited (nothing is running): nothing to do with it.
    if (pending === undefined) return;
    if (pending.tag === '') {
      this.pending = undefined;
      pending.resolve({ untagged: [], status: response.text });
    } else if (response.text.startsWith('* ')) {
      pending.untagged.push(response);
    } else if (response.text.startsWith(`${pending.tag} `)) {
      this.pending = undefined;
      const status = response.text.slice(pending.tag.length + 1);
      if (/^OK\b/i.test(status)) pending.resolve({ untagged: pending.untagged, status });
      else pending.reject(new Error(`${this.server}: \`${pending.what}\` answered \`${response.text.slice(0, 300)}\``));
    } else {
      this.pending = undefined;
      pending.reject(new Error(`${this.server}: \`${pending.what}\`: unexpected \`${response.text.slice(0, 300)}\``));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Server {
  readonly name: string;
  readonly port: number;
  /** The process whose memory is reported (Dovecot: the master, with its children). */
  readonly pid: number;
  /** The client of the read cases (FETCH, SEARCH), INBOX selected. */
  reader?: ImapClient;
  appenders?: ImapClient[];
}

async function startNymote(work: string, cleanups: (() => void)[]): Promise<Server> {
  const pid = await startNymoteServer({ bundle: BUNDLE, work, cleanups, name: 'nymote', portBase: PORT_BASE, password: PASSWORD, ready: () => healthAnswers(PORT_BASE) });
  return { name: 'nymote', port: NYMOTE_IMAP, pid };
}

function startDovecot(work: string, cleanups: (() => void)[]): { server: Server; maildir: string } {
  const script = path.join(PEERS, 'dovecot.sh');
  const dir = path.join(work, 'dovecot');
  // A Dovecot that does not start (its port taken by a stale server, say) must stop the bench.
  const started = spawnSync('bash', [script, 'start', dir, String(DOVECOT_IMAP), String(DOVECOT_LMTP)], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`dovecot did not start on port ${DOVECOT_IMAP}: ${started.stderr.trim().split('\n').slice(-5).join('\n')}`);
  cleanups.push(() => spawnSync('bash', [script, 'stop', dir]));
  return { server: { name: 'dovecot', port: DOVECOT_IMAP, pid: Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8')) }, maildir: path.join(dir, 'mail/alice/Maildir') };
}

/** Maildir files as Dovecot's own delivery names them (S= and W= sizes, :2, flags), owned by its user. */
function fillMaildir(maildir: string, messages: readonly MailMessage[]): void {
  const owner = fs.statSync(maildir);
  const stamp = 1_700_000_000;
  for (const [i, message] of messages.entries()) {
    const lf = Buffer.from(message.raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const name = `${stamp + i}.M${i}P${process.pid}.bench,S=${lf.length},W=${message.raw.length}:2,${message.seen ? 'S' : ''}`;
    const file = path.join(maildir, 'cur', name);
    fs.writeFileSync(file, lf);
    if (process.getuid?.() === 0) fs.chownSync(file, owner.uid, owner.gid);
  }
}

/** MULTIAPPEND batches over a few connections (nymote's store commits concurrent appends together). */
async function fillByAppend(server: Server, messages: readonly MailMessage[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    const client = await ImapClient.login(server.name, server.port);
    for (let from = next; from < messages.length; from = next) {
      next = Math.min(messages.length, from + FILL_BATCH);
      await client.append(messages.slice(from, next));
    }
    await client.logout();
  };
  await Promise.all(Array.from({ length: FILL_CONNECTIONS }, worker));
}

async function inboxCount(client: ImapClient): Promise<number> {
  const { untagged } = await client.command('SELECT INBOX');
  const exists = untagged.find((r) => /^\* \d+ EXISTS/.test(r.text));
  if (exists === undefined) throw new Error(`${client.server}: SELECT INBOX without EXISTS`);
  return Number(exists.text.split(' ')[1]);
}

// ---------------------------------------------------------------------------------------------
// Memory

interface Memory {
  rssKiB: number | null;
  hwmKiB: number | null;
  /** Dovecot: each process (name pid: VmRSS/VmHWM KiB). */
  processes?: string[];
}

function memoryOf(server: Server): Memory {
  if (server.name === 'nymote') return memoryKiB(server.pid);
  let rss = 0;
  let hwm = 0;
  const processes: string[] = [];
  for (const pid of processTree(server.pid)) {
    const { rssKiB, hwmKiB } = memoryKiB(pid);
    if (rssKiB === null || hwmKiB === null) continue;
    let name = String(pid);
    try {
      name = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      // gone
    }
    rss += rssKiB;
    hwm += hwmKiB;
    processes.push(`${name} ${pid}: ${rssKiB}/${hwmKiB}`);
  }
  return { rssKiB: rss, hwmKiB: hwm, processes };
}

const mib = (kib: number | null) => (kib === null ? 'unknown' : `${(kib / 1024).toFixed(1)} MiB`);

// ---------------------------------------------------------------------------------------------
// The report's last touches, when the process exits (after run.ts has written it).

interface Extras {
  messages: number;
  generatedBytes: number;
  kinds: Record<string, number>;
  fillSeconds: Record<string, number>;
  search: { command: string; expectedMatches: number; timesMs: Record<string, number[]> };
  memoryAfterReads: Record<string, Memory>;
  memoryAtEnd: Record<string, Memory>;
}

const SEARCH_CASE = (count: number) => `SEARCH TEXT over ${count.toLocaleString('en-US')}`;

function finishReport(startedAt: Date, extras: Extras): void {
  if (!fs.existsSync(RESULT_FILE)) return;
  const report = JSON.parse(fs.readFileSync(RESULT_FILE, 'utf8')) as BenchReport & Record<string, unknown>;
  // A report from an earlier run (this one failed before writing): leave it alone.
  if (new Date(report.date) < startedAt) return;
  const searchCase = SEARCH_CASE(extras.messages);
  const results = report.results.map((r) => {
    if (r.case === searchCase) return { ...r, value: 1000 / r.value, unit: 'ms/search' };
    return { ...r, unit: r.case.startsWith('APPEND') ? 'messages/s' : r.case.startsWith('FETCH') ? 'fetches/s' : 'logins/s' };
  });
  const ratios: Ratio[] = results.flatMap((r) => {
    const base = results.find((b) => b.case === r.case && b.implementation === 'dovecot');
    if (base === undefined || r.implementation === 'dovecot') return [];
    // Rates: nymote / dovecot (higher is better); SEARCH: time / time (lower is better).
    return [{ case: r.case, implementation: r.implementation, baseline: 'dovecot', value: r.value / base.value }];
  });
  Object.assign(report, { unit: 'per result (SEARCH: ms/search, else per second)', results, ratios, ...extras });
  fs.writeFileSync(RESULT_FILE, JSON.stringify(report, null, 2) + '\n');

  const header = ['case', 'implementation', 'value', 'unit', '× dovecot'];
  const rows = results.map((r) => {
    const ratio = ratios.find((x) => x.case === r.case && x.implementation === r.implementation);
    const value = r.value >= 100 ? Math.round(r.value).toLocaleString('en-US') : r.value.toPrecision(3);
    return [r.case, r.implementation, value, r.unit, ratio === undefined ? '1.00' : `${ratio.value.toFixed(2)}${r.unit === 'ms/search' ? ' (time)' : ''}`];
  });
  const memory = (m: Record<string, Memory>) => Object.entries(m).map(([name, x]) => `${name} VmRSS ${mib(x.rssKiB)}, VmHWM ${mib(x.hwmKiB)}`).join('; ');
  process.stdout.write(
    `mail: nymote vs dovecot, ${extras.messages.toLocaleString('en-US')} messages (${(extras.generatedBytes / 1e6).toFixed(1)} MB)\n` +
      `${formatColumns([header, ...rows], (column) => column === 2 || column === 4)}\n` +
      `SEARCH times ms (first = cold): ${Object.entries(extras.search.timesMs).map(([n, t]) => `${n} ${t.map((x) => x.toFixed(0)).join(' ')}`).join('; ')}\n` +
      `memory after FETCH+SEARCH: ${memory(extras.memoryAfterReads)}\n` +
      `memory at the end: ${memory(extras.memoryAtEnd)}\n` +
      `fill (untimed): ${Object.entries(extras.fillSeconds).map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', ')}\n` +
      `→ ${path.relative(process.cwd(), RESULT_FILE)} (rewritten)\n`,
  );
}

// ---------------------------------------------------------------------------------------------

const bench: Bench = {
  name: 'mail',
  unit: 'ops/s',
  baseline: 'dovecot',
  async cases(): Promise<BenchCase[]> {
    const startedAt = new Date();
    const perClient = Math.max(1, Math.min(QUICK ? 10 : 25, Math.floor(MESSAGES / 2 / (APPEND_CLIENTS * APPEND_SLICES))));
    const slice = perClient * APPEND_CLIENTS;
    const fillCount = MESSAGES - slice * APPEND_SLICES;
    if (!Number.isInteger(MESSAGES) || fillCount < 0 || MESSAGES < FETCH_COUNT) throw new Error(`BENCH_MAIL_MESSAGES must be at least ${FETCH_COUNT} (got ${MESSAGES})`);

    const generating = Date.now();
    const messages = generateMessages(MESSAGES);
    const expectedMatches = messages.filter((m) => m.matches).length;
    const byId = new Map(messages.map((m) => [m.id, m]));
    const kinds: Record<string, number> = {};
    for (const m of messages) kinds[m.kind] = (kinds[m.kind] ?? 0) + 1;
    const generatedBytes = messages.reduce((n, m) => n + m.raw.length, 0);
    process.stderr.write(
      `  mail: ${MESSAGES} messages generated in ${((Date.now() - generating) / 1000).toFixed(1)} s, ${(generatedBytes / 1e6).toFixed(1)} MB ` +
        `(${Object.entries(kinds).map(([k, n]) => `${k} ${n}`).join(', ')}); "${KEYWORD}" in ${expectedMatches}; ` +
        `${fillCount} filled, ${APPEND_SLICES} × ${slice} appended in the APPEND case\n`,
    );

    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nymail-'));
    // Dovecot runs as user dovecot when started by root: it must reach its directory.
    fs.chmodSync(work, 0o755);
    const cleanups: (() => void)[] = [];
    const servers: Server[] = [];
    const extras: Extras = {
      messages: MESSAGES,
      generatedBytes,
      kinds,
      fillSeconds: {},
      search: { command: `SEARCH TEXT "${KEYWORD}"`, expectedMatches, timesMs: {} },
      memoryAfterReads: {},
      memoryAtEnd: {},
    };
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const server of servers) extras.memoryAtEnd[server.name] = memoryOf(server);
      for (const server of servers) {
        server.reader?.destroy();
        for (const client of server.appenders ?? []) client.destroy();
      }
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
        process.stderr.write(`  mail: could not remove ${work}: ${(error as Error).message}\n`);
      }
      finishReport(startedAt, extras);
    };
    process.on('exit', finish);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));

    const nymote = await startNymote(work, cleanups);
    servers.push(nymote);
    const { server: dovecot, maildir } = startDovecot(work, cleanups);
    servers.push(dovecot);

    // The fill, untimed: the same first `fillCount` messages into both.
    let began = Date.now();
    fillMaildir(maildir, messages.slice(0, fillCount));
    const check = await ImapClient.login(dovecot.name, dovecot.port);
    const inDovecot = await inboxCount(check);
    await check.logout();
    extras.fillSeconds.dovecot = (Date.now() - began) / 1000;
    began = Date.now();
    await fillByAppend(nymote, messages.slice(0, fillCount));
    const check2 = await ImapClient.login(nymote.name, nymote.port);
    const inNymote = await inboxCount(check2);
    await check2.logout();
    extras.fillSeconds.nymote = (Date.now() - began) / 1000;
    process.stderr.write(
      `  mail: filled dovecot (Maildir files, then SELECT) in ${extras.fillSeconds.dovecot.toFixed(1)} s, ` +
        `nymote (MULTIAPPEND ×${FILL_BATCH}, ${FILL_CONNECTIONS} connections) in ${extras.fillSeconds.nymote.toFixed(1)} s\n`,
    );
    for (const [server, count] of [[dovecot, inDovecot], [nymote, inNymote]] as const) {
      if (count !== fillCount) throw new Error(`${server.name}: INBOX holds ${count} messages after the fill, expected ${fillCount}`);
    }

    // Dovecot allows 10 connections per user and address (mail_max_userip_connections): the
    // APPEND clients and the reading client never overlap.
    const closeAppenders = async (server: Server) => {
      const clients = server.appenders ?? [];
      server.appenders = undefined;
      await Promise.all(clients.map((c) => c.logout()));
    };
    const closeReader = async (server: Server) => {
      const client = server.reader;
      server.reader = undefined;
      await client?.logout();
    };
    const reader = async (server: Server): Promise<ImapClient> => {
      if (server.reader !== undefined) return server.reader;
      await closeAppenders(server);
      const client = await ImapClient.login(server.name, server.port);
      const count = await inboxCount(client);
      if (count !== MESSAGES) throw new Error(`${server.name}: INBOX holds ${count} messages, expected ${MESSAGES}`);
      server.reader = client;
      return client;
    };

    const cases: BenchCase[] = [];
    for (const server of servers) {
      let appended = fillCount;
      let from = fillCount;
      cases.push({
        case: `APPEND, ${APPEND_CLIENTS} clients`,
        implementation: server.name,
        unitsPerRun: slice,
        runsPerRound: 1,
        setup: async () => {
          if (server.appenders === undefined) {
            await closeReader(server);
            server.appenders = await Promise.all(Array.from({ length: APPEND_CLIENTS }, () => ImapClient.login(server.name, server.port)));
          }
          if (appended + slice > MESSAGES) throw new Error(`more APPEND rounds than planned (${APPEND_SLICES})`);
          from = appended;
          appended += slice;
        },
        run: () =>
          Promise.all(
            server.appenders!.map(async (client, c) => {
              for (let j = 0; j < perClient; j++) {
                const { status } = await client.append([messages[from + c * perClient + j]!]);
                if (server.name === 'nymote' && !status.includes('APPENDUID')) throw new Error(`nymote: APPEND answered ${status} (no APPENDUID)`);
              }
            }),
          ),
      });
    }

    // msn → Message-ID of the first 1,000, per server, from the first header FETCH.
    const firstIds = new Map<string, string[]>();
    const fetchCount = (server: Server, untagged: ImapResponse[], what: string) => {
      let count = 0;
      for (const r of untagged) if (r.text.charCodeAt(2) >= 0x30 && r.text.charCodeAt(2) <= 0x39 && r.text.includes(' FETCH (')) count++;
      if (count !== FETCH_COUNT) throw new Error(`${server.name}: ${what} returned ${count} FETCH responses, expected ${FETCH_COUNT}`);
    };
    for (const server of servers) {
      const command = `FETCH 1:${FETCH_COUNT} (BODY.PEEK[HEADER])`;
      cases.push({
        case: `FETCH 1:${FETCH_COUNT} BODY.PEEK[HEADER]`,
        implementation: server.name,
        unitsPerRun: 1,
        setup: async () => void (await reader(server)),
        run: async () => {
          const { untagged } = await server.reader!.command(command);
          fetchCount(server, untagged, command);
          if (firstIds.has(server.name)) return;
          // Once (in the warm-up): every header is exactly a generated message's.
          const ids: string[] = [];
          for (const r of untagged) {
            const msn = Number(/^\* (\d+) FETCH/.exec(r.text)?.[1]);
            const header = r.literals[0];
            if (!/BODY\[HEADER\] \{\d+\}/.test(r.text) || header === undefined) throw new Error(`${server.name}: ${command}: no BODY[HEADER] literal in ${r.text.slice(0, 200)}`);
            const id = /^Message-ID: (<[^>]+>)/im.exec(header.toString('latin1'))?.[1];
            const message = id === undefined ? undefined : byId.get(id);
            if (message === undefined) throw new Error(`${server.name}: ${command}: message ${msn}'s header has an unknown Message-ID ${id}`);
            if (!header.equals(message.raw.subarray(0, message.headerBytes))) {
              throw new Error(`${server.name}: ${command}: message ${msn}'s header (${header.length} bytes) differs from the appended one (${message.headerBytes} bytes)`);
            }
            ids[msn - 1] = id!;
          }
          firstIds.set(server.name, ids);
        },
      });
    }

    for (const server of servers) {
      const command = `FETCH 1:${FETCH_COUNT} (FLAGS RFC822.SIZE ENVELOPE)`;
      let checked = false;
      cases.push({
        case: `FETCH 1:${FETCH_COUNT} (FLAGS RFC822.SIZE ENVELOPE)`,
        implementation: server.name,
        unitsPerRun: 1,
        setup: async () => void (await reader(server)),
        run: async () => {
          const { untagged } = await server.reader!.command(command);
          fetchCount(server, untagged, command);
          if (checked) return;
          checked = true;
          const ids = firstIds.get(server.name) ?? [];
          for (const r of untagged) {
            const msn = Number(/^\* (\d+) FETCH/.exec(r.text)?.[1]);
            const size = Number(/RFC822\.SIZE (\d+)/.exec(r.text)?.[1]);
            const flags = /FLAGS \(([^)]*)\)/.exec(r.text)?.[1];
            if (!r.text.includes('ENVELOPE (') || flags === undefined || Number.isNaN(size)) throw new Error(`${server.name}: ${command}: incomplete response ${r.text.slice(0, 300)}`);
            const message = byId.get(ids[msn - 1] ?? '');
            if (message === undefined) continue;
            if (size !== message.raw.length) throw new Error(`${server.name}: ${command}: message ${msn} (${message.id}) RFC822.SIZE ${size}, expected ${message.raw.length}`);
            if (flags.split(' ').includes('\\Seen') !== message.seen) throw new Error(`${server.name}: ${command}: message ${msn} (${message.id}) FLAGS (${flags}), \\Seen expected ${message.seen}`);
            if (!r.text.includes(message.id)) throw new Error(`${server.name}: ${command}: message ${msn}'s ENVELOPE lacks its Message-ID ${message.id}: ${r.text.slice(0, 300)}`);
          }
        },
      });
    }

    for (const server of servers) {
      const command = `SEARCH TEXT "${KEYWORD}"`;
      const times: number[] = [];
      extras.search.timesMs[server.name] = times;
      cases.push({
        case: SEARCH_CASE(MESSAGES),
        implementation: server.name,
        unitsPerRun: 1,
        runsPerRound: 1,
        setup: async () => void (await reader(server)),
        run: async () => {
          const began = process.hrtime.bigint();
          const { untagged } = await server.reader!.command(command);
          times.push(Number(process.hrtime.bigint() - began) / 1e6);
          const lines = untagged.filter((r) => r.text.startsWith('* SEARCH'));
          if (lines.length !== 1) throw new Error(`${server.name}: ${command} gave ${lines.length} SEARCH responses`);
          const found = lines[0]!.text.trim().split(' ').length - 2;
          if (found !== expectedMatches) throw new Error(`${server.name}: ${command} found ${found} messages, expected ${expectedMatches}: ${lines[0]!.text.slice(0, 300)}`);
        },
      });
    }

    for (const server of servers) {
      let measured = false;
      cases.push({
        case: `connect + LOGIN + LOGOUT, ${LOGIN_CLIENTS} clients`,
        implementation: server.name,
        unitsPerRun: LOGIN_CLIENTS,
        setup: async () => {
          if (measured) return;
          measured = true;
          // After FETCH and SEARCH, with the reading client still logged in and INBOX selected.
          await reader(server);
          const memory = memoryOf(server);
          extras.memoryAfterReads[server.name] = memory;
          process.stderr.write(`  mail: ${server.name} after FETCH+SEARCH: VmRSS ${mib(memory.rssKiB)}, VmHWM ${mib(memory.hwmKiB)}${memory.processes === undefined ? '' : ` (${memory.processes.join(', ')})`}\n`);
          await closeReader(server);
        },
        run: () =>
          Promise.all(
            Array.from({ length: LOGIN_CLIENTS }, async () => {
              const client = await ImapClient.login(server.name, server.port);
              await client.logout();
            }),
          ),
      });
    }
    return cases;
  },
};

export default bench;
