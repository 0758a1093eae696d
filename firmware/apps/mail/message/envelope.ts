/**
 * ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from the cached envelope headers, with RFC 5322
 * address lists read leniently the way Dovecot reads them, and the Date header as a time.
 *
 * Values are IMAP data as a small tree (`ImapValue`) the server's encoder prints: strings
 * are returned undecoded, as IMAP wants (encoded-words and all).
 */
import type { EnvelopeHeaders, ParsedMessage } from './parse.js';

/**
 * IMAP data for the server's encoder: a string (printed quoted or as a literal, the encoder's
 * choice), null for NIL, a number, a Buffer (always a literal) or a parenthesised list.
 *
 * Printing a list: one SP between elements, except that a list's leading run of list
 * elements is printed back to back, `(…)(…)`, as RFC 9051's grammar has it for `1*body`
 * (a multipart's parts) and `1*address` (an address list) — what Dovecot and Gmail send.
 * Everywhere else (`env-from SP env-sender`, `envelope SP body`) the SP stays.
 */
export type ImapValue = string | number | null | Buffer | ImapValue[];

/** One address of an address list: name, source route (adl), mailbox, host. */
export interface Address {
  name: string | null;
  adl: string | null;
  mailbox: string | null;
  host: string | null;
}

// ---------------------------------------------------------------------------------------------
// RFC 5322 address lists

const ATEXT = new Uint8Array(128);
for (const c of "!#$%&'*+-/=?^_`{|}~") ATEXT[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) ATEXT[c] = 1;
for (let c = 65; c <= 90; c++) ATEXT[c] = 1;
for (let c = 97; c <= 122; c++) ATEXT[c] = 1;

function isAtext(c: number): boolean {
  return c >= 128 || ATEXT[c] === 1;
}

const MAX_ADDRESSES = 10000;

class AddressParser {
  i = 0;
  /** The last comment skipped: s[commentStart, commentEnd), parentheses included. */
  commentStart = -1;
  commentEnd = -1;
  readonly out: Address[] = [];
  constructor(readonly s: string) {}

