/**
 * Incremental framing of IMAP client input into commands: lines, `{n}` / `{n+}` / `~{n}`
 * literals, and the raw lines of IDLE and AUTHENTICATE. It knows nothing of command syntax
 * beyond what framing needs (the tag, quoted strings, the literal marker at a line's end).
 *
 * Pull model: the server `push()`es socket data and calls `next()` until it returns undefined,
 * acting on each event before asking for the next one. That order matters: after STARTTLS the
 * server takes (and drops) what was pipelined behind it, after COMPRESS it re-feeds it through
 * inflate, after AUTHENTICATE or IDLE it calls `expectLine()` so the next line is not a command.
 *
 * Memory is bounded by the limits: a line is held only up to `maxLineBytes` (the rest is
 * scanned and dropped), a literal only after its size passed the checks, and a literal the
 * client sends regardless of a refusal (non-synchronizing) is skipped without being held.
 * Literals are Buffers, never decoded.
 */

export interface ReaderLimits {
  /** Bytes in one line between literals, line end excluded. */
  maxLineBytes: number;
  /** Bytes in one literal (our APPENDLIMIT). */
  maxLiteralBytes: number;
  /** Bytes in one non-synchronizing literal: maxLiteralBytes for LITERAL+, LITERAL_MINUS_MAX for LITERAL-. */
  maxNonSyncLiteralBytes: number;
  /** Lines and literals of one command together. */
  maxCommandBytes: number;
  /** Literals in one command (MULTIAPPEND sends one per message). */
  maxLiterals: number;
}

export const LITERAL_MINUS_MAX = 4096;

export const DEFAULT_READER_LIMITS: Readonly<ReaderLimits> = {
  maxLineBytes: 64 * 1024,
  maxLiteralBytes: 64 * 1024 * 1024,
  maxNonSyncLiteralBytes: 64 * 1024 * 1024,
  maxCommandBytes: 65 * 1024 * 1024,
  maxLiterals: 1000,
};

export interface Literal {
  data: Buffer;
  /** `~{n}` (RFC 3516): may hold NUL and any bytes. */
  binary: boolean;
  /** `{n+}` (RFC 7888). */
  nonSync: boolean;
}

/** A complete command: `lines[i]` is the text before `literals[i]`; markers and line ends removed. */
export interface CommandFrame {
  /** The tag as the reader saw it (undefined when the line does not start with a valid one). */
  tag: string | undefined;
  lines: Buffer[];
  literals: Literal[];
}

export type ReaderErrorCode = 'LINE_TOO_LONG' | 'LITERAL_TOO_BIG' | 'COMMAND_TOO_BIG' | 'TOO_MANY_LITERALS';

/** A command refused by framing; the server answers `<tag> BAD` (or `NO [TOOBIG]`), `* BAD` without a tag. */
export class ReaderError extends Error {
  override name = 'ReaderError';
  constructor(
    readonly code: ReaderErrorCode,
    message: string,
    readonly tag: string | undefined,
    /** The client is sending more than we will skip politely; the server should close the connection. */
    readonly fatal = false,
  ) {
    super(message);
  }
}

export type ReaderEvent =
  | { type: 'command'; frame: CommandFrame }
  /** A synchronizing literal passed the limits: send `+ …` so the client sends it. */
  | { type: 'continue'; tag: string | undefined; size: number; binary: boolean }
  /** The line asked for by expectLine() (IDLE's DONE, an AUTHENTICATE response), line end removed. */
  | { type: 'line'; line: Buffer }
  | { type: 'error'; error: ReaderError };

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const TILDE = 0x7e;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const PLUS = 0x2b;

/** States of the literal-marker recogniser `[~]{digits[+]}` at a line's end. */
const M_NONE = 0;
const M_TILDE = 1;
const M_OPEN = 2;
const M_DIGITS = 3;
const M_PLUS = 4;
const M_CLOSED = 5;
const M_CLOSED_CR = 6;

const MAX_TAG_BYTES = 256;

/** Received bytes not yet scanned: chunks consumed from the front without copying. */
class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first live chunk (no Array.shift: that is O(n) per call). */
  private first = 0;
  private head = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The unread part of the first chunk. */
  front(): Buffer {
    return this.chunks[this.first]!.subarray(this.head);
  }

  skip(n: number): void {
    this.length -= n;
    while (n > 0) {
      const available = this.chunks[this.first]!.length - this.head;
      if (n < available) {
        this.head += n;
        return;
      }
      n -= available;
      this.first++;
      this.head = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.front();
    if (first.length >= n) {
      this.skip(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.front();
      const count = Math.min(piece.length, n - filled);
      piece.copy(out, filled, 0, count);
      filled += count;
      this.skip(count);
    }
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.length);
  }
}

