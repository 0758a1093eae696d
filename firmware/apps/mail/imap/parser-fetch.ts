/**
 * FETCH data items (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ): macros expanded, body
 * sections parsed, and each item's response label computed the way clients expect it echoed
 * (`BODY.PEEK[HEADER.FIELDS (From)]<0.100>` is answered as `BODY[HEADER.FIELDS (From)]<0>`).
 */
import { Cursor, isAtomText, LBRACKET, LPAREN, RBRACKET, SP } from './parser-cursor.js';

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface Section {
  /** Part path (`1.2` → [1, 2]); empty for the whole message. */
  part: number[];
  text?: SectionText;
  /** Field names of HEADER.FIELDS[.NOT], as the client spelled them. */
  fields?: string[];
}

export interface Partial {
  offset: number;
  length: number;
}

export type FetchAttribute = 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODY' | 'BODYSTRUCTURE' | 'UID' | 'MODSEQ';

/**
 * `label` is the item name for the response. RFC822, RFC822.HEADER and RFC822.TEXT are body
 * sections (whole message, HEADER with peek, TEXT) labelled with their old names.
 */
export type FetchItem =
  | { kind: 'attribute'; name: FetchAttribute; label: string }
  | { kind: 'section'; section: Section; peek: boolean; partial?: Partial; label: string }
  | { kind: 'binary'; part: number[]; peek: boolean; partial?: Partial; label: string }
  | { kind: 'binarySize'; part: number[]; label: string };

export type FetchMacro = 'ALL' | 'FAST' | 'FULL';

const MACROS: Record<FetchMacro, FetchAttribute[]> = {
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const ATTRIBUTES = new Set<string>(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'UID', 'MODSEQ']);

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

export function isFetchMacro(word: string): word is FetchMacro {
  return word === 'ALL' || word === 'FAST' || word === 'FULL';
}

export function macroItems(macro: FetchMacro): FetchItem[] {
  return MACROS[macro].map((name) => ({ kind: 'attribute', name, label: name }));
}

/** `ALL` / `FAST` / `FULL` / fetch-att / "(" fetch-att *(SP fetch-att) ")". */
export function parseFetchItems(c: Cursor): { items: FetchItem[]; macro?: FetchMacro } {
  if (!c.peekIs(LPAREN)) {
    const word = c.peekKeyword();
    if (isFetchMacro(word)) {
      c.acceptKeyword(word);
      return { items: macroItems(word), macro: word };
    }
    return { items: [fetchAtt(c)] };
  }
  const items: FetchItem[] = [];
  for (const group of c.parenList(() => fetchAttOrMacro(c), false, 'fetch items')) items.push(...group);
  return { items };
}

/** Macros inside a list are not in the grammar, but expanding them costs nothing. */
function fetchAttOrMacro(c: Cursor): FetchItem[] {
  const word = c.peekKeyword();
  if (isFetchMacro(word)) {
    c.acceptKeyword(word);
    return macroItems(word);
  }
  return [fetchAtt(c)];
}

/** Reads the name part of an item: letters, digits and dots (stops at `[`, `<`, SP, `)`). */
function itemName(c: Cursor): string {
  let name = '';
  for (;;) {
    const b = c.peek();
    const isName = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2e;
    if (!isName || name.length > 32) break;
    name += String.fromCharCode(b);
    c.advance();
  }
  if (name === '') c.fail('expected a fetch item');
  return name.toUpperCase();
}

function fetchAtt(c: Cursor): FetchItem {
  const name = itemName(c);
  if (ATTRIBUTES.has(name)) return { kind: 'attribute', name: name as FetchAttribute, label: name };
  switch (name) {
    case 'RFC822':
      return { kind: 'section', section: { part: [] }, peek: false, label: 'RFC822' };
    case 'RFC822.HEADER':
      return { kind: 'section', section: { part: [], text: 'HEADER' }, peek: true, label: 'RFC822.HEADER' };
    case 'RFC822.TEXT':
      return { kind: 'section', section: { part: [], text: 'TEXT' }, peek: false, label: 'RFC822.TEXT' };
    case 'BODY':
    case 'BODY.PEEK': {
      if (!c.peekIs(LBRACKET)) {
        if (name === 'BODY.PEEK') c.fail('BODY.PEEK needs a section');
        return { kind: 'attribute', name: 'BODY', label: 'BODY' };
      }
      const { section, text } = parseSection(c);
      const partial = parsePartial(c);
      const label = `BODY[${text}]${partial === undefined ? '' : `<${partial.offset}>`}`;
      return partial === undefined ? { kind: 'section', section, peek: name === 'BODY.PEEK', label } : { kind: 'section', section, peek: name === 'BODY.PEEK', partial, label };
    }
    case 'BINARY':
    case 'BINARY.PEEK':
    case 'BINARY.SIZE': {
      const part = parseBinarySection(c);
      const path = part.join('.');
      if (name === 'BINARY.SIZE') return { kind: 'binarySize', part, label: `BINARY.SIZE[${path}]` };
      const partial = parsePartial(c);
      const label = `BINARY[${path}]${partial === undefined ? '' : `<${partial.offset}>`}`;
      const peek = name === 'BINARY.PEEK';
      return partial === undefined ? { kind: 'binary', part, peek, label } : { kind: 'binary', part, peek, partial, label };
    }
    default:
      return c.fail(`unknown fetch item ${name}`);
  }
}

