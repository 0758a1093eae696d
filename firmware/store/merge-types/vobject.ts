/**
 * `vobject`: iCalendar (RFC 5545) and vCard (RFC 6350) files, merged property by property.
 * Both are content lines (`[group.]NAME;PARAMS:VALUE`, folded) in BEGIN/END components.
 *
 * Components are matched by name and identity (UID, RECURRENCE-ID, TZID) where they have one,
 * else by name and position among their unidentified siblings (VALARM, STANDARD, …). A
 * component added on one side is kept, deleted on one side and untouched on the other is
 * deleted, deleted against changed is a conflict; matched ones merge recursively (a component
 * added on both sides merges against an empty base).
 *
 * Properties are single-valued slots (keyed by group and name) or, for the names in
 * MULTI_VALUED and any name that occurs twice in one version, sets keyed by group, name and
 * value: additions of both sides are kept, removals of either side applied, and an element's
 * parameters (ATTENDEE's PARTSTAT) merge like a slot. List values (CATEGORIES:a,b; EXDATE)
 * are sets of their items, written back one line per run of equal parameters. A slot or
 * element changed by one side takes that change; changed alike takes it once; changed
 * differently is a conflict, except for the bookkeeping properties (DTSTAMP, SEQUENCE, REV, …),
 * where the greater number or later time wins (digits compared as a number, then the text),
 * and one dropped on one side keeps the other side's.
 *
 * True conflicts keep both: `mergeVObject` still produces a valid object (ours where the sides
 * conflict, every other change of both sides applied) and names the conflicting properties;
 * the content type answers a conflict carrying that object, so the tree merge puts it at the
 * path and records base, ours and theirs under conflicts/ — neither version is lost.
 *
 * Output: CRLF line ends, folded at 75 octets without splitting a UTF-8 character; properties
 * before subcomponents, in base order with each side's additions after the line they follow
 * there (both sides' additions at one place ordered by content, so merging either way round
 * gives the same bytes). Input that is not UTF-8 content lines in balanced BEGIN/END, mixes
 * kinds of objects (VCALENDAR and VCARD), is nested deeper than 16 or is over 1 MiB merges as
 * opaque: a conflict.
 */
import { conflict, defineContentType, merged } from './content-type.js';

export const MAX_VOBJECT_BYTES = 1024 * 1024;
export const MAX_VOBJECT_DEPTH = 16;

/** Properties that are sets even when they occur once: each element is its own (name, value). */
const MULTI_VALUED = new Set([
  'ATTENDEE', 'EMAIL', 'TEL', 'CATEGORIES', 'EXDATE', 'RDATE', 'ATTACH', 'COMMENT', 'CONTACT', 'RELATED-TO', 'RESOURCES',
  'REQUEST-STATUS', 'FREEBUSY', 'IMPP', 'MEMBER', 'X-ADDRESSBOOKSERVER-MEMBER', 'NICKNAME',
]);

/** Of those, the ones whose value is a comma-separated list of items. */
const LIST_VALUED = new Set(['CATEGORIES', 'EXDATE', 'RDATE', 'RESOURCES', 'FREEBUSY', 'NICKNAME']);

/** Rewritten by every save, so two edits always differ there: the later one wins (Thunderbird's X-MOZ ones too). */
const BOOKKEEPING = new Set(['DTSTAMP', 'LAST-MODIFIED', 'SEQUENCE', 'REV', 'PRODID', 'X-MOZ-GENERATION', 'X-MOZ-LASTACK']);

/** What identifies a component among its siblings, in key order. */
const IDENTITY = ['UID', 'RECURRENCE-ID', 'TZID'];

const FOLD_OCTETS = 75;

interface Property {
  /** Group and name as written: `item1.EMAIL`. */
  readonly head: string;
  /** Upper-cased name, without the group. */
  readonly name: string;
  /** Upper-cased `GROUP.NAME`: the slot a single-valued property fills. */
  readonly slot: string;
  /** Parameters as written, each with its leading ';'. */
  readonly params: string;
  readonly value: string;
}

interface Component {
  /** Upper-cased; '' for the file itself, which holds only components. */
  readonly name: string;
  readonly properties: readonly Property[];
  readonly components: readonly Component[];
}

export type VObjectMerge =
  | { readonly ok: true; readonly value: Buffer; readonly conflicts: readonly string[] }
  | { readonly ok: false; readonly reason: string };