/**
 * Bytes gathered piece by piece into one buffer grown by doubling (up to `cap`): a client
 * trickling a literal a byte per packet costs a copy or two per byte, not an object per byte.
 */
class Accumulator {
  private buffer = Buffer.alloc(0);
  length = 0;

  append(piece: Buffer, cap: number): void {
    const needed = this.length + piece.length;
    if (needed > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(cap, Math.max(256, this.buffer.length * 2))));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    piece.copy(this.buffer, this.length);
    this.length = needed;
  }

  /** The bytes so far (a view; valid until the next append). */
  view(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  take(): Buffer {
    const out = this.view();
    this.clear();
    return out;
  }

  clear(): void {
    this.buffer = Buffer.alloc(0);
    this.length = 0;
  }
}

/** The command being framed. */
interface Pending {
  tag: string | undefined;
  lines: Buffer[];
  literals: Literal[];
  bytes: number;
  /** Refused: what is left of it is scanned (to stay in step with its literals) and dropped. */
  discarding: boolean;
}

export class CommandReader {
  readonly limits: ReaderLimits;
  private readonly queue = new ByteQueue();
  private phase: 'line' | 'literal' | 'skip' = 'line';
  private pending: Pending | undefined;
  private rawLineWanted = false;
  private rawLine = false;
  private literalSize = 0;
  private readonly literal = new Accumulator();
  private literalBinary = false;
  private literalNonSync = false;
  private skipRemaining = 0;

  // The line being scanned.
  private readonly line = new Accumulator();
  private lineLength = 0;
  private lineTooLong = false;
  private inQuote = false;
  private escaped = false;
  private marker = M_NONE;
  private markerStart = 0;
  private markerValue = 0;
  private markerBinary = false;
  private markerNonSync = false;

  constructor(limits: Partial<ReaderLimits> = {}) {
    this.limits = { ...DEFAULT_READER_LIMITS, ...limits };
  }

  /** Adds received bytes. Returns false when the server should pause reading until next() runs dry. */
  push(chunk: Buffer): boolean {
    this.queue.push(chunk);
    const needed = this.phase === 'literal' ? this.literalSize : 0;
    return this.queue.length <= needed + this.limits.maxLineBytes + 2;
  }

  /** Bytes received and held, not yet framed (a line being dropped holds none). */
  get buffered(): number {
    return this.queue.length + (this.lineTooLong ? 0 : this.lineLength) + this.literal.length;
  }

  /** Whether a command is partly read (the server should not switch modes now). */
  get midCommand(): boolean {
    return this.pending !== undefined || this.lineLength > 0;
  }

  /** The next line is returned raw as a 'line' event (IDLE's DONE, AUTHENTICATE responses). */
  expectLine(): void {
    if (this.midCommand) throw new Error('expectLine() called in the middle of a command');
    this.rawLineWanted = true;
  }

  /**
   * Removes everything received and not yet framed and resets to the start of a command:
   * dropped after STARTTLS (what was sent in the clear must not run inside TLS: the
   * CVE-2011-0411 class of injection), re-fed through inflate after COMPRESS.
   */
  takeBuffered(): Buffer {
    const partial = this.lineTooLong ? Buffer.alloc(0) : this.line.view();
    const out = Buffer.concat([partial, this.queue.takeAll()]);
    this.literal.clear();
    this.pending = undefined;
    this.phase = 'line';
    this.rawLineWanted = false;
    this.resetLine();
    return out;
  }

  /** The next event, or undefined when more input is needed. */
  next(): ReaderEvent | undefined {
    for (;;) {
      if (this.phase === 'literal') {
        let data: Buffer;
        if (this.literal.length === 0 && this.queue.length >= this.literalSize) {
          data = this.queue.take(this.literalSize); // all here already: no extra copy
        } else {
          while (this.queue.length > 0 && this.literal.length < this.literalSize) {
            const piece = this.queue.take(Math.min(this.queue.front().length, this.literalSize - this.literal.length));
            this.literal.append(piece, this.literalSize);
          }
          if (this.literal.length < this.literalSize) return undefined;
          data = this.literal.take();
        }
        this.pending!.literals.push({ data, binary: this.literalBinary, nonSync: this.literalNonSync });
        this.phase = 'line';
        continue;
      }
      if (this.phase === 'skip') {
        const n = Math.min(this.queue.length, this.skipRemaining);
        this.queue.skip(n);
        this.skipRemaining -= n;
        if (this.skipRemaining > 0) return undefined;
        this.phase = 'line';
        continue;
      }
      if (this.lineLength === 0 && !this.lineTooLong) this.rawLine = this.pending === undefined && this.rawLineWanted;
      const scan = this.scanLine();
      if (scan === 'more') return undefined;
      if (scan === 'overflow' || scan === 'overflow-end') {
        const event = this.lineOverflow();
        // The refusal is reported once; finishing the line then only keeps framing in step.
        if (scan === 'overflow-end') this.finishLine();
        if (event !== undefined) return event;
        continue;
      }
      const event = this.finishLine();
      if (event !== undefined) return event;
    }
  }