  /** Skips white space and comments, remembering the last comment's text. */
  skip(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        this.i++;
      } else if (c === 40) {
        const start = this.i;
        let depth = 0;
        while (this.i < s.length) {
          const d = s.charCodeAt(this.i++);
          if (d === 92) this.i++;
          else if (d === 40) depth++;
          else if (d === 41 && --depth === 0) break;
        }
        if (this.i > s.length) this.i = s.length;
        this.commentStart = start;
        this.commentEnd = this.i;
      } else {
        break;
      }
    }
    if (this.i > s.length) this.i = s.length;
  }

  /** The text of the last comment skipped: outer parentheses and quoting backslashes removed. */
  commentText(): string {
    if (this.commentStart < 0) return '';
    const s = this.s;
    let end = this.commentEnd;
    if (end > this.commentStart + 1 && s.charCodeAt(end - 1) === 41) end--;
    let out = '';
    let from = this.commentStart + 1;
    for (let j = from; j < end; j++) {
      if (s.charCodeAt(j) === 92) {
        out += s.slice(from, j);
        from = j + 1;
        j++;
      }
    }
    return (out + s.slice(from, end)).trim();
  }

  peek(): number {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }

  atom(dots: boolean): string {
    const s = this.s;
    const start = this.i;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (!(isAtext(c) || (dots && c === 46))) break;
      this.i++;
    }
    return s.slice(start, this.i);
  }

  quoted(): string {
    const s = this.s;
    let out = '';
    let from = ++this.i;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 92 && this.i + 1 < s.length) {
        out += s.slice(from, this.i);
        from = this.i + 1;
        this.i += 2;
      } else if (c === 34) {
        out += s.slice(from, this.i);
        this.i++;
        return out;
      } else {
        this.i++;
      }
    }
    return out + s.slice(from);
  }

  /** A phrase (display name): words joined by single spaces, obs-phrase dots allowed. */
  phrase(): string {
    const words: string[] = [];
    for (;;) {
      this.skip();
      const c = this.peek();
      if (c === 34) words.push(this.quoted());
      else if (c !== -1 && (isAtext(c) || c === 46)) words.push(this.atom(true));
      else break;
    }
    return words.join(' ');
  }

  /** local-part: dot-atom, quoted string or obs-local-part (words and dots); quotes removed. */
  localPart(): string {
    let out = '';
    for (;;) {
      this.skip();
      const c = this.peek();
      if (c === 34) out += this.quoted();
      else if (c !== -1 && isAtext(c)) out += this.atom(false);
      else break;
      this.skip();
      if (this.peek() !== 46) break;
      out += '.';
      this.i++;
    }
    return out;
  }

  domain(): string {
    this.skip();
    if (this.peek() === 91) {
      const close = this.s.indexOf(']', this.i);
      const end = close === -1 ? this.s.length : close + 1;
      const literal = this.s.slice(this.i, end);
      this.i = end;
      return literal;
    }
    let out = '';
    for (;;) {
      this.skip();
      const c = this.peek();
      if (c === -1 || !isAtext(c)) break;
      out += this.atom(false);
      this.skip();
      if (this.peek() !== 46) break;
      out += '.';
      this.i++;
    }
    return out;
  }

  add(name: string | null, adl: string | null, mailbox: string, host: string): void {
    this.out.push({
      name,
      adl,
      mailbox: mailbox === '' ? 'MISSING_MAILBOX' : mailbox,
      host: host === '' ? 'MISSING_DOMAIN' : host,
    });
  }

  /** `<[@route:]local@domain>` with the `<` at this.i. */
  angle(name: string | null): void {
    this.i++;
    this.skip();
    let adl: string | null = null;
    if (this.peek() === 64) {
      const route: string[] = [];
      while (this.peek() === 64) {
        this.i++;
        route.push(`@${this.domain()}`);
        this.skip();
        while (this.peek() === 44) {
          this.i++;
          this.skip();
        }
      }
      adl = route.join(',');
      if (this.peek() === 58) this.i++;
    }
    const [local, host] = this.addrSpec();
    if (this.peek() === 62) {
      this.i++;
    } else {
      // Lenient: skip to the closing '>' unless a ',' comes first.
      for (let j = this.i; j < this.s.length; j++) {
        const c = this.s.charCodeAt(j);
        if (c === 44) break;
        if (c === 62) {
          this.i = j + 1;
          break;
        }
      }
    }
    this.add(name, adl, local, host);
  }

  /** local-part ["@" domain] and the space or comments after it. */
  addrSpec(): [local: string, host: string] {
    const local = this.localPart();
    this.skip();
    let host = '';
    if (this.peek() === 64) {
      this.i++;
      host = this.domain();
      this.skip();
    }
    return [local, host];
  }

  mailbox(): void {
    const start = this.i;
    const name = this.phrase();
    this.skip();
    if (this.peek() === 60) {
      this.angle(name === '' ? null : name);
      return;
    }
    this.i = start;
    this.commentStart = -1;
    const [local, host] = this.addrSpec();
    if (local === '' && host === '' && this.i === start) return;
    const comment = this.commentText();
    this.add(comment === '' ? null : comment, null, local, host);
  }

  /** Past anything unexpected, to the next ',' (or ';' when in a group). */
  recover(inGroup: boolean): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 44 || (inGroup && c === 59)) return;
      if (c === 34) this.quoted();
      else if (c === 40) this.skip();
      else this.i++;
    }
  }

  list(): Address[] {
    const s = this.s;
    while (this.i < s.length && this.out.length < MAX_ADDRESSES) {
      this.skip();
      if (this.i >= s.length) break;
      if (this.peek() === 44) {
        this.i++;
        continue;
      }
      const start = this.i;
      const name = this.phrase();
      this.skip();
      if (name !== '' && this.peek() === 58) {
        // group: display-name ':' [mailbox-list] ';'
        this.i++;
        this.out.push({ name: null, adl: null, mailbox: name, host: null });
        while (this.i < s.length && this.out.length < MAX_ADDRESSES) {
          this.skip();
          const c = this.peek();
          if (c === -1 || c === 59) break;
          if (c === 44) {
            this.i++;
            continue;
          }
          const before = this.i;
          this.mailbox();
          this.skip();
          const d = this.peek();
          if (d !== 44 && d !== 59 && d !== -1) this.recover(true);
          if (this.i === before) this.i++;
        }
        if (this.peek() === 59) this.i++;
        this.out.push({ name: null, adl: null, mailbox: null, host: null });
      } else {
        this.i = start;
        this.mailbox();
      }
      this.skip();
      if (this.i < s.length && this.peek() !== 44) this.recover(false);
      if (this.i === start) this.i++;
    }
    return this.out;
  }
}

/**
 * An address-list header value as IMAP addresses: groups as (NIL NIL "name" NIL) … (NIL NIL
 * NIL NIL), a missing local part or domain as MISSING_MAILBOX / MISSING_DOMAIN (Dovecot), a
 * name from the display name or else from a trailing comment, quotes removed, encoded-words kept.
 */
export function parseAddressList(value: string): Address[] {
  return new AddressParser(value).list();
}

function addressList(value: string | undefined): ImapValue {
  if (value === undefined) return null;
  const list = parseAddressList(value);
  if (list.length === 0) return null;
  return list.map((a): ImapValue => [a.name, a.adl, a.mailbox, a.host]);
}

/**
 * ENVELOPE: (date subject from sender reply-to to cc bcc in-reply-to message-id), with sender
 * and reply-to defaulting to from (also when present but empty), NIL for absent fields.
 */
export function envelope(message: ParsedMessage | EnvelopeHeaders): ImapValue[] {
  const h: EnvelopeHeaders = 'root' in message ? (message as ParsedMessage).headers : (message as EnvelopeHeaders);
  const from = addressList(h.from);
  const sender = addressList(h.sender);
  const replyTo = addressList(h.replyTo);
  return [
    h.date ?? null,
    h.subject ?? null,
    from,
    sender ?? from,
    replyTo ?? from,
    addressList(h.to),
    addressList(h.cc),
    addressList(h.bcc),
    h.inReplyTo ?? null,
    h.messageId ?? null,
  ];
}