export const vobjectType = defineContentType('vobject', (base, ours, theirs) => {
  const result = mergeVObject(base, ours, theirs);
  if (!result.ok) return conflict(`vobject: ${result.reason}, merged as opaque: both sides changed`);
  if (result.conflicts.length > 0) {
    const shown = result.conflicts
      .slice(0, 5)
      .map((where) => (where.length > 120 ? `${where.slice(0, 119)}…` : where))
      .join(', ');
    const more = result.conflicts.length > 5 ? ` and ${result.conflicts.length - 5} more` : '';
    return conflict(`vobject: both sides changed ${shown}${more} differently`, result.value);
  }
  return merged(result.value);
});

/**
 * The property-level merge of three versions (an absent base is an empty file): the merged
 * object, ours wherever the sides conflict, and the conflicts by path
 * (`VCALENDAR#0/VEVENT[UID=…]/SUMMARY`); not ok when an input cannot be merged this way.
 */
export function mergeVObject(base: Buffer | undefined, ours: Buffer, theirs: Buffer): VObjectMerge {
  const inputs = [base ?? Buffer.alloc(0), ours, theirs];
  if (inputs.some((input) => input.length > MAX_VOBJECT_BYTES)) return { ok: false, reason: `over ${MAX_VOBJECT_BYTES} bytes` };
  const parsed: Component[] = [];
  for (const [i, input] of inputs.entries()) {
    const file = parseFile(input);
    if (typeof file === 'string') return { ok: false, reason: `${['base', 'ours', 'theirs'][i]} ${file}` };
    parsed.push(file);
  }
  const kinds = new Set(parsed.flatMap((file) => file.components.map((c) => c.name)));
  if (kinds.size > 1) return { ok: false, reason: `the sides hold different kinds of objects (${[...kinds].join(', ')})` };
  const conflicts: string[] = [];
  const result = mergeComponent(parsed[0]!, parsed[1]!, parsed[2]!, '', conflicts);
  return { ok: true, value: serialize(result), conflicts };
}

// ---- parsing ----------------------------------------------------------------------------------

const HEAD = /(?:[A-Za-z0-9-]+\.)?[A-Za-z0-9-]+/y;
const COMPONENT_NAME = /^[A-Za-z0-9-]+$/;

/** The file as a component tree, or why it is not one. */
function parseFile(bytes: Buffer): Component | string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'is not UTF-8';
  }
  interface Open {
    name: string;
    properties: Property[];
    components: Component[];
  }
  const stack: Open[] = [{ name: '', properties: [], components: [] }];
  for (const line of unfoldLines(text)) {
    if (line === '') continue;
    const property = parseContentLine(line);
    if (property === undefined) return `has a line that is not a content line: ${JSON.stringify(line.slice(0, 40))}`;
    const top = stack.at(-1)!;
    if (property.slot === 'BEGIN') {
      const name = property.value.toUpperCase();
      if (!COMPONENT_NAME.test(name)) return `begins a component with no name`;
      if (stack.length > MAX_VOBJECT_DEPTH) return `is nested deeper than ${MAX_VOBJECT_DEPTH}`;
      stack.push({ name, properties: [], components: [] });
    } else if (property.slot === 'END') {
      const name = property.value.toUpperCase();
      if (name !== top.name) return `ends ${name.slice(0, 40) || 'nothing'} where ${top.name || 'no component'} is open`;
      stack.pop();
      stack.at(-1)!.components.push(top);
    } else if (stack.length === 1) {
      return `has a property outside any component`;
    } else {
      top.properties.push(property);
    }
  }
  if (stack.length > 1) return `does not end ${stack.at(-1)!.name}`;
  return stack[0]!;
}

/** Lines with folding undone: a line break followed by a space or tab continues the line. */
export function unfoldLines(text: string): string[] {
  const lines: string[] = [];
  for (const line of text.split(/\r\n|\n|\r/)) {
    if (lines.length > 0 && (line.startsWith(' ') || line.startsWith('\t'))) lines[lines.length - 1] += line.slice(1);
    else lines.push(line);
  }
  return lines;
}

/** `[group.]NAME *(;PARAM) :VALUE`, parameters kept as written; the ':' is the first outside quotes. */
function parseContentLine(line: string): Property | undefined {
  HEAD.lastIndex = 0;
  const head = HEAD.exec(line)?.[0];
  if (head === undefined || (line[head.length] !== ';' && line[head.length] !== ':')) return undefined;
  let quoted = false;
  for (let i = head.length; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === ':' && !quoted) {
      const slot = head.toUpperCase();
      return { head, name: slot.slice(slot.indexOf('.') + 1), slot, params: line.slice(head.length, i), value: line.slice(i + 1) };
    }
  }
  return undefined;
}

