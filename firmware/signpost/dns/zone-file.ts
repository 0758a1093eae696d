/**
 * Master files (RFC 1035 section 5), the form a zone is kept in the store and shown by
 * `zone show`: $ORIGIN, $TTL, `@`, relative names, an owner carried over from the line
 * before, TTL and class in either order, parentheses across lines, `;` comments, quoted
 * strings. Every mistake is a ZoneSyntaxError naming the line.
 */
import { lowerName } from '../../native.js';
import { ZoneSyntaxError, formatRdata, parseRdata, typeCode, typeName, type Token } from './rdata.js';

export interface ZoneRecord {
  /** Absolute, lower case. */
  name: string;
  type: number;
  ttl: number;
  data: Buffer;
}

const MAX_TTL = 2 ** 31 - 1; // RFC 2181 section 8

/** Splits the text into logical lines of tokens (parentheses joined), with their line numbers. */
function logicalLines(text: string): { line: number; startsBlank: boolean; tokens: Token[] }[] {
  const lines: { line: number; startsBlank: boolean; tokens: Token[] }[] = [];
  let current: { line: number; startsBlank: boolean; tokens: Token[] } | undefined;
  let depth = 0;
  let lineNumber = 1;
  let i = 0;
  const fail = (message: string): never => {
    throw new ZoneSyntaxError(`line ${lineNumber}: ${message}`);
  };
  while (i <= text.length) {
    const c = text[i];
    if (current === undefined) current = { line: lineNumber, startsBlank: c === ' ' || c === '\t', tokens: [] };
    if (c === undefined || c === '\n') {
      if (depth === 0) {
        if (current.tokens.length > 0) lines.push(current);
        current = undefined;
      } else if (c === undefined) {
        fail('a parenthesis is not closed');
      }
      lineNumber++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      if (depth === 0) fail("')' without '('");
      depth--;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\n') fail('a quoted string runs past the end of the line');
        if (text[j] === '\\' && j + 1 < text.length) value += text[j++];
        value += text[j++];
      }
      if (j >= text.length) fail('a quoted string is not closed');
      current.tokens.push({ text: value, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !' \t\r\n;()"'.includes(text[j]!)) j += text[j] === '\\' ? 2 : 1;
      current.tokens.push({ text: text.slice(i, j), quoted: false });
      i = j;
    }
  }
  return lines;
}

/** Makes `text` absolute against `origin` (`@` is the origin itself). */
function absolute(text: string, origin: string): string {
  if (text === '@') return origin;
  if (/(^|[^\\])(\\\\)*\.$/.test(text)) return text;
  return origin === '.' ? `${text}.` : `${text}.${origin}`;
}

function ttlValue(text: string): number | undefined {
  // Plain seconds, or BIND's units (1h30m).
  if (/^\d+$/.test(text)) return Number(text);
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  if (!/^(\d+[smhdw])+$/i.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.toLowerCase().matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * units[unit!]!;
  return total;
}

/**
 * Parses a zone's text. `origin` is the zone's name (absolute); records must lie at or under
 * it, and wildcards are refused (this server does not synthesise from them).
 */
export function parseZoneFile(text: string, origin: string, defaultTtl = 3600): ZoneRecord[] {
  const zone = lowerName(origin);
  let currentOrigin = zone;
  let ttl = defaultTtl;
  let owner: string | undefined;
  const records: ZoneRecord[] = [];
  for (const { line, startsBlank, tokens } of logicalLines(text)) {
    const fail = (message: string): never => {
      throw new ZoneSyntaxError(`line ${line}: ${message}`);
    };
    const first = tokens[0]!;
    if (!first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      if (directive === '$ORIGIN' && tokens.length === 2) currentOrigin = lowerName(absolute(tokens[1]!.text, currentOrigin));
      else if (directive === '$TTL' && tokens.length === 2) ttl = ttlValue(tokens[1]!.text) ?? fail(`bad $TTL '${tokens[1]!.text}'`);
      else fail(`unsupported directive ${first.text}`);
      continue;
    }
    let at = 0;
    if (!startsBlank) owner = lowerName(absolute(tokens[at++]!.text, currentOrigin));
    if (owner === undefined) fail('the first record has no owner name');
    let recordTtl: number | undefined;
    let type: number | undefined;
    while (at < tokens.length && type === undefined) {
      const word = tokens[at++]!.text;
      const asTtl = ttlValue(word);
      if (asTtl !== undefined && recordTtl === undefined) recordTtl = asTtl;
      else if (word.toUpperCase() === 'IN') continue;
      else if (/^(CH|HS|CS|CLASS\d+)$/i.test(word)) fail(`class ${word} is not served (only IN)`);
      else type = typeCode(word) ?? fail(`unknown type '${word}'`);
    }
    if (type === undefined) fail('no record type');
    if (owner!.startsWith('*.') || owner === '*.') fail('wildcard names are not supported');
    if (owner !== zone && !owner!.endsWith(`.${zone}`) && zone !== '.') fail(`${owner} is outside the zone ${zone}`);
    const recordTtlValue = recordTtl ?? ttl;
    if (recordTtlValue > MAX_TTL) fail(`TTL ${recordTtlValue} is over ${MAX_TTL}`);
    try {
      // Names inside RDATA are kept in lower case: that is their DNSSEC canonical form (RFC 4034 6.2).
      const data = parseRdata(type!, tokens.slice(at), (name) => lowerName(absolute(name, currentOrigin)));
      records.push({ name: owner!, type: type!, ttl: recordTtlValue, data });
    } catch (error) {
      if (error instanceof ZoneSyntaxError) fail(`${typeName(type!)}: ${error.message}`);
      throw error;
    }
  }
  return records;
}

/** One record per line, absolute names, in the order given. */
export function formatZoneFile(records: readonly ZoneRecord[]): string {
  return records.map((r) => `${r.name}\t${r.ttl}\tIN\t${typeName(r.type)}\t${formatRdata(r.type, r.data)}`).join('\n') + '\n';
}
