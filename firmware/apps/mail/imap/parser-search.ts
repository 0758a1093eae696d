/**
 * SEARCH criteria (RFC 9051 / RFC 3501 search-key, RFC 7162 MODSEQ, RFC 5182 `$`) as a tree,
 * plus the CHARSET and RETURN parts around them, and the criteria of SORT (RFC 5256).
 * Nesting (parentheses, NOT, OR) is bounded so a hostile command cannot exhaust the stack.
 */
import { AT_END, asciiUpper, Cursor, DQUOTE, LPAREN, ParseError, parseDate, RPAREN, type ImapDate } from './parser-cursor.js';
import type { SequenceSet } from './sequence.js';

export type SearchKey =
  | { type: 'all' }
  | { type: 'and'; keys: SearchKey[] }
  | { type: 'or'; left: SearchKey; right: SearchKey }
  | { type: 'not'; key: SearchKey }
  /** ANSWERED/UNANSWERED … KEYWORD/UNKEYWORD: `set` false for the UN- forms; NEW and OLD are expanded. */
  | { type: 'flag'; flag: string; set: boolean }
  /** BCC CC FROM SUBJECT TO and HEADER; `field` in lower case; substring match, case-insensitive. */
  | { type: 'header'; field: string; value: string }
  | { type: 'body'; value: string }
  | { type: 'text'; value: string }
  /** BEFORE ON SINCE (internal date) and SENTBEFORE SENTON SENTSINCE (Date: header). */
  | { type: 'date'; of: 'internal' | 'sent'; op: 'before' | 'on' | 'since'; date: ImapDate }
  | { type: 'size'; op: 'larger' | 'smaller'; size: number }
  | { type: 'uid'; set: SequenceSet }
  | { type: 'sequence'; set: SequenceSet }
  | { type: 'modseq'; modseq: bigint; entry?: { name: string; type: 'priv' | 'shared' | 'all' } };

/** RFC 4731 / RFC 9051 ESEARCH return options; `RETURN ()` means ALL. */
export interface SearchReturn {
  min: boolean;
  max: boolean;
  all: boolean;
  count: boolean;
  save: boolean;
}

export type SearchCharset = 'UTF-8' | 'US-ASCII';
/** What the server offers in `NO [BADCHARSET (…)]`. */
export const SUPPORTED_CHARSETS: readonly SearchCharset[] = ['UTF-8', 'US-ASCII'];

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

export const MAX_SEARCH_DEPTH = 100;

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  RECENT: ['\\Recent', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
  OLD: ['\\Recent', false],
};

const HEADER_KEYS: Record<string, string> = { BCC: 'bcc', CC: 'cc', FROM: 'from', SUBJECT: 'subject', TO: 'to' };

const DATE_KEYS: Record<string, [of: 'internal' | 'sent', op: 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
};

const SORT_KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** A charset name checked against what we search in; others are ParseError code BADCHARSET. */
export function checkCharset(c: Cursor, name: string): SearchCharset {
  const upper = asciiUpper(name);
  if (upper === 'UTF-8' || upper === 'US-ASCII') return upper;
  throw new ParseError(`unsupported charset ${name.slice(0, 40)}`, c.tag, 'BADCHARSET');
}

/** `RETURN (…)` after SEARCH, when present (the cursor is after `SEARCH SP`). */
export function parseSearchReturn(c: Cursor): SearchReturn | undefined {
  if (!c.acceptKeyword('RETURN')) return undefined;
  c.sp();
  const returns: SearchReturn = { min: false, max: false, all: false, count: false, save: false };
  const options = c.parenList(() => c.keyword('a RETURN option'), true, 'RETURN options');
  for (const option of options) {
    switch (option) {
      case 'MIN':
      case 'MAX':
      case 'ALL':
      case 'COUNT':
      case 'SAVE':
        returns[option.toLowerCase() as keyof SearchReturn] = true;
        break;
      default:
        c.fail(`unknown SEARCH RETURN option ${option}`);
    }
  }
  if (options.length === 0) returns.all = true;
  c.sp();
  return returns;
}

/** `[CHARSET x SP] search-key *(SP search-key)` to the end of the command. */
export function parseSearchProgram(c: Cursor): { charset: SearchCharset | undefined; criteria: SearchKey } {
  let charset: SearchCharset | undefined;
  if (c.acceptKeyword('CHARSET')) {
    c.sp();
    charset = checkCharset(c, c.astring('a charset'));
    c.sp();
  }
  return { charset, criteria: parseSearchKeys(c) };
}

/** One or more keys to the end of the command, joined by AND. */
export function parseSearchKeys(c: Cursor): SearchKey {
  const keys = [searchKey(c, 0)];
  while (!c.atEnd()) {
    c.sp();
    keys.push(searchKey(c, 0));
  }
  return keys.length === 1 ? keys[0]! : { type: 'and', keys };
}