// ---- merging ----------------------------------------------------------------------------------

type Decide<T> = (key: string, base: T | undefined, ours: T | undefined, theirs: T | undefined) => T | undefined;

function mergeComponent(base: Component, ours: Component, theirs: Component, path: string, conflicts: string[]): Component {
  const properties = mergeProperties(base.properties, ours.properties, theirs.properties, path, conflicts);
  const components = mergeKeyed(keyComponents(base.components), keyComponents(ours.components), keyComponents(theirs.components), (key, b, o, t) => {
    const where = `${path}${key}`;
    if (o === undefined || t === undefined) {
      const present = o ?? t;
      if (present === undefined || b === undefined) return present;
      if (sameComponent(b, present)) return undefined;
      conflicts.push(`${where} (deleted on one side)`);
      return o;
    }
    if (sameComponent(o, t) || (b !== undefined && sameComponent(b, t))) return o;
    if (b !== undefined && sameComponent(b, o)) return t;
    return mergeComponent(b ?? { name: o.name, properties: [], components: [] }, o, t, `${where}/`, conflicts);
  });
  return { name: ours.name, properties, components };
}

function mergeProperties(base: readonly Property[], ours: readonly Property[], theirs: readonly Property[], path: string, conflicts: string[]): Property[] {
  // A slot that occurs twice in any version is a set in all three, so that they key alike.
  const repeated = new Set<string>();
  for (const version of [base, ours, theirs]) {
    const seen = new Set<string>();
    for (const property of version) (seen.has(property.slot) ? repeated : seen).add(property.slot);
  }
  const isSet = (property: Property) => MULTI_VALUED.has(property.name) || repeated.has(property.slot);
  const keyed = (version: readonly Property[]) => keyProperties(version, isSet);
  const result = mergeKeyed(keyed(base), keyed(ours), keyed(theirs), (key, b, o, t) => {
    const [bl, ol, tl] = [b, o, t].map((p) => (p === undefined ? undefined : contentLine(p)));
    if (ol === tl || bl === tl) return o;
    if (bl === ol) return t;
    const property = (o ?? t)!;
    if (BOOKKEEPING.has(property.name)) return o === undefined ? t : t === undefined ? o : later(o, t);
    // A set element removed on one side stays removed, whatever the other did to its parameters.
    const isElement = key.startsWith('set ');
    if (isElement && (o === undefined || t === undefined)) return undefined;
    conflicts.push(`${path}${property.head}${isElement ? `:${property.value.slice(0, 40)}` : ''}`);
    return o;
  });
  return joinListItems(result);
}

/**
 * Slots keyed `slot GROUP.NAME`; set elements `set GROUP.NAME:value#n`, list values split into
 * one element per item (n numbers repeats of one value, so none is lost).
 */
function keyProperties(properties: readonly Property[], isSet: (property: Property) => boolean): Map<string, Property> {
  const keyed = new Map<string, Property>();
  const repeats = new Map<string, number>();
  for (const property of properties) {
    if (!isSet(property)) {
      keyed.set(`slot ${property.slot}`, property);
      continue;
    }
    const items = LIST_VALUED.has(property.name) ? splitList(property.value).map((value) => ({ ...property, value })) : [property];
    for (const item of items) {
      const element = `${item.slot}:${item.value}`;
      const n = repeats.get(element) ?? 0;
      repeats.set(element, n + 1);
      keyed.set(`set ${element}#${n}`, item);
    }
  }
  return keyed;
}

/** A list value's items, split at commas that are not escaped. */
function splitList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === ',') {
      items.push(value.slice(start, i));
      start = i + 1;
    }
  }
  items.push(value.slice(start));
  return items;
}

/** List items back into lines: a run of items with the same head and parameters is one line. */
function joinListItems(properties: readonly Property[]): Property[] {
  const joined: Property[] = [];
  for (const property of properties) {
    const previous = joined.at(-1);
    if (previous !== undefined && LIST_VALUED.has(property.name) && previous.head === property.head && previous.params === property.params) {
      joined[joined.length - 1] = { ...previous, value: `${previous.value},${property.value}` };
    } else {
      joined.push(property);
    }
  }
  return joined;
}

/** Components keyed `NAME[UID=…;RECURRENCE-ID=…]`, or `NAME#n` by position when they have no identity. */
function keyComponents(components: readonly Component[]): Map<string, Component> {
  const keyed = new Map<string, Component>();
  const repeats = new Map<string, number>();
  for (const component of components) {
    const identity = IDENTITY.flatMap((name) => {
      const property = component.properties.find((p) => p.slot === name);
      return property === undefined ? [] : [`${name}=${property.value}`];
    });
    const key = identity.length > 0 ? `${component.name}[${identity.join(';')}]` : component.name;
    const n = repeats.get(key) ?? 0;
    repeats.set(key, n + 1);
    keyed.set(identity.length > 0 && n === 0 ? key : `${key}#${n}`, component);
  }
  return keyed;
}

