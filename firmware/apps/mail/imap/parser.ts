/**
 * IMAP command parser: a framed command (reader.ts) → a typed Command, discriminated by `name`
 * (upper case). Grammar of RFC 9051 and RFC 3501 with the extensions the server offers (see
 * each command). Anything outside the grammar is a ParseError carrying the tag when known,
 * which the server answers with `<tag> BAD <message>`.
 *
 * Mailbox names come out as the client sent them (modified UTF-7 unless UTF8=ACCEPT is on);
 * decoding is the server's (utf7.ts), since only it knows what was enabled. INBOX in any case
 * is "INBOX".
 */
import { type CommandFrame } from './reader.js';
import type { SequenceSet } from './sequence.js';
import {
  AT_LITERAL,
  BACKSLASH,
  Cursor,
  DQUOTE,
  LPAREN,
  ParseError,
  parseDateTime,
  RPAREN,
  type ImapDateTime,
} from './parser-cursor.js';
import { parseFetchItems, parseFetchModifiers, type FetchItem, type FetchMacro } from './parser-fetch.js';
import {
  checkCharset,
  parseSearchKeys,
  parseSearchProgram,
  parseSearchReturn,
  parseSortCriteria,
  type SearchCharset,
  type SearchKey,
  type SearchReturn,
  type SortCriterion,
} from './parser-search.js';

export { ParseError, canonicalFlag, parseDate, parseDateTime, dateTimeToMillis, type ImapDate, type ImapDateTime } from './parser-cursor.js';
export type { FetchAttribute, FetchItem, FetchMacro, Partial, Section, SectionText } from './parser-fetch.js';
export { SUPPORTED_CHARSETS, MAX_SEARCH_DEPTH } from './parser-search.js';
export type { SearchCharset, SearchKey, SearchReturn, SortCriterion, SortKey } from './parser-search.js';

interface Tagged {
  tag: string;
}

export interface SimpleCommand extends Tagged {
  name: 'CAPABILITY' | 'NOOP' | 'LOGOUT' | 'STARTTLS' | 'NAMESPACE' | 'IDLE' | 'CHECK' | 'CLOSE' | 'UNSELECT';
}

/** EXPUNGE, or UID EXPUNGE with its set (RFC 4315). */
export type ExpungeCommand = (Tagged & { name: 'EXPUNGE'; uid: false }) | (Tagged & { name: 'EXPUNGE'; uid: true; sequence: SequenceSet });

export interface AuthenticateCommand extends Tagged {
  name: 'AUTHENTICATE';
  /** Upper case (`PLAIN`). */
  mechanism: string;
  /** SASL-IR (RFC 4959) initial response, base64-decoded; `=` is an empty Buffer. */
  initialResponse?: Buffer;
}

export interface LoginCommand extends Tagged {
  name: 'LOGIN';
  username: string;
  password: string;
}

export interface EnableCommand extends Tagged {
  name: 'ENABLE';
  /** Upper case (`CONDSTORE`, `UTF8=ACCEPT`). */
  capabilities: string[];
}

/** QRESYNC select parameter (RFC 7162 §3.2.5). */
export interface QresyncParams {
  uidValidity: number;
  modseq: bigint;
  knownUids?: SequenceSet;
  sequenceMatch?: { sequence: SequenceSet; uids: SequenceSet };
}

export interface SelectCommand extends Tagged {
  name: 'SELECT' | 'EXAMINE';
  mailbox: string;
  condstore: boolean;
  qresync?: QresyncParams;
}

export interface CreateCommand extends Tagged {
  name: 'CREATE';
  mailbox: string;
  /** RFC 6154 `(USE (\Sent …))`; system attributes in canonical case. */
  specialUse: string[];
}

export interface MailboxCommand extends Tagged {
  name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE';
  mailbox: string;
}

export interface RenameCommand extends Tagged {
  name: 'RENAME';
  from: string;
  to: string;
}