function searchKey(c: Cursor, depth: number): SearchKey {
  if (depth > MAX_SEARCH_DEPTH) c.fail('search criteria nested too deeply');
  const b = c.peek();
  if (b === LPAREN) {
    c.advance();
    const keys: SearchKey[] = [];
    for (;;) {
      keys.push(searchKey(c, depth + 1));
      if (c.peekIs(RPAREN)) break;
      c.sp();
    }
    c.advance();
    return keys.length === 1 ? keys[0]! : { type: 'and', keys };
  }
  if ((b >= 0x30 && b <= 0x39) || b === 0x2a || b === 0x24) return { type: 'sequence', set: c.sequenceSet() };
  if (b === AT_END) c.fail('missing search criteria');
  const word = c.keyword('a search key');
  const flag = FLAG_KEYS[word];
  if (flag !== undefined) return { type: 'flag', flag: flag[0], set: flag[1] };
  const header = HEADER_KEYS[word];
  if (header !== undefined) {
    c.sp();
    return { type: 'header', field: header, value: c.astring(`the ${word} value`) };
  }
  const dateKey = DATE_KEYS[word];
  if (dateKey !== undefined) {
    c.sp();
    return { type: 'date', of: dateKey[0], op: dateKey[1], date: searchDate(c) };
  }
  switch (word) {
    case 'ALL':
      return { type: 'all' };
    case 'NEW':
      return { type: 'and', keys: [{ type: 'flag', flag: '\\Recent', set: true }, { type: 'flag', flag: '\\Seen', set: false }] };
    case 'KEYWORD':
    case 'UNKEYWORD':
      c.sp();
      return { type: 'flag', flag: c.atom('a keyword'), set: word === 'KEYWORD' };
    case 'HEADER': {
      c.sp();
      const field = c.astring('a header field name').toLowerCase();
      c.sp();
      return { type: 'header', field, value: c.astring('a header value') };
    }
    case 'BODY':
    case 'TEXT':
      c.sp();
      return { type: word === 'BODY' ? 'body' : 'text', value: c.astring(`the ${word} value`) };
    case 'LARGER':
    case 'SMALLER':
      c.sp();
      return { type: 'size', op: word === 'LARGER' ? 'larger' : 'smaller', size: c.number('a size', Number.MAX_SAFE_INTEGER) };
    case 'UID':
      c.sp();
      return { type: 'uid', set: c.sequenceSet() };
    case 'NOT':
      c.sp();
      return { type: 'not', key: searchKey(c, depth + 1) };
    case 'OR': {
      c.sp();
      const left = searchKey(c, depth + 1);
      c.sp();
      return { type: 'or', left, right: searchKey(c, depth + 1) };
    }
    case 'MODSEQ':
      return modseqKey(c);
    default:
      return c.fail(`unknown search key ${word}`);
  }
}

/** `MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer` (RFC 7162 §3.1.5). */
function modseqKey(c: Cursor): SearchKey {
  c.sp();
  if (!c.peekIs(DQUOTE)) return { type: 'modseq', modseq: c.modseq('a mod-sequence', true) };
  const name = c.string('an entry name');
  if (!name.startsWith('/flags/')) c.fail('MODSEQ entry names start with /flags/');
  c.sp();
  const type = c.keyword('an entry type').toLowerCase();
  if (type !== 'priv' && type !== 'shared' && type !== 'all') c.fail('MODSEQ entry type is priv, shared or all');
  c.sp();
  return { type: 'modseq', modseq: c.modseq('a mod-sequence', true), entry: { name, type } };
}

/** date: date-text or DQUOTE date-text DQUOTE. */
function searchDate(c: Cursor): ImapDate {
  const text = c.peekIs(DQUOTE) ? c.string('a date') : c.atom('a date');
  const date = parseDate(text);
  if (date === undefined) c.fail(`invalid date ${text.slice(0, 20)}, expected d-Mon-yyyy`);
  return date;
}

/** sort-criteria: "(" ["REVERSE" SP] sort-key *(SP ["REVERSE" SP] sort-key) ")". */
export function parseSortCriteria(c: Cursor): SortCriterion[] {
  return c.parenList(
    () => {
      let key = c.keyword('a sort key');
      const reverse = key === 'REVERSE';
      if (reverse) {
        if (c.peekIs(RPAREN)) c.fail('REVERSE needs a sort key after it');
        c.sp();
        key = c.keyword('a sort key');
      }
      if (!SORT_KEYS.has(key)) c.fail(`unknown sort key ${key}`);
      return { key: key as SortKey, reverse };
    },
    false,
    'sort criteria',
  );
}