/** Of two values of a bookkeeping property, the greater number or later time; ties by text, so either order agrees. */
function later(a: Property, b: Property): Property {
  const rank = (p: Property) => p.value.replace(/\D/g, '').replace(/^0+/, '');
  const [ra, rb] = [rank(a), rank(b)];
  if (ra.length !== rb.length) return ra.length > rb.length ? a : b;
  if (ra !== rb) return ra > rb ? a : b;
  return contentLine(a) >= contentLine(b) ? a : b;
}

/**
 * The 3-way merge of keyed items: `decide` picks each key's result; the order is base order
 * with each side's additions placed after the base key they follow on that side.
 */
function mergeKeyed<T>(base: Map<string, T>, ours: Map<string, T>, theirs: Map<string, T>, decide: Decide<T>): T[] {
  const decided = new Map<string, T>();
  for (const key of new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])) {
    const item = decide(key, base.get(key), ours.get(key), theirs.get(key));
    if (item !== undefined) decided.set(key, item);
  }
  return mergeOrder([...base.keys()], [...ours.keys()], [...theirs.keys()]).flatMap((key) => {
    const item = decided.get(key);
    return item === undefined ? [] : [item];
  });
}

/** Every key once: base order, with each side's added keys after the base key preceding them on that side. */
function mergeOrder(base: string[], ours: string[], theirs: string[]): string[] {
  const position = new Map(base.map((key, i) => [key, i]));
  const additions = (side: string[]) => {
    const byAnchor = new Map<number, string[]>();
    let anchor = -1;
    for (const key of side) {
      const at = position.get(key);
      if (at !== undefined) anchor = at;
      else if (byAnchor.has(anchor)) byAnchor.get(anchor)!.push(key);
      else byAnchor.set(anchor, [key]);
    }
    return byAnchor;
  };
  const [ourAdditions, theirAdditions] = [additions(ours), additions(theirs)];
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (key: string) => {
    if (!placed.has(key)) order.push(key);
    placed.add(key);
  };
  const placeAdditions = (anchor: number) => {
    // Ordered by content, not by side, so that merging either way round agrees.
    const groups = [ourAdditions.get(anchor) ?? [], theirAdditions.get(anchor) ?? []].sort(compareKeyLists);
    for (const group of groups) group.forEach(place);
  };
  placeAdditions(-1);
  base.forEach((key, i) => {
    place(key);
    placeAdditions(i);
  });
  return order;
}

function compareKeyLists(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

// ---- writing ----------------------------------------------------------------------------------

function contentLine(property: Property): string {
  return `${property.head}${property.params}:${property.value}`;
}

/** Unfolded lines, properties before subcomponents. */
function contentLines(component: Component, lines: string[]): string[] {
  if (component.name !== '') lines.push(`BEGIN:${component.name}`);
  for (const property of component.properties) lines.push(contentLine(property));
  for (const child of component.components) contentLines(child, lines);
  if (component.name !== '') lines.push(`END:${component.name}`);
  return lines;
}

function sameComponent(a: Component, b: Component): boolean {
  return contentLines(a, []).join('\n') === contentLines(b, []).join('\n');
}

function serialize(file: Component): Buffer {
  return Buffer.from(contentLines(file, []).map((line) => `${foldLine(line)}\r\n`).join(''));
}

/** Folds a content line after at most 75 octets (the continuation's leading space included), never inside a character (RFC 5545 §3.1, RFC 6350 §3.2). */
export function foldLine(line: string): string {
  if (Buffer.byteLength(line) <= FOLD_OCTETS) return line;
  const pieces: string[] = [];
  let start = 0;
  let octets = 0;
  for (let i = 0; i < line.length; ) {
    const codePoint = line.codePointAt(i)!;
    const units = codePoint > 0xffff ? 2 : 1;
    const size = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint <= 0xffff ? 3 : 4;
    const room = pieces.length === 0 ? FOLD_OCTETS : FOLD_OCTETS - 1;
    if (octets + size > room) {
      pieces.push(line.slice(start, i));
      start = i;
      octets = 0;
    }
    octets += size;
    i += units;
  }
  pieces.push(line.slice(start));
  return pieces.join('\r\n ');
}