export type StatusItem = 'MESSAGES' | 'RECENT' | 'UIDNEXT' | 'UIDVALIDITY' | 'UNSEEN' | 'DELETED' | 'SIZE' | 'HIGHESTMODSEQ' | 'APPENDLIMIT';
const STATUS_ITEMS = new Set<string>(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'HIGHESTMODSEQ', 'APPENDLIMIT']);

export interface ListSelection {
  subscribed: boolean;
  remote: boolean;
  recursiveMatch: boolean;
  specialUse: boolean;
}

export interface ListReturn {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  /** RFC 5819 LIST-STATUS. */
  status?: StatusItem[];
}

export interface ListCommand extends Tagged {
  name: 'LIST';
  /** Reference name, as sent (not INBOX-normalised). */
  reference: string;
  /** One or more patterns (LIST-EXTENDED allows a parenthesised list). */
  patterns: string[];
  selection: ListSelection;
  returns: ListReturn;
  /** Any RFC 5258 syntax was used (selection options, several patterns, RETURN). */
  extended: boolean;
}

export interface LsubCommand extends Tagged {
  name: 'LSUB';
  reference: string;
  pattern: string;
}

export interface StatusCommand extends Tagged {
  name: 'STATUS';
  mailbox: string;
  items: StatusItem[];
}

export interface AppendMessage {
  flags: string[];
  internalDate?: ImapDateTime;
  /** The message bytes exactly as sent. */
  data: Buffer;
  /** Sent as literal8 (RFC 3516): may hold NUL and binary parts. */
  binary: boolean;
}

export interface AppendCommand extends Tagged {
  name: 'APPEND';
  mailbox: string;
  /** One message, or several with MULTIAPPEND (RFC 3502). */
  messages: AppendMessage[];
}

export interface SearchCommand extends Tagged {
  name: 'SEARCH';
  uid: boolean;
  charset?: SearchCharset;
  /** Present when RETURN was given: answer with ESEARCH. */
  returns?: SearchReturn;
  criteria: SearchKey;
}

export interface FetchCommand extends Tagged {
  name: 'FETCH';
  uid: boolean;
  sequence: SequenceSet;
  items: FetchItem[];
  /** Set when the items were given as ALL, FAST or FULL. */
  macro?: FetchMacro;
  changedSince?: bigint;
  /** UID FETCH … (CHANGEDSINCE n VANISHED) (RFC 7162 §3.2.6). */
  vanished: boolean;
}

export interface StoreCommand extends Tagged {
  name: 'STORE';
  uid: boolean;
  sequence: SequenceSet;
  unchangedSince?: bigint;
  action: 'set' | 'add' | 'remove';
  silent: boolean;
  flags: string[];
}

export interface CopyMoveCommand extends Tagged {
  name: 'COPY' | 'MOVE';
  uid: boolean;
  sequence: SequenceSet;
  mailbox: string;
}

export interface SortCommand extends Tagged {
  name: 'SORT';
  uid: boolean;
  criteria: SortCriterion[];
  charset: SearchCharset;
  search: SearchKey;
}

export interface ThreadCommand extends Tagged {
  name: 'THREAD';
  uid: boolean;
  /** Upper case (`REFERENCES`, `ORDEREDSUBJECT`); the server checks it is one it offers. */
  algorithm: string;
  charset: SearchCharset;
  search: SearchKey;
}

export interface CompressCommand extends Tagged {
  name: 'COMPRESS';
  /** Upper case (`DEFLATE`). */
  mechanism: string;
}

export interface IdCommand extends Tagged {
  name: 'ID';
  /** Field/value pairs in order, or null for `ID NIL` (RFC 2971). */
  params: Array<[field: string, value: string | null]> | null;
}

