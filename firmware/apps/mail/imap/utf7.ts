/**
 * Modified UTF-7 mailbox names (RFC 3501 §5.1.3): printable ASCII stands for itself, `&` is
 * `&-`, anything else is UTF-16 in a base64 variant (`,` for `/`, no padding) between `&` and
 * `-`. Clients use it unless UTF8=ACCEPT is enabled; the server decodes a name on the way in
 * and encodes it on the way out. Decoding is strict: a name has exactly one spelling, so two
 * spellings can never reach the same mailbox (or slip past a name check).
 */

export class MailboxNameError extends Error {
  override name = 'MailboxNameError';
}

const AMP = 0x26;
const DASH = 0x2d;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const isPrintable = (c: number) => c >= 0x20 && c <= 0x7e;

/** Decodes a modified UTF-7 name to Unicode; throws MailboxNameError for any non-canonical or broken form. */
export function decodeMailboxUtf7(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c !== AMP) {
      if (!isPrintable(c)) throw new MailboxNameError('mailbox name is not valid modified UTF-7 (8-bit or control character)');
      out += name[i];
      i++;
      continue;
    }
    i++;
    if (name.charCodeAt(i) === DASH) {
      out += '&';
      i++;
      continue;
    }
    let bits = 0;
    let nbits = 0;
    const units: number[] = [];
    while (i < name.length && name.charCodeAt(i) !== DASH) {
      const code = name.charCodeAt(i);
      const value = code < 128 ? DECODE[code]! : -1;
      if (value < 0) throw new MailboxNameError('mailbox name is not valid modified UTF-7 (bad base64)');
      bits = ((bits << 6) | value) & 0xffffff;
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        units.push((bits >> nbits) & 0xffff);
      }
      i++;
    }
    if (i >= name.length) throw new MailboxNameError('mailbox name is not valid modified UTF-7 (unterminated &)');
    i++; // the `-`
    if (units.length === 0) throw new MailboxNameError('mailbox name is not valid modified UTF-7 (empty shift)');
    if (nbits >= 6 || (bits & ((1 << nbits) - 1)) !== 0) {
      throw new MailboxNameError('mailbox name is not valid modified UTF-7 (bad padding)');
    }
    out += unitsToString(units);
  }
  return out;
}

function unitsToString(units: number[]): string {
  let out = '';
  for (let k = 0; k < units.length; k++) {
    const u = units[k]!;
    if (u >= 0xd800 && u <= 0xdbff) {
      const low = units[k + 1];
      if (low === undefined || low < 0xdc00 || low > 0xdfff) throw new MailboxNameError('mailbox name is not valid modified UTF-7 (lone surrogate)');
      out += String.fromCharCode(u, low);
      k++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      throw new MailboxNameError('mailbox name is not valid modified UTF-7 (lone surrogate)');
    } else if (isPrintable(u)) {
      // Printable ASCII must stand for itself (RFC 3501 §5.1.3).
      throw new MailboxNameError('mailbox name is not valid modified UTF-7 (encoded ASCII)');
    } else {
      out += String.fromCharCode(u);
    }
  }
  return out;
}

/** Encodes a Unicode name in modified UTF-7. */
export function encodeMailboxUtf7(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (isPrintable(c)) {
      out += c === AMP ? '&-' : name[i];
      i++;
      continue;
    }
    // A run of non-printable characters, as UTF-16 units, in one shift sequence.
    let bits = 0;
    let nbits = 0;
    out += '&';
    while (i < name.length && !isPrintable(name.charCodeAt(i))) {
      bits = ((bits << 16) | name.charCodeAt(i)) & 0xffffffff;
      nbits += 16;
      while (nbits >= 6) {
        nbits -= 6;
        out += ALPHABET[(bits >>> nbits) & 0x3f];
      }
      i++;
    }
    if (nbits > 0) out += ALPHABET[(bits << (6 - nbits)) & 0x3f];
    out += '-';
  }
  return out;
}