  /**
   * Moves bytes from the queue into the current line up to and including LF, tracking quotes
   * and the literal marker. Stops early when the line passes its limit, so the caller can
   * report it before the rest of the line has arrived.
   */
  private scanLine(): 'more' | 'end' | 'overflow' | 'overflow-end' {
    while (this.queue.length > 0) {
      const chunk = this.queue.front();
      let inQuote = this.inQuote;
      let escaped = this.escaped;
      let marker = this.marker;
      let end = -1;
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!;
        if (b === LF) {
          end = i;
          break;
        }
        if (inQuote) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === DQUOTE) inQuote = false;
          continue;
        }
        switch (b) {
          case DQUOTE:
            inQuote = true;
            marker = M_NONE;
            break;
          case TILDE:
            marker = M_TILDE;
            this.markerStart = this.lineLength + i;
            break;
          case LBRACE:
            if (marker === M_TILDE) this.markerBinary = true;
            else {
              this.markerBinary = false;
              this.markerStart = this.lineLength + i;
            }
            marker = M_OPEN;
            this.markerValue = 0;
            break;
          case PLUS:
            marker = marker === M_DIGITS ? M_PLUS : M_NONE;
            break;
          case RBRACE:
            if (marker === M_DIGITS || marker === M_PLUS) {
              this.markerNonSync = marker === M_PLUS;
              marker = M_CLOSED;
            } else marker = M_NONE;
            break;
          case CR:
            marker = marker === M_CLOSED ? M_CLOSED_CR : M_NONE;
            break;
          default:
            if (b >= 0x30 && b <= 0x39 && (marker === M_OPEN || marker === M_DIGITS)) {
              marker = M_DIGITS;
              // Sizes past 2^53 cannot be honoured anyway; Infinity fails every limit.
              const value = this.markerValue * 10 + (b - 0x30);
              this.markerValue = value > Number.MAX_SAFE_INTEGER ? Infinity : value;
            } else marker = M_NONE;
        }
      }
      this.inQuote = inQuote;
      this.escaped = escaped;
      this.marker = marker;
      const piece = end >= 0 ? chunk.subarray(0, end) : chunk;
      this.queue.skip(end >= 0 ? end + 1 : chunk.length);
      const wasTooLong = this.lineTooLong;
      this.lineLength += piece.length;
      if (!this.lineTooLong) {
        // One byte of slack for a CR whose LF has not arrived yet.
        if (this.lineLength > this.limits.maxLineBytes + 1) {
          this.lineTooLong = true;
          // Only the start is kept, for the tag of the error.
          if (this.line.length < MAX_TAG_BYTES) this.line.append(piece.subarray(0, MAX_TAG_BYTES), this.limits.maxLineBytes + 1);
        } else this.line.append(piece, this.limits.maxLineBytes + 1);
      }
      if (this.lineTooLong && !wasTooLong) return end >= 0 ? 'overflow-end' : 'overflow';
      if (end >= 0) return 'end';
    }
    return 'more';
  }

  /** The current line just passed maxLineBytes (it is dropped; scanning goes on to its end). */
  private lineOverflow(): ReaderEvent | undefined {
    const prefix = Buffer.from(this.line.view().subarray(0, MAX_TAG_BYTES));
    this.line.clear();
    const message = `line longer than ${this.limits.maxLineBytes} bytes`;
    if (this.rawLine) return { type: 'error', error: new ReaderError('LINE_TOO_LONG', message, undefined) };
    if (this.pending === undefined) {
      this.pending = { tag: tagOf(prefix), lines: [], literals: [], bytes: 0, discarding: false };
    }
    return this.refuse('LINE_TOO_LONG', message, false);
  }

  /** Refuses the pending command: one error event, and the rest of it is dropped. */
  private refuse(code: ReaderErrorCode, message: string, fatal: boolean): ReaderEvent | undefined {
    const pending = this.pending!;
    if (pending.discarding) return undefined;
    pending.discarding = true;
    pending.lines = [];
    pending.literals = [];
    return { type: 'error', error: new ReaderError(code, message, pending.tag, fatal) };
  }

  /** A whole line has been scanned (its LF consumed). */
  private finishLine(): ReaderEvent | undefined {
    let line = this.lineTooLong ? Buffer.alloc(0) : this.line.take();
    const endsWithCR = line.length > 0 && line[line.length - 1] === CR;
    if (endsWithCR) line = line.subarray(0, line.length - 1);
    const tooLong = this.lineTooLong || line.length > this.limits.maxLineBytes;
    const length = this.lineLength;
    const hasMarker = !this.inQuote && (this.marker === M_CLOSED || this.marker === M_CLOSED_CR);
    const marker = { start: this.markerStart, size: this.markerValue, binary: this.markerBinary, nonSync: this.markerNonSync };
    const alreadyReported = this.lineTooLong;
    const raw = this.rawLine;
    this.resetLine();

    if (raw) {
      this.rawLineWanted = false;
      if (alreadyReported) return undefined;
      if (tooLong) return { type: 'error', error: new ReaderError('LINE_TOO_LONG', `line longer than ${this.limits.maxLineBytes} bytes`, undefined) };
      return { type: 'line', line };
    }

    if (this.pending === undefined) {
      if (length === 0 || (length === 1 && endsWithCR)) return undefined; // blank lines between commands are ignored
      this.pending = { tag: tagOf(line), lines: [], literals: [], bytes: 0, discarding: false };
    }
    const pending = this.pending;
    pending.bytes += length + 1;

    let event: ReaderEvent | undefined;
    if (tooLong && !alreadyReported) {
      event = this.refuse('LINE_TOO_LONG', `line longer than ${this.limits.maxLineBytes} bytes`, false);
    } else if (!pending.discarding && pending.bytes > this.limits.maxCommandBytes) {
      event = this.refuse('COMMAND_TOO_BIG', `command larger than ${this.limits.maxCommandBytes} bytes`, false);
    } else if (!pending.discarding && hasMarker) {
      event = this.checkLiteral(marker.size, marker.nonSync);
    }

    if (pending.discarding) {
      // Stay in step with the client: a non-synchronizing literal comes regardless and is
      // skipped; after a synchronizing one the client waits for a `+` that never comes.
      if (hasMarker && marker.nonSync) {
        this.phase = 'skip';
        this.skipRemaining = marker.size;
      } else {
        this.pending = undefined;
      }
      return event;
    }

    if (!hasMarker) {
      pending.lines.push(line);
      this.pending = undefined;
      return { type: 'command', frame: { tag: pending.tag, lines: pending.lines, literals: pending.literals } };
    }
    pending.lines.push(line.subarray(0, marker.start));
    pending.bytes += marker.size;
    this.phase = 'literal';
    this.literalSize = marker.size;
    this.literalBinary = marker.binary;
    this.literalNonSync = marker.nonSync;
    if (marker.nonSync) return undefined;
    return { type: 'continue', tag: pending.tag, size: marker.size, binary: marker.binary };
  }

  /** Checks a literal announced at the end of a line; refuses the command when it is over a limit. */
  private checkLiteral(size: number, nonSync: boolean): ReaderEvent | undefined {
    const pending = this.pending!;
    const limits = this.limits;
    if (pending.literals.length + 1 > limits.maxLiterals) {
      return this.refuse('TOO_MANY_LITERALS', `more than ${limits.maxLiterals} literals in one command`, nonSync && size > limits.maxLiteralBytes);
    }
    const limit = nonSync ? Math.min(limits.maxNonSyncLiteralBytes, limits.maxLiteralBytes) : limits.maxLiteralBytes;
    if (size > limit) {
      const what = nonSync && size <= limits.maxLiteralBytes ? `non-synchronizing literal larger than ${limit} bytes` : `literal larger than ${limit} bytes`;
      // A client pushing a non-synchronizing literal past the absolute limit gets it skipped,
      // but a server should rather hang up than read gigabytes of junk.
      return this.refuse('LITERAL_TOO_BIG', what, nonSync && size > limits.maxLiteralBytes);
    }
    if (pending.bytes + size > limits.maxCommandBytes) {
      return this.refuse('COMMAND_TOO_BIG', `command larger than ${limits.maxCommandBytes} bytes`, nonSync && size > limits.maxLiteralBytes);
    }
    return undefined;
  }

  private resetLine(): void {
    this.line.clear();
    this.lineLength = 0;
    this.lineTooLong = false;
    this.inQuote = false;
    this.escaped = false;
    this.marker = M_NONE;
  }
}

/** The tag at the start of a line (1*ASTRING-CHAR except `+`), or undefined. */
export function tagOf(line: Buffer): string | undefined {
  let end = 0;
  while (end < line.length && end < MAX_TAG_BYTES && line[end] !== SP) {
    if (!isTagByte(line[end]!)) return undefined;
    end++;
  }
  if (end === 0 || end === MAX_TAG_BYTES) return undefined;
  return line.toString('latin1', 0, end);
}

/** ASTRING-CHAR except `+`: CHAR without CTL, SP, `(`, `)`, `{`, `%`, `*`, `"`, `\`, and `+`. */
export function isTagByte(b: number): boolean {
  if (b <= 0x20 || b >= 0x7f) return false;
  return b !== 0x28 && b !== 0x29 && b !== LBRACE && b !== 0x25 && b !== 0x2a && b !== DQUOTE && b !== BACKSLASH && b !== PLUS;
}