export type Command =
  | SimpleCommand
  | ExpungeCommand
  | AuthenticateCommand
  | LoginCommand
  | EnableCommand
  | SelectCommand
  | CreateCommand
  | MailboxCommand
  | RenameCommand
  | ListCommand
  | LsubCommand
  | StatusCommand
  | AppendCommand
  | SearchCommand
  | FetchCommand
  | StoreCommand
  | CopyMoveCommand
  | SortCommand
  | ThreadCommand
  | CompressCommand
  | IdCommand;

export type CommandName = Command['name'];

const SIMPLE = new Set<string>(['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'NAMESPACE', 'IDLE', 'CHECK', 'CLOSE', 'UNSELECT']);

/** Parses one framed command; throws ParseError. */
export function parseCommand(frame: CommandFrame): Command {
  const c = new Cursor(frame);
  if (c.atEnd()) c.fail('empty command');
  const tag = c.readTag();
  if (c.atEnd()) c.fail('missing command name');
  c.sp();
  const name = c.keyword('a command name');
  if (SIMPLE.has(name)) {
    c.end();
    return { name: name as SimpleCommand['name'], tag };
  }
  if (name === 'UID') {
    c.sp();
    return uidCommand(c, tag, c.keyword('a command after UID'));
  }
  const parse = PARSERS.get(name);
  if (parse === undefined) return c.fail(`unknown command ${name.slice(0, 40)}`);
  const command = parse(c, tag);
  c.end();
  return command;
}

function uidCommand(c: Cursor, tag: string, name: string): Command {
  let command: Command;
  switch (name) {
    case 'FETCH':
      command = fetch(c, tag, true);
      break;
    case 'STORE':
      command = store(c, tag, true);
      break;
    case 'COPY':
    case 'MOVE':
      command = copyMove(c, tag, name, true);
      break;
    case 'SEARCH':
      command = search(c, tag, true);
      break;
    case 'SORT':
      command = sort(c, tag, true);
      break;
    case 'THREAD':
      command = thread(c, tag, true);
      break;
    case 'EXPUNGE':
      c.sp();
      command = { name: 'EXPUNGE', tag, uid: true, sequence: c.sequenceSet() };
      break;
    default:
      return c.fail(`unknown command UID ${name.slice(0, 40)}`);
  }
  c.end();
  return command;
}

type Parser = (c: Cursor, tag: string) => Command;

const PARSERS = new Map<string, Parser>(Object.entries({
  EXPUNGE: (_c, tag) => ({ name: 'EXPUNGE', tag, uid: false }),
  AUTHENTICATE: authenticate,
  LOGIN: (c, tag) => {
    c.sp();
    const username = c.astring('a user name');
    c.sp();
    return { name: 'LOGIN', tag, username, password: c.astring('a password') };
  },
  ENABLE: (c, tag) => {
    const capabilities: string[] = [];
    do {
      c.sp();
      capabilities.push(c.keyword('a capability'));
    } while (!c.atEnd());
    return { name: 'ENABLE', tag, capabilities };
  },
  SELECT: (c, tag) => select(c, tag, 'SELECT'),
  EXAMINE: (c, tag) => select(c, tag, 'EXAMINE'),
  CREATE: create,
  DELETE: (c, tag) => mailboxCommand(c, tag, 'DELETE'),
  SUBSCRIBE: (c, tag) => mailboxCommand(c, tag, 'SUBSCRIBE'),
  UNSUBSCRIBE: (c, tag) => mailboxCommand(c, tag, 'UNSUBSCRIBE'),
  RENAME: (c, tag) => {
    c.sp();
    const from = c.mailbox();
    c.sp();
    return { name: 'RENAME', tag, from, to: c.mailbox() };
  },
  LIST: list,
  LSUB: (c, tag) => {
    c.sp();
    const reference = c.astring('a reference name');
    c.sp();
    return { name: 'LSUB', tag, reference, pattern: listMailbox(c) };
  },
  STATUS: (c, tag) => {
    c.sp();
    const mailbox = c.mailbox();
    c.sp();
    return { name: 'STATUS', tag, mailbox, items: statusItems(c) };
  },
  APPEND: append,
  SEARCH: (c, tag) => search(c, tag, false),
  FETCH: (c, tag) => fetch(c, tag, false),
  STORE: (c, tag) => store(c, tag, false),
  COPY: (c, tag) => copyMove(c, tag, 'COPY', false),
  MOVE: (c, tag) => copyMove(c, tag, 'MOVE', false),
  SORT: (c, tag) => sort(c, tag, false),
  THREAD: (c, tag) => thread(c, tag, false),
  COMPRESS: (c, tag) => {
    c.sp();
    return { name: 'COMPRESS', tag, mechanism: c.keyword('a compression mechanism') };
  },
  ID: id,
} satisfies Record<string, Parser>));

function mailboxCommand(c: Cursor, tag: string, name: MailboxCommand['name']): MailboxCommand {
  c.sp();
  return { name, tag, mailbox: c.mailbox() };
}

/** `AUTHENTICATE mechanism [SP (base64 / "=")]`. */
function authenticate(c: Cursor, tag: string): AuthenticateCommand {
  c.sp();
  const mechanism = c.keyword('a SASL mechanism');
  if (!c.spIf()) return { name: 'AUTHENTICATE', tag, mechanism };
  const text = c.atom('an initial response');
  const initialResponse = text === '=' ? Buffer.alloc(0) : decodeBase64(text);
  if (initialResponse === undefined) c.fail('initial response is not base64');
  return { name: 'AUTHENTICATE', tag, mechanism, initialResponse };
}

/** SELECT/EXAMINE mailbox [SP "(" select-param *(SP select-param) ")"] (RFC 4466, RFC 7162). */
function select(c: Cursor, tag: string, name: SelectCommand['name']): SelectCommand {
  c.sp();
  const command: SelectCommand = { name, tag, mailbox: c.mailbox(), condstore: false };
  if (!c.spIf()) return command;
  c.parenList(
    () => {
      const param = c.keyword('a SELECT parameter');
      if (param === 'CONDSTORE' && !command.condstore) command.condstore = true;
      else if (param === 'QRESYNC' && command.qresync === undefined) {
        c.sp();
        command.qresync = qresync(c);
      } else c.fail(`unknown SELECT parameter ${param}`);
      return param;
    },
    true,
    'SELECT parameters',
  );
  return command;
}

/** "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")". */
function qresync(c: Cursor): QresyncParams {
  c.expect(LPAREN, '( after QRESYNC');
  const uidValidity = c.nzNumber('a UIDVALIDITY');
  c.sp();
  const params: QresyncParams = { uidValidity, modseq: c.modseq('a mod-sequence', true) };
  if (c.spIf() && !c.peekIs(LPAREN)) {
    params.knownUids = c.sequenceSet('known UIDs');
    if (!c.spIf()) {
      c.expect(RPAREN, ') after the QRESYNC parameters');
      return params;
    }
  }
  if (c.peekIs(LPAREN)) {
    c.advance();
    const sequence = c.sequenceSet('known sequence numbers');
    c.sp();
    const uids = c.sequenceSet('known UIDs');
    c.expect(RPAREN, ') after the sequence match data');
    params.sequenceMatch = { sequence, uids };
  }
  c.expect(RPAREN, ') after the QRESYNC parameters');
  return params;
}

/** CREATE mailbox [SP "(" create-param *(SP create-param) ")"]; only USE (RFC 6154) is known. */
function create(c: Cursor, tag: string): CreateCommand {
  c.sp();
  const command: CreateCommand = { name: 'CREATE', tag, mailbox: c.mailbox(), specialUse: [] };
  if (!c.spIf()) return command;
  c.parenList(
    () => {
      const param = c.keyword('a CREATE parameter');
      if (param !== 'USE') c.fail(`unknown CREATE parameter ${param}`);
      c.sp();
      command.specialUse.push(...c.parenList(() => useAttribute(c), true, 'USE attributes'));
      return param;
    },
    false,
    'CREATE parameters',
  );
  return command;
}

const USE_ATTRIBUTES = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];
const USE_BY_UPPER = new Map(USE_ATTRIBUTES.map((a) => [a.toUpperCase(), a]));

function useAttribute(c: Cursor): string {
  c.expect(BACKSLASH, 'a special-use attribute');
  const attribute = `\\${c.atom('a special-use attribute')}`;
  return USE_BY_UPPER.get(attribute.toUpperCase()) ?? attribute;
}

/** list-mailbox: 1*list-char / string (`%` and `*` allowed unquoted). */
function listMailbox(c: Cursor): string {
  return c.text(c.astringBytes('a mailbox pattern', true), 'a mailbox pattern');
}

/**
 * LIST [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
 * (RFC 9051, RFC 5258, RFC 5819, RFC 6154).
 */
function list(c: Cursor, tag: string): ListCommand {
  const selection: ListSelection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  const returns: ListReturn = { subscribed: false, children: false, specialUse: false };
  let extended = false;
  c.sp();
  if (c.peekIs(LPAREN)) {
    extended = true;
    for (const option of c.parenList(() => c.keyword('a LIST selection option'), true, 'LIST selection options')) {
      if (option === 'SUBSCRIBED') selection.subscribed = true;
      else if (option === 'REMOTE') selection.remote = true;
      else if (option === 'RECURSIVEMATCH') selection.recursiveMatch = true;
      else if (option === 'SPECIAL-USE') selection.specialUse = true;
      else c.fail(`unknown LIST selection option ${option}`);
    }
    // RFC 5258 §3: RECURSIVEMATCH only qualifies another option.
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) c.fail('RECURSIVEMATCH needs another selection option');
    c.sp();
  }
  const reference = c.astring('a reference name');
  c.sp();
  let patterns: string[];
  if (c.peekIs(LPAREN)) {
    extended = true;
    patterns = c.parenList(() => listMailbox(c), false, 'mailbox patterns');
  } else patterns = [listMailbox(c)];
  if (c.spIf()) {
    if (!c.acceptKeyword('RETURN')) c.fail('expected RETURN');
    extended = true;
    c.sp();
    c.parenList(
      () => {
        const option = c.keyword('a LIST return option');
        if (option === 'SUBSCRIBED') returns.subscribed = true;
        else if (option === 'CHILDREN') returns.children = true;
        else if (option === 'SPECIAL-USE') returns.specialUse = true;
        else if (option === 'STATUS' && returns.status === undefined) {
          c.sp();
          returns.status = statusItems(c);
        } else c.fail(`unknown LIST return option ${option}`);
        return option;
      },
      true,
      'LIST return options',
    );
  }
  return { name: 'LIST', tag, reference, patterns, selection, returns, extended };
}

