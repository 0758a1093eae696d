/**
 * SORT (RFC 5256, with DISPLAYFROM/DISPLAYTO of RFC 5957): messages ordered by a list of
 * criteria, ties broken by arrival order (the UID).
 */
import { decodeEncodedWords, foldCase, parseAddressList } from '../message/index.js';
import { baseSubject } from './base-subject.js';
import type { LoadedMessage } from './messages.js';
import type { SortCriterion, SortKey } from './parser.js';

type Key = string | number;

export function sortMessages(uids: readonly number[], criteria: readonly SortCriterion[], load: (uid: number) => LoadedMessage | undefined): number[] {
  // Keys computed once per message, not once per comparison.
  const keys = new Map<number, Key[]>();
  for (const uid of uids) {
    const message = load(uid);
    keys.set(uid, criteria.map((c) => sortKey(c.key, uid, message)));
  }
  return [...uids].sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    for (let i = 0; i < criteria.length; i++) {
      const order = compare(ka[i], kb[i]);
      if (order !== 0) return criteria[i].reverse ? -order : order;
    }
    return a - b;
  });
}

function compare(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortKey(key: SortKey, uid: number, message: LoadedMessage | undefined): Key {
  const parsed = message?.parsed;
  switch (key) {
    case 'ARRIVAL':
      return uid;
    case 'SIZE':
      return parsed?.size ?? 0;
    case 'DATE':
      return parsed?.sentDate ?? 0;
    case 'SUBJECT':
      return baseSubject(parsed?.headers.subject);
    case 'FROM':
      return firstMailbox(parsed?.headers.from);
    case 'TO':
      return firstMailbox(parsed?.headers.to);
    case 'CC':
      return firstMailbox(parsed?.headers.cc);
    case 'DISPLAYFROM':
      return displayName(parsed?.headers.from);
    case 'DISPLAYTO':
      return displayName(parsed?.headers.to);
  }
}

/** The addr-mailbox of the first address, case folded (RFC 5256 "FROM"). */
function firstMailbox(value: string | undefined): string {
  const first = value === undefined ? undefined : parseAddressList(value).find((a) => a.mailbox !== null);
  return foldCase(first?.mailbox ?? '');
}

/** The display name of the first address, else its address (RFC 5957). */
function displayName(value: string | undefined): string {
  const first = value === undefined ? undefined : parseAddressList(value).find((a) => a.mailbox !== null);
  if (first === undefined) return '';
  const name = first.name === null ? '' : decodeEncodedWords(first.name).trim();
  return foldCase(name !== '' ? name : `${first.mailbox}@${first.host ?? ''}`);
}