/** The `<…>` message ids in a References or In-Reply-To value, in order (for THREAD). */
export function messageIds(value: string | undefined): string[] {
  const ids: string[] = [];
  if (value === undefined) return ids;
  let i = value.indexOf('<');
  while (i !== -1 && ids.length < 1000) {
    const close = value.indexOf('>', i + 1);
    if (close === -1) break;
    const open = value.lastIndexOf('<', close);
    if (close > open + 1) ids.push(value.slice(open, close + 1));
    i = value.indexOf('<', close + 1);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// RFC 5322 dates

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const ZONES: Record<string, number> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

/** A date-time's instant (ms since the epoch) and its zone (minutes east of UTC). */
export interface SentDate {
  time: number;
  zone: number;
}

function tokens(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = value.length > 200 ? value.slice(0, 200) : value;
  while (i < s.length && out.length < 16) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 44 || c === 10 || c === 13) {
      i++;
    } else if (c === 40) {
      let depth = 0;
      while (i < s.length) {
        const d = s.charCodeAt(i);
        if (d === 40) depth++;
        else if (d === 41 && --depth === 0) break;
        i++;
      }
      i++;
    } else {
      let j = i;
      while (j < s.length) {
        const d = s.charCodeAt(j);
        if (d === 32 || d === 9 || d === 44 || d === 40 || d === 10 || d === 13) break;
        j++;
      }
      out.push(s.slice(i, j));
      i = j;
    }
  }
  return out;
}

function digits(s: string): number {
  if (s.length === 0 || s.length > 9) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return Number(s);
}

function zoneOf(token: string | undefined): number | null {
  if (token === undefined) return 0;
  const sign = token.charCodeAt(0);
  if (sign === 43 || sign === 45) {
    const d = token.slice(1).replace(':', '');
    const n = digits(d);
    if (n < 0 || (d.length !== 4 && d.length !== 2)) return null;
    const minutes = d.length === 4 ? Math.floor(n / 100) * 60 + (n % 100) : n * 60;
    if (minutes > 24 * 60 || (d.length === 4 && n % 100 >= 60)) return null;
    return sign === 45 ? -minutes : minutes;
  }
  const named = ZONES[token.toLowerCase()];
  if (named !== undefined) return named;
  // Military zones and unknown names mean "no zone information" (RFC 5322 §4.3): -0000.
  return /^[A-Za-z]{1,5}$/.test(token) ? 0 : null;
}

/**
 * An RFC 5322 date-time, with the obsolete forms (no day name, 2- and 3-digit years, no
 * seconds, named zones, comments); null when it cannot be read. A missing zone is UTC.
 */
export function parseDate(value: string): SentDate | null {
  const t = tokens(value);
  let k = 0;
  if (k < t.length && digits(t[k]!) < 0 && !MONTHS.includes(t[k]!.slice(0, 3).toLowerCase())) k++; // day name
  let day: number;
  let month: number;
  if (k < t.length && digits(t[k]!) >= 0) {
    day = digits(t[k++]!);
    month = k < t.length ? MONTHS.indexOf(t[k++]!.slice(0, 3).toLowerCase()) : -1;
  } else {
    // "Jan 3 2024" style.
    month = k < t.length ? MONTHS.indexOf(t[k++]!.slice(0, 3).toLowerCase()) : -1;
    day = k < t.length ? digits(t[k++]!) : -1;
  }
  if (month < 0 || day < 1 || day > 31) return null;
  let yearToken = t[k++];
  let timeToken = t[k];
  if (yearToken !== undefined && yearToken.includes(':')) {
    // asctime-like "3 Jan 10:00:00 2024"
    [yearToken, timeToken] = [t[k], yearToken];
  }
  k++;
  if (yearToken === undefined) return null;
  let year = digits(yearToken);
  if (year < 0) return null;
  if (yearToken.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearToken.length === 3) year += 1900;
  let hour = 0;
  let minute = 0;
  let second = 0;
  if (timeToken !== undefined) {
    const hms = timeToken.split(':');
    if (hms.length < 2 || hms.length > 3) return null;
    hour = digits(hms[0]!);
    minute = digits(hms[1]!);
    second = hms.length === 3 ? digits(hms[2]!) : 0;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  }
  const zone = zoneOf(t[k]);
  if (zone === null || year > 9999) return null;
  const local = Date.UTC(year, month, day, hour, minute, second === 60 ? 59 : second);
  if (new Date(local).getUTCDate() !== day) return null;
  return { time: local - zone * 60_000, zone };
}

/** The sent date's calendar day in its own zone as a UTC midnight (ms), for SENTON/SENTBEFORE/SENTSINCE. */
export function sentDay(parsed: ParsedMessage): number | null {
  if (parsed.sentDate === null) return null;
  const local = new Date(parsed.sentDate + (parsed.sentZone ?? 0) * 60_000);
  return Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate());
}