function statusItems(c: Cursor): StatusItem[] {
  return c.parenList(
    () => {
      const item = c.keyword('a STATUS item');
      if (!STATUS_ITEMS.has(item)) c.fail(`unknown STATUS item ${item}`);
      return item as StatusItem;
    },
    false,
    'STATUS items',
  );
}

/**
 * APPEND mailbox 1*(SP [flag-list SP] [date-time SP] (literal / literal8)): one message, or
 * more with MULTIAPPEND. The message must be a literal (a quoted string cannot hold CRLF).
 */
function append(c: Cursor, tag: string): AppendCommand {
  c.sp();
  const mailbox = c.mailbox();
  const messages: AppendMessage[] = [];
  do {
    c.sp();
    let flags: string[] = [];
    if (c.peekIs(LPAREN)) {
      flags = c.flagList();
      c.sp();
    }
    let internalDate: ImapDateTime | undefined;
    if (c.peekIs(DQUOTE)) {
      const text = c.string('a date-time');
      internalDate = parseDateTime(text);
      if (internalDate === undefined) c.fail('invalid date-time, expected "dd-Mon-yyyy hh:mm:ss +zzzz"');
      c.sp();
    }
    if (c.peek() !== AT_LITERAL) c.fail('expected the message as a literal');
    const literal = c.literal(true);
    const message: AppendMessage = { flags, data: literal.data, binary: literal.binary };
    if (internalDate !== undefined) message.internalDate = internalDate;
    messages.push(message);
  } while (!c.atEnd());
  return { name: 'APPEND', tag, mailbox, messages };
}

