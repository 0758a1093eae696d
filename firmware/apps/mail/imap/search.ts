/**
 * SEARCH evaluation: a parsed search key compiled once into a predicate over the messages of
 * the selected mailbox. Keys that need only the mailbox state (flags, UIDs, sizes, dates,
 * modseq) are checked before those that read and parse the message (headers, body, text).
 */
import { bodyText, containsFolded, headerText, headerValues } from '../message/index.js';
import type { MessageRecord } from '../store/index.js';
import type { ImapDate } from './parser-cursor.js';
import type { SearchKey } from './parser-search.js';
import { messageSpans, normalizeSpans, spansContain, type SequenceSet, type Span } from './sequence.js';
import type { LoadedMessage } from './messages.js';

export interface SearchTarget {
  msn: number;
  record: MessageRecord;
  /** The message's bytes and parse, read on first use. */
  load(): LoadedMessage | undefined;
}

export interface SearchScope {
  /** Message count and highest UID of the session's view. */
  count: number;
  highestUid: number;
  /** The saved result (`$`, RFC 5182) as message numbers and as UIDs. */
  savedMsns?: readonly number[];
  savedUids?: readonly number[];
}

type Predicate = (target: SearchTarget) => boolean;

/** Compiles a key; a sequence set outside the mailbox throws SequenceError (answered BAD). */
export function compileSearch(key: SearchKey, scope: SearchScope): Predicate {
  return compile(key, scope).test;
}

interface Compiled {
  test: Predicate;
  /** 0: state only; 1: reads the message. */
  cost: number;
}

function compile(key: SearchKey, scope: SearchScope): Compiled {
  switch (key.type) {
    case 'all':
      return { test: () => true, cost: 0 };
    case 'and': {
      const parts = key.keys.map((k) => compile(k, scope)).sort((a, b) => a.cost - b.cost);
      return { test: (t) => parts.every((p) => p.test(t)), cost: Math.max(0, ...parts.map((p) => p.cost)) };
    }
    case 'or': {
      const [a, b] = [compile(key.left, scope), compile(key.right, scope)].sort((x, y) => x.cost - y.cost);
      return { test: (t) => a.test(t) || b.test(t), cost: Math.max(a.cost, b.cost) };
    }
    case 'not': {
      const inner = compile(key.key, scope);
      return { test: (t) => !inner.test(t), cost: inner.cost };
    }
    case 'flag':
      // \Recent is not kept (IMAP4rev2 dropped it): no message is recent.
      if (key.flag === '\\Recent') return { test: () => !key.set, cost: 0 };
      return { test: (t) => t.record.flags.includes(key.flag) === key.set, cost: 0 };
    case 'size':
      return { test: key.op === 'larger' ? (t) => t.record.size > key.size : (t) => t.record.size < key.size, cost: 0 };
    case 'modseq': {
      const modseq = Number(key.modseq);
      return { test: (t) => t.record.modseq >= modseq, cost: 0 };
    }
    case 'uid': {
      const spans = normalizeSpans(key.set, scope.highestUid, scope.savedUids);
      return { test: (t) => spansContain(spans, t.record.uid), cost: 0 };
    }
    case 'sequence': {
      const spans = sequenceSpans(key.set, scope);
      return { test: (t) => spansContain(spans, t.msn), cost: 0 };
    }
    case 'date': {
      const wanted = dayNumber(key.date);
      const compare = key.op === 'before' ? (day: number) => day < wanted : key.op === 'on' ? (day: number) => day === wanted : (day: number) => day >= wanted;
      if (key.of === 'internal') return { test: (t) => compare(localDay(t.record.internalDate)), cost: 0 };
      return {
        test: (t) => {
          const parsed = t.load()?.parsed;
          if (parsed === undefined || parsed.sentDate === null) return false;
          return compare(zonedDay(parsed.sentDate, parsed.sentZone ?? 0));
        },
        cost: 1,
      };
    }
    case 'header': {
      const { field, value } = key;
      return {
        test: (t) => {
          const message = t.load();
          if (message === undefined) return false;
          const values = headerValues(message.raw, message.parsed, field);
          return value === '' ? values.length > 0 : values.some((v) => containsFolded(v, value));
        },
        cost: 1,
      };
    }
    case 'body':
    case 'text': {
      const { value } = key;
      const withHeader = key.type === 'text';
      return {
        test: (t) => {
          const message = t.load();
          if (message === undefined) return false;
          if (withHeader && containsFolded(headerText(message.raw, message.parsed), value)) return true;
          return containsFolded(bodyText(message.raw, message.parsed), value);
        },
        cost: 1,
      };
    }
  }
}

function sequenceSpans(set: SequenceSet, scope: SearchScope): Span[] {
  // An empty mailbox answers any sequence set with nothing rather than BAD.
  if (scope.count === 0) return [];
  return messageSpans(set, scope.count, scope.savedMsns);
}

/** Days since the epoch of a calendar date. */
function dayNumber(date: ImapDate): number {
  return Math.floor(Date.UTC(date.year, date.month - 1, date.day) / 86_400_000);
}

/** The day of an instant in this device's time zone (internal dates "disregarding time and timezone"). */
function localDay(ms: number): number {
  const d = new Date(ms);
  return Math.floor(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 86_400_000);
}

/** The day of an instant in the zone its Date header was written in. */
function zonedDay(ms: number, zoneMinutes: number): number {
  return Math.floor((ms + zoneMinutes * 60_000) / 86_400_000);
}