const isDigit = (b: number) => b >= 0x30 && b <= 0x39;

/**
 * section-part: nz-number *("." nz-number). `dotted` says it ended with the `.` that joins
 * it to a section-text (`1.2.HEADER`).
 */
function sectionPart(c: Cursor): { part: number[]; dotted: boolean } {
  const part: number[] = [];
  while (isDigit(c.peek())) {
    part.push(c.nzNumber('a part number'));
    if (part.length > 64) c.fail('section part nested too deeply');
    if (!c.peekIs(0x2e)) break;
    c.advance();
    if (!isDigit(c.peek())) return { part, dotted: true };
  }
  return { part, dotted: false };
}

/** "[" [section-spec] "]", with the spelling for the label. */
export function parseSection(c: Cursor): { section: Section; text: string } {
  c.expect(LBRACKET, '[');
  const { part, dotted } = sectionPart(c);
  const section: Section = { part };
  let text = part.join('.');
  if (dotted || part.length === 0) {
    let keyword = '';
    for (;;) {
      const b = c.peek();
      if (!((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2e) || keyword.length > 20) break;
      keyword += String.fromCharCode(b);
      c.advance();
    }
    keyword = keyword.toUpperCase();
    const known = keyword === 'HEADER' || keyword === 'HEADER.FIELDS' || keyword === 'HEADER.FIELDS.NOT' || keyword === 'TEXT' || keyword === 'MIME';
    // An empty keyword is `[]` (the whole message), but not `[1.]`.
    if (keyword === '' ? dotted : !known) c.fail('invalid section');
    if (keyword === 'MIME' && part.length === 0) c.fail('MIME needs a part number');
    if (keyword !== '') {
      section.text = keyword as SectionText;
      text += `${part.length > 0 ? '.' : ''}${keyword}`;
    }
    if (keyword === 'HEADER.FIELDS' || keyword === 'HEADER.FIELDS.NOT') {
      c.expect(SP, 'a space before the header list');
      section.fields = c.parenList(() => headerFieldName(c), false, 'header list');
      text += ` (${section.fields.map(spellField).join(' ')})`;
    }
  }
  c.expect(RBRACKET, ']');
  return { section, text };
}

/** header-fld-name: an astring holding a field name (printable ASCII except `:`). */
function headerFieldName(c: Cursor): string {
  const name = c.astring('a header field name');
  if (name.length === 0 || name.length > 200) c.fail('invalid header field name');
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch <= 0x20 || ch >= 0x7f || ch === 0x3a) c.fail('invalid header field name');
  }
  return name;
}

/** A field name as it goes back in the label: an atom when it can be one, else quoted. */
function spellField(name: string): string {
  if (isAtomText(name)) return name;
  let out = '"';
  for (const ch of name) out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  return `${out}"`;
}

/** section-binary: "[" [section-part] "]". */
function parseBinarySection(c: Cursor): number[] {
  c.expect(LBRACKET, '[ after BINARY');
  const { part, dotted } = sectionPart(c);
  if (dotted) c.fail('invalid BINARY section');
  c.expect(RBRACKET, '] after the BINARY part');
  return part;
}

/** partial: "<" number64 "." nz-number64 ">". */
function parsePartial(c: Cursor): Partial | undefined {
  if (!c.peekIs(0x3c)) return undefined;
  c.advance();
  const offset = c.number('a partial offset', MAX_OFFSET);
  c.expect(0x2e, '. in the partial range');
  const length = c.nzNumber('a partial length', MAX_OFFSET);
  c.expect(0x3e, '> after the partial range');
  return { offset, length };
}

/** fetch-modifiers: SP "(" fetch-modifier *(SP fetch-modifier) ")" (RFC 7162). */
export function parseFetchModifiers(c: Cursor, uid: boolean): { changedSince?: bigint; vanished: boolean } {
  let changedSince: bigint | undefined;
  let vanished = false;
  if (c.spIf()) {
    c.parenList(
      () => {
        const word = c.keyword('a FETCH modifier');
        if (word === 'CHANGEDSINCE' && changedSince === undefined) {
          c.sp();
          changedSince = c.modseq('a mod-sequence', true);
        } else if (word === 'VANISHED' && !vanished) {
          vanished = true;
        } else {
          c.fail(`unknown FETCH modifier ${word}`);
        }
        return word;
      },
      false,
      'FETCH modifiers',
    );
  }
  if (vanished && !uid) c.fail('VANISHED is only allowed with UID FETCH');
  if (vanished && changedSince === undefined) c.fail('VANISHED needs CHANGEDSINCE');
  return changedSince === undefined ? { vanished } : { changedSince, vanished };
}