/** SEARCH [RETURN (…)] [CHARSET x] search-key *(SP search-key). */
function search(c: Cursor, tag: string, uid: boolean): SearchCommand {
  c.sp();
  const returns = parseSearchReturn(c);
  const { charset, criteria } = parseSearchProgram(c);
  const command: SearchCommand = { name: 'SEARCH', tag, uid, criteria };
  if (charset !== undefined) command.charset = charset;
  if (returns !== undefined) command.returns = returns;
  return command;
}

/** FETCH sequence-set SP items [SP "(" modifiers ")"]. */
function fetch(c: Cursor, tag: string, uid: boolean): FetchCommand {
  c.sp();
  const sequence = c.sequenceSet();
  c.sp();
  const { items, macro } = parseFetchItems(c);
  const { changedSince, vanished } = parseFetchModifiers(c, uid);
  const command: FetchCommand = { name: 'FETCH', tag, uid, sequence, items, vanished };
  if (macro !== undefined) command.macro = macro;
  if (changedSince !== undefined) command.changedSince = changedSince;
  return command;
}

/** STORE sequence-set [SP "(" UNCHANGEDSINCE n ")"] SP [+-]FLAGS[.SILENT] SP (flag-list / flag *(SP flag)). */
function store(c: Cursor, tag: string, uid: boolean): StoreCommand {
  c.sp();
  const sequence = c.sequenceSet();
  c.sp();
  let unchangedSince: bigint | undefined;
  if (c.peekIs(LPAREN)) {
    c.parenList(
      () => {
        const modifier = c.keyword('a STORE modifier');
        if (modifier !== 'UNCHANGEDSINCE' || unchangedSince !== undefined) c.fail(`unknown STORE modifier ${modifier}`);
        c.sp();
        unchangedSince = c.modseq('a mod-sequence', true);
        return modifier;
      },
      false,
      'STORE modifiers',
    );
    c.sp();
  }
  const word = c.keyword('FLAGS, +FLAGS or -FLAGS');
  const silent = word.endsWith('.SILENT');
  const base = silent ? word.slice(0, -'.SILENT'.length) : word;
  const action = base === 'FLAGS' ? 'set' : base === '+FLAGS' ? 'add' : base === '-FLAGS' ? 'remove' : undefined;
  if (action === undefined) c.fail(`unknown STORE item ${word.slice(0, 40)}`);
  c.sp();
  let flags: string[];
  if (c.peekIs(LPAREN)) flags = c.flagList();
  else {
    flags = [c.flag()];
    while (c.spIf()) flags.push(c.flag());
  }
  const command: StoreCommand = { name: 'STORE', tag, uid, sequence, action, silent, flags };
  if (unchangedSince !== undefined) command.unchangedSince = unchangedSince;
  return command;
}

