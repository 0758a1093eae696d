/**
 * The vCard model of CardDAV (RFC 6352): one vCard 3.0 (RFC 2426) or 4.0 (RFC 6350) per
 * address object, read into its content lines. Values are kept as written (escapes and all),
 * so nothing a client wrote is reinterpreted; `unescapeValue` gives the text a person reads.
 *
 * A small hand parser rather than ical.js: ical.js accepts an END that does not match its
 * BEGIN and properties without a name, throws TypeErrors on a byte-order mark or text before
 * BEGIN, rejects the bare parameters old exporters still write (`TEL;CELL:`), and rewrites
 * values (dates, structured values) that filters must compare as written.
 *
 * Lenient where real clients differ (LF or CRLF, tab or space folding, VERSION anywhere,
 * lowercase names, `TYPE=a,b` or repeated `TYPE`, quoted lists as in RFC 6350's examples,
 * RFC 6868 ^-escapes, blank lines); strict on structure: exactly one BEGIN:VCARD … END:VCARD,
 * VERSION 3.0 or 4.0, one non-empty UID, and FN (or at least N, as some 3.0 writers omit FN).
 */
import { unfoldLines } from '../../store/index.js';

export type VCardPrecondition = 'valid-address-data' | 'supported-address-data';

/** Why a body is not an address object; `precondition` is the CARDDAV error element to answer with. */
export class InvalidVCard extends Error {
  override name = 'InvalidVCard';
  constructor(
    readonly precondition: VCardPrecondition,
    message: string,
  ) {
    super(message);
  }
}

export interface VCardProperty {
  /** `item1` of `item1.EMAIL`, upper-cased; absent when ungrouped. */
  readonly group?: string;
  /** Upper-cased. */
  readonly name: string;
  /** By upper-cased parameter name; values as written, lists split (`TYPE=work,home` → two). */
  readonly params: ReadonlyMap<string, readonly string[]>;
  /** The value as written, unfolded, escapes kept. */
  readonly value: string;
}

export interface VCard {
  /** The UID's text (unescaped). */
  readonly uid: string;
  readonly version: '3.0' | '4.0';
  /** Every content line between BEGIN and END, in order (VERSION and UID included). */
  readonly properties: readonly VCardProperty[];
}

const NAME = /^[A-Za-z0-9-]+$/;
// Controls other than tab are not allowed in a value (RFC 6350 §3.3 VALUE-CHAR).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Parses one address object; throws InvalidVCard, and nothing else, for anything that is not one. */
export function parseVCard(bytes: Buffer): VCard {
  let text: string;
  try {
    // fatal: invalid UTF-8 is refused rather than silently replaced; the BOM is dropped.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidVCard('valid-address-data', 'not UTF-8');
  }
  const lines = unfoldLines(text).filter((line) => line !== '');
  if (lines.length === 0) throw new InvalidVCard('valid-address-data', 'empty body');
  if (!/^BEGIN:VCARD$/i.test(lines[0]!)) throw new InvalidVCard('valid-address-data', 'not a vCard: it does not start with BEGIN:VCARD');
  const end = lines.findIndex((line, i) => i > 0 && /^(BEGIN|END)[;:]/i.test(line));
  if (end === -1) throw new InvalidVCard('valid-address-data', 'no END:VCARD');
  if (/^BEGIN/i.test(lines[end]!)) throw new InvalidVCard('valid-address-data', 'a component nested in the vCard');
  if (!/^END:VCARD$/i.test(lines[end]!)) throw new InvalidVCard('valid-address-data', 'an END that does not match BEGIN:VCARD');
  if (end !== lines.length - 1) {
    const another = lines.slice(end + 1).some((line) => /^BEGIN:VCARD$/i.test(line));
    throw new InvalidVCard('valid-address-data', another ? 'more than one vCard: an address object holds exactly one' : 'content after END:VCARD');
  }
  // The version before the lines: a 2.1 card (quoted-printable soft breaks are not folds) is
  // unsupported, not malformed.
  const version = lines
    .slice(1, end)
    .find((line) => /^VERSION:/i.test(line))
    ?.slice('VERSION:'.length)
    .trim();
  if (version === undefined) throw new InvalidVCard('valid-address-data', 'no VERSION');
  if (version !== '3.0' && version !== '4.0') throw new InvalidVCard('supported-address-data', `vCard version ${version.slice(0, 20)} is not supported (3.0 and 4.0 are)`);
  const properties = lines.slice(1, end).map(parseContentLine);
  onlyValue(properties, 'VERSION'); // refuses a second one
  const uidValue = onlyValue(properties, 'UID');
  const uid = uidValue === undefined ? '' : unescapeValue(uidValue);
  if (uid.trim() === '') throw new InvalidVCard('valid-address-data', 'no UID: CardDAV requires one in every vCard');
  if (!properties.some((p) => p.name === 'FN' || p.name === 'N')) throw new InvalidVCard('valid-address-data', 'no FN (nor N)');
  return { uid, version, properties };
}

