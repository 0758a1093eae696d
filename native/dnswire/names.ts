/**
 * Domain names between presentation form and uncompressed wire form, by the rules in
 * binding.ts. Plain JS shared by the twin and the firmware (zone building, DNSSEC's canonical
 * order); the addon implements the same rules in C.
 */

const MAX_LABEL = 63;
const MAX_NAME = 255;
/** Printable bytes that still get a backslash, as in master files. */
const ESCAPED = new Set([...'.\\"();@$'].map((c) => c.charCodeAt(0)));

function nameError(code: 'ERR_DNS_NAME_SYNTAX' | 'ERR_DNS_LABEL' | 'ERR_DNS_NAME_LENGTH', message: string): RangeError {
  return Object.assign(new RangeError(message), { code });
}

/** "www.example.test." → 3www7example4test0. Throws a RangeError with a DNSWIRE_ERRORS code. */
export function nameToWire(name: string): Buffer {
  if (typeof name !== 'string') throw Object.assign(new TypeError('name must be a string'), { code: 'ERR_DNS_VALUE' });
  if (name === '.') return Buffer.from([0]);
  if (!endsWithRootDot(name)) throw nameError('ERR_DNS_NAME_SYNTAX', `name '${name}' is not absolute (no trailing dot)`);
  const out: number[] = [];
  let label: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code === 0x2e) {
      if (label.length === 0) throw nameError('ERR_DNS_NAME_SYNTAX', `name '${name}' has an empty label`);
      out.push(label.length, ...label);
      label = [];
    } else if (code === 0x5c) {
      const next = name.charCodeAt(i + 1);
      if (next >= 0x30 && next <= 0x39) {
        const digits = name.slice(i + 1, i + 4);
        if (!/^\d{3}$/.test(digits) || Number(digits) > 255) throw nameError('ERR_DNS_NAME_SYNTAX', `name '${name}' has a bad \\DDD escape`);
        label.push(Number(digits));
        i += 3;
      } else if (next >= 0x21 && next <= 0x7e) {
        label.push(next);
        i += 1;
      } else {
        throw nameError('ERR_DNS_NAME_SYNTAX', `name '${name}' has a bad escape`);
      }
    } else if (code >= 0x21 && code <= 0x7e) {
      label.push(code);
    } else {
      throw nameError('ERR_DNS_NAME_SYNTAX', `name '${name}' has a character that needs a \\DDD escape`);
    }
    if (label.length > MAX_LABEL) throw nameError('ERR_DNS_LABEL', `a label of '${name}' is over ${MAX_LABEL} bytes`);
  }
  out.push(0);
  if (out.length > MAX_NAME) throw nameError('ERR_DNS_NAME_LENGTH', `name '${name}' is over ${MAX_NAME} bytes`);
  return Buffer.from(out);
}

/** Whether the name ends in a separating dot (an escaped final dot belongs to a label). */
function endsWithRootDot(name: string): boolean {
  let backslashes = 0;
  for (let i = name.length - 2; i >= 0 && name[i] === '\\'; i--) backslashes++;
  return name.endsWith('.') && backslashes % 2 === 0;
}

/** Presentation form of the uncompressed wire name at `start` (which must be well formed). */
export function nameFromWire(wire: Uint8Array, start = 0): string {
  let text = '';
  let at = start;
  for (;;) {
    const length = wire[at]!;
    if (length === 0) break;
    for (let i = at + 1; i <= at + length; i++) text += labelByte(wire[i]!);
    text += '.';
    at += length + 1;
  }
  return text === '' ? '.' : text;
}

function labelByte(byte: number): string {
  if (byte >= 0x21 && byte <= 0x7e) return ESCAPED.has(byte) ? '\\' + String.fromCharCode(byte) : String.fromCharCode(byte);
  return '\\' + String(byte).padStart(3, '0');
}

/** Length in bytes of the uncompressed wire name at `start`. */
export function wireNameLength(wire: Uint8Array, start = 0): number {
  let at = start;
  while (wire[at] !== 0) at += wire[at]! + 1;
  return at + 1 - start;
}

/** ASCII lower case (RFC 4343): other bytes are left as they are. */
export function lowerName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The labels of a wire name, root last excluded: 3www7example0 → [www, example]. */
function wireLabels(wire: Uint8Array): Uint8Array[] {
  const labels: Uint8Array[] = [];
  let at = 0;
  while (wire[at] !== 0) {
    labels.push(wire.subarray(at + 1, at + 1 + wire[at]!));
    at += wire[at]! + 1;
  }
  return labels;
}

/** DNSSEC canonical order (RFC 4034 section 6.1): labels compared from the right, lower-cased. */
export function compareCanonical(a: Uint8Array, b: Uint8Array): number {
  const left = wireLabels(a);
  const right = wireLabels(b);
  for (let i = 1; i <= Math.min(left.length, right.length); i++) {
    const order = compareLabel(left[left.length - i]!, right[right.length - i]!);
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

function compareLabel(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = lowerByte(a[i]!) - lowerByte(b[i]!);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

function lowerByte(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}