function copyMove(c: Cursor, tag: string, name: CopyMoveCommand['name'], uid: boolean): CopyMoveCommand {
  c.sp();
  const sequence = c.sequenceSet();
  c.sp();
  return { name, tag, uid, sequence, mailbox: c.mailbox() };
}

/** SORT (criteria) SP charset 1*(SP search-key) (RFC 5256). */
function sort(c: Cursor, tag: string, uid: boolean): SortCommand {
  c.sp();
  const criteria = parseSortCriteria(c);
  c.sp();
  const charset = checkCharset(c, c.astring('a charset'));
  c.sp();
  return { name: 'SORT', tag, uid, criteria, charset, search: parseSearchKeys(c) };
}

/** THREAD algorithm SP charset 1*(SP search-key) (RFC 5256). */
function thread(c: Cursor, tag: string, uid: boolean): ThreadCommand {
  c.sp();
  const algorithm = c.keyword('a thread algorithm');
  c.sp();
  const charset = checkCharset(c, c.astring('a charset'));
  c.sp();
  return { name: 'THREAD', tag, uid, algorithm, charset, search: parseSearchKeys(c) };
}

/** RFC 2971 limits: 30 pairs, fields up to 30 octets, values up to 1024. */
const ID_MAX_PAIRS = 30;
const ID_MAX_FIELD = 30;
const ID_MAX_VALUE = 1024;