/** The value of the one property `name`; undefined when absent; InvalidVCard when repeated. */
function onlyValue(properties: readonly VCardProperty[], name: string): string | undefined {
  const found = properties.filter((p) => p.name === name);
  if (found.length > 1) throw new InvalidVCard('valid-address-data', `more than one ${name}`);
  return found[0]?.value;
}

// Sticky patterns read a line in place: slicing the rest of a long line at every parameter
// would cost quadratic time on a hostile one.
const HEAD = /(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)(?=[;:])/y;
const PARAM_NAME = /;([^=;:"]*)(=?)/y;
const UNQUOTED = /[^";:,]*/y;

/** `[group "."] name *(";" param) ":" value` (RFC 6350 §3.3). */
function parseContentLine(line: string): VCardProperty {
  const invalid = (why: string) => new InvalidVCard('valid-address-data', `${why}: ${JSON.stringify(line.slice(0, 60))}`);
  const read = (pattern: RegExp, at: number): RegExpExecArray | null => {
    pattern.lastIndex = at;
    return pattern.exec(line);
  };
  const head = read(HEAD, 0);
  if (head === null) throw invalid('not a content line');
  const params = new Map<string, string[]>();
  let at = head[0].length;
  while (line[at] === ';') {
    const [whole, paramName, equals] = read(PARAM_NAME, at)!;
    if (!NAME.test(paramName!)) throw invalid('a malformed parameter');
    at += whole.length;
    // A bare parameter (`TEL;CELL:`) is vCard 2.1's spelling of a TYPE.
    const name = equals === '' ? 'TYPE' : paramName!.toUpperCase();
    const values = params.get(name) ?? [];
    params.set(name, values);
    if (equals === '') {
      values.push(paramName!);
      continue;
    }
    for (;;) {
      let raw: string;
      if (line[at] === '"') {
        const close = line.indexOf('"', at + 1);
        if (close === -1) throw invalid('an unterminated quoted parameter');
        raw = line.slice(at + 1, close);
        at = close + 1;
        // RFC 6350's own examples quote TYPE lists: TYPE="voice,home".
        for (const item of name === 'TYPE' ? raw.split(',') : [raw]) values.push(decodeCaret(item));
      } else {
        raw = read(UNQUOTED, at)![0];
        at += raw.length;
        values.push(decodeCaret(raw));
      }
      if (CONTROL.test(raw)) throw invalid('a control character in a parameter');
      if (line[at] !== ',') break;
      at++;
    }
    if (line[at] !== ';' && line[at] !== ':') throw invalid('a malformed parameter');
  }
  if (line[at] !== ':') throw invalid('no value');
  const value = line.slice(at + 1);
  if (CONTROL.test(value)) throw invalid('a control character in a value');
  const [, group, name] = head;
  return { ...(group === undefined ? {} : { group: group.toUpperCase() }), name: name!.toUpperCase(), params, value };
}

/** RFC 6868: ^n is a newline, ^' a double quote, ^^ a caret in parameter values. */
function decodeCaret(value: string): string {
  return value.replace(/\^(n|N|'|\^)/g, (_, c: string) => (c === "'" ? '"' : c === '^' ? '^' : '\n'));
}

/** A value's text: `\n` is a newline, `\,` `\;` `\\` the character itself (RFC 6350 §3.4). */
export function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}
