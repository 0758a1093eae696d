/**
 * Small models of git's four object kinds and their exact byte formats, the way git and
 * isomorphic-git write them: trees sorted git's way, commits and tags with their headers.
 */
import { sha1, type GitObjectType } from '../native.js';
import { StoreError, corrupt } from './errors.js';

export type ObjectType = GitObjectType;
/** A SHA-1 object id as 40 lowercase hex digits. */
export type ObjectId = string;

export const OBJECT_TYPES: readonly ObjectType[] = ['blob', 'tree', 'commit', 'tag'];
export const ZERO_ID: ObjectId = '0'.repeat(40);
const ID_PATTERN = /^[0-9a-f]{40}$/;

export function isObjectId(text: string): boolean {
  return ID_PATTERN.test(text);
}

export interface RawObject {
  type: ObjectType;
  content: Buffer;
}

export function hashObject(type: ObjectType, content: Uint8Array): ObjectId {
  return sha1.hashObject(type, content).toString('hex');
}

/** `<type> <size>\0` — the header hashed (and stored in loose objects) before the content. */
export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`, 'latin1');
}

// ---- trees ---------------------------------------------------------------------------------

export type TreeEntryMode = '100644' | '100755' | '120000' | '40000' | '160000';

export interface TreeEntry {
  mode: TreeEntryMode;
  name: string;
  id: ObjectId;
}

const MODES: ReadonlySet<string> = new Set(['100644', '100755', '120000', '40000', '160000']);

export function isTreeMode(mode: string): boolean {
  return mode === '40000';
}

/** git sorts tree entries by name, comparing a directory's name as if it ended in '/'. */
function sortKey(entry: TreeEntry): Buffer {
  return Buffer.from(isTreeMode(entry.mode) ? `${entry.name}/` : entry.name, 'utf8');
}

export function sortTreeEntries(entries: TreeEntry[]): TreeEntry[] {
  return entries
    .map((entry) => ({ entry, key: sortKey(entry) }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map(({ entry }) => entry);
}

function compareEntries(a: TreeEntry, b: TreeEntry): number {
  return Buffer.compare(sortKey(a), sortKey(b));
}

/**
 * Whether `a` sorts before `b` in git's order (a directory's name compared as if it ended in
 * '/'), decided on the strings, without encoding; undefined where UTF-16 and UTF-8 order
 * may disagree (from the surrogates up), so the caller compares bytes.
 */
function sortsBefore(a: TreeEntry, b: TreeEntry): boolean | undefined {
  const n = Math.min(a.name.length, b.name.length);
  for (let i = 0; i < n; i++) {
    const [x, y] = [a.name.charCodeAt(i), b.name.charCodeAt(i)];
    if (x !== y) return x < 0xd800 && y < 0xd800 ? x < y : undefined;
  }
  if (a.name.length === b.name.length) return false;
  // One name is a prefix of the other: a directory's '/' meets the longer name's next char.
  const SLASH = 0x2f;
  if (a.name.length < b.name.length) return !isTreeMode(a.mode) || b.name.charCodeAt(n) > SLASH;
  return isTreeMode(b.mode) && a.name.charCodeAt(n) < SLASH;
}

/** The entries in git's order; entries already in order (a tree with values changed) are not re-sorted. */
export function inGitOrder(entries: readonly TreeEntry[]): readonly TreeEntry[] {
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1]!, entries[i]!];
    if (!(sortsBefore(a, b) ?? compareEntries(a, b) < 0)) return sortTreeEntries([...entries]);
  }
  return entries;
}

export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = inGitOrder(entries);
  // One buffer, sized first: this runs for every directory of every commit.
  let size = 0;
  for (const e of sorted) size += e.mode.length + Buffer.byteLength(e.name, 'utf8') + 22;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const e of sorted) {
    at += out.write(e.mode, at, 'latin1');
    out[at++] = 0x20;
    at += out.write(e.name, at, 'utf8');
    out[at++] = 0;
    at += out.write(e.id, at, 'hex');
  }
  return out;
}

export function decodeTree(content: Buffer, id = 'tree'): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = space < 0 ? -1 : content.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > content.length) throw corrupt(`tree ${id} is truncated`);
    let mode = content.toString('latin1', at, space);
    // Old git wrote '040000'; it means the same.
    if (mode === '040000') mode = '40000';
    if (!MODES.has(mode)) throw corrupt(`tree ${id} has an entry with bad mode ${mode}`);
    const name = content.toString('utf8', space + 1, nul);
    if (name === '' || name.includes('/')) throw corrupt(`tree ${id} has a bad entry name`);
    entries.push({ mode: mode as TreeEntryMode, name, id: content.toString('hex', nul + 1, nul + 21) });
    at = nul + 21;
  }
  return entries;
}

// ---- commits and tags ----------------------------------------------------------------------

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes east of UTC, as git writes it (+0100 = 60). */
  timezoneOffset: number;
}

export interface Commit {
  tree: ObjectId;
  parents: ObjectId[];
  author: Signature;
  committer: Signature;
  message: string;
  /** Headers other than the ones above (gpgsig, encoding…), kept so re-encoding is exact. */
  extraHeaders?: [string, string][];
}

export interface Tag {
  object: ObjectId;
  type: ObjectType;
  tag: string;
  tagger?: Signature;
  message: string;
}

function formatTimezone(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

function cleanIdentity(text: string): string {
  // Angle brackets and newlines would break the header; git strips them too.
  return text.replace(/[<>\n\0]/g, '').trim();
}

export function formatSignature(sig: Signature): string {
  return `${cleanIdentity(sig.name)} <${cleanIdentity(sig.email)}> ${sig.timestamp} ${formatTimezone(sig.timezoneOffset)}`;
}

export function parseSignature(text: string): Signature {
  const m = /^(.*) <(.*)> (-?\d+) ([+-])(\d\d)(\d\d)$/.exec(text);
  if (m === null) throw corrupt(`bad signature line '${text.slice(0, 80)}'`);
  const minutes = Number(m[5]) * 60 + Number(m[6]);
  return { name: m[1]!, email: m[2]!, timestamp: Number(m[3]), timezoneOffset: m[4] === '-' ? -minutes : minutes };
}

/** Header lines continue on lines starting with a space (multi-line values such as gpgsig). */
function headerLines(key: string, value: string): string {
  return `${key} ${value.replace(/\n/g, '\n ')}\n`;
}

export function encodeCommit(commit: Commit): Buffer {
  let text = `tree ${commit.tree}\n`;
  for (const parent of commit.parents) text += `parent ${parent}\n`;
  text += `author ${formatSignature(commit.author)}\n`;
  text += `committer ${formatSignature(commit.committer)}\n`;
  for (const [key, value] of commit.extraHeaders ?? []) text += headerLines(key, value);
  text += `\n${commit.message}`;
  return Buffer.from(text, 'utf8');
}

function parseHeaders(content: Buffer, id: string): { headers: [string, string][]; message: string } {
  const text = content.toString('utf8');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const message = split < 0 ? '' : text.slice(split + 2);
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    if (line.startsWith(' ') && headers.length > 0) {
      headers[headers.length - 1]![1] += `\n${line.slice(1)}`;
      continue;
    }
    const space = line.indexOf(' ');
    if (space <= 0) throw corrupt(`object ${id} has a malformed header line`);
    headers.push([line.slice(0, space), line.slice(space + 1)]);
  }
  return { headers, message };
}

export function decodeCommit(content: Buffer, id = 'commit'): Commit {
  const { headers, message } = parseHeaders(content, id);
  const commit: Partial<Commit> & { parents: ObjectId[]; extraHeaders: [string, string][] } = { parents: [], extraHeaders: [], message };
  for (const [key, value] of headers) {
    if (key === 'tree' && commit.tree === undefined) commit.tree = value;
    else if (key === 'parent') commit.parents.push(value);
    else if (key === 'author' && commit.author === undefined) commit.author = parseSignature(value);
    else if (key === 'committer' && commit.committer === undefined) commit.committer = parseSignature(value);
    else commit.extraHeaders.push([key, value]);
  }
  if (commit.tree === undefined || !isObjectId(commit.tree) || !commit.parents.every(isObjectId)) {
    throw corrupt(`commit ${id} has a bad tree or parent`);
  }
  if (commit.author === undefined || commit.committer === undefined) throw corrupt(`commit ${id} lacks author or committer`);
  if (commit.extraHeaders.length === 0) delete (commit as Partial<Commit>).extraHeaders;
  return commit as Commit;
}

export function encodeTag(tag: Tag): Buffer {
  let text = `object ${tag.object}\ntype ${tag.type}\ntag ${tag.tag}\n`;
  if (tag.tagger !== undefined) text += `tagger ${formatSignature(tag.tagger)}\n`;
  text += `\n${tag.message}`;
  return Buffer.from(text, 'utf8');
}

export function decodeTag(content: Buffer, id = 'tag'): Tag {
  const { headers, message } = parseHeaders(content, id);
  const get = (key: string) => headers.find(([k]) => k === key)?.[1];
  const object = get('object');
  const type = get('type');
  const name = get('tag');
  const tagger = get('tagger');
  if (object === undefined || !isObjectId(object) || !OBJECT_TYPES.includes(type as ObjectType) || name === undefined) {
    throw corrupt(`tag ${id} is malformed`);
  }
  return { object, type: type as ObjectType, tag: name, ...(tagger === undefined ? {} : { tagger: parseSignature(tagger) }), message };
}

export function assertObjectType(type: string, context: string): ObjectType {
  if (!OBJECT_TYPES.includes(type as ObjectType)) throw new StoreError('ECORRUPT', `${context}: unknown object type '${type}'`);
  return type as ObjectType;
}