/** ID ("(" *(string SP nstring) ")" / NIL); `()` is tolerated as no parameters. */
function id(c: Cursor, tag: string): IdCommand {
  c.sp();
  if (!c.peekIs(LPAREN)) {
    if (c.keyword('NIL or a parameter list') !== 'NIL') c.fail('expected NIL or a parameter list');
    return { name: 'ID', tag, params: null };
  }
  const params: Array<[string, string | null]> = [];
  c.parenList(
    () => {
      if (params.length >= ID_MAX_PAIRS) c.fail(`more than ${ID_MAX_PAIRS} ID parameters`);
      const field = c.string('an ID field');
      c.sp();
      const value = c.nstring('an ID value');
      if (Buffer.byteLength(field) > ID_MAX_FIELD) c.fail('ID field longer than 30 octets');
      if (value !== null && Buffer.byteLength(value) > ID_MAX_VALUE) c.fail('ID value longer than 1024 octets');
      params.push([field, value]);
      return field;
    },
    true,
    'ID parameters',
  );
  return { name: 'ID', tag, params };
}

/** Strict base64 (RFC 4648 alphabet, padded, no whitespace); undefined when malformed. */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x3d) {
      if (i < text.length - 2) return undefined;
      padding++;
      continue;
    }
    if (padding > 0) return undefined;
    const ok = (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x2b || ch === 0x2f;
    if (!ok) return undefined;
  }
  return Buffer.from(text, 'base64');
}

/**
 * A client's line during AUTHENTICATE (read with reader.expectLine()): `*` cancels (answer
 * `<tag> BAD`), anything else must be base64 (an empty line is an empty response).
 */
export function parseSaslResponse(line: Buffer): { cancel: true } | { cancel: false; data: Buffer } {
  if (line.length === 1 && line[0] === 0x2a) return { cancel: true };
  const data = line.length > 16 * 1024 ? undefined : decodeBase64(line.toString('latin1'));
  if (data === undefined) throw new ParseError('SASL response is not base64');
  return { cancel: false, data };
}

export interface SaslPlain {
  /** Authorization identity; empty when the client acts as itself. */
  authzid: string;
  authcid: string;
  password: string;
}

/** RFC 4616 PLAIN message: [authzid] NUL authcid NUL passwd, UTF-8. */
export function decodeSaslPlain(data: Buffer): SaslPlain {
  const first = data.indexOf(0);
  const second = first < 0 ? -1 : data.indexOf(0, first + 1);
  if (first < 0 || second < 0 || data.indexOf(0, second + 1) >= 0) throw new ParseError('malformed PLAIN credentials');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const authzid = decoder.decode(data.subarray(0, first));
    const authcid = decoder.decode(data.subarray(first + 1, second));
    const password = decoder.decode(data.subarray(second + 1));
    if (authcid === '' || password === '') throw new ParseError('malformed PLAIN credentials');
    return { authzid, authcid, password };
  } catch (err) {
    if (err instanceof ParseError) throw err;
    throw new ParseError('PLAIN credentials are not valid UTF-8');
  }
}

/** Whether a line read during IDLE is the `DONE` that ends it (case-insensitive). */
export function isIdleDone(line: Buffer): boolean {
  return line.length === 4 && line.toString('latin1').toUpperCase() === 'DONE';
}
