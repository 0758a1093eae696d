/**
 * Structured log lines in logfmt: `ts=… level=info svc=http msg="listening" port=8080`.
 * Lines go to stderr (or nowhere), to an in-memory ring for the console's `logs`, and to
 * log/nymote.log in the data directory with size-based rotation.
 */
import fs from 'node:fs';
import path from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | undefined>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `svc=<name>` to every line. */
  child(service: string): Logger;
}

export interface LogSinkOptions {
  level?: LogLevel;
  /** Write lines to stderr (the terminal in host mode, the serial console on a device). */
  stderr?: boolean;
  /** Directory for nymote.log and its rotations; omitted = no file. */
  dir?: string;
  /** Rotate when the file passes this many bytes; keep `keep` old files. */
  rotateBytes?: number;
  keep?: number;
  /** How many recent lines the ring keeps for the console. */
  ringSize?: number;
}

function quote(value: string): string {
  return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value);
}

export function formatLine(level: LogLevel, msg: string, fields: LogFields, now = new Date()): string {
  let line = `ts=${now.toISOString()} level=${level}`;
  if (fields.svc !== undefined) line += ` svc=${quote(String(fields.svc))}`;
  line += ` msg=${JSON.stringify(msg)}`;
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'svc' || value === undefined) continue;
    line += ` ${key}=${quote(String(value))}`;
  }
  return line;
}

/** Where log lines end up; one per process. */
export class LogSink {
  readonly ring: string[] = [];
  private readonly minRank: number;
  private readonly toStderr: boolean;
  private readonly file: string | undefined;
  private readonly rotateBytes: number;
  private readonly keep: number;
  private readonly ringSize: number;
  private fd: number | undefined;
  private fileBytes = 0;
  private readonly followers = new Set<(line: string) => void>();

  constructor(options: LogSinkOptions = {}) {
    this.minRank = LEVEL_RANK[options.level ?? 'info'];
    this.toStderr = options.stderr ?? true;
    this.file = options.dir === undefined ? undefined : path.join(options.dir, 'nymote.log');
    this.rotateBytes = options.rotateBytes ?? 1 << 20;
    this.keep = options.keep ?? 3;
    this.ringSize = options.ringSize ?? 500;
    if (this.file !== undefined) this.openFile();
  }

  logger(base: LogFields = {}): Logger {
    const emit = (level: LogLevel) => (msg: string, fields: LogFields = {}) =>
      this.write(level, msg, { ...base, ...fields });
    return {
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
      child: (service) => this.logger({ ...base, svc: service }),
    };
  }

  /** Calls `onLine` for every line from now on; returns the unsubscribe function. */
  follow(onLine: (line: string) => void): () => void {
    this.followers.add(onLine);
    return () => this.followers.delete(onLine);
  }

  write(level: LogLevel, msg: string, fields: LogFields): void {
    if (LEVEL_RANK[level] < this.minRank) return;
    const line = formatLine(level, msg, fields);
    this.ring.push(line);
    if (this.ring.length > this.ringSize) this.ring.shift();
    if (this.toStderr) process.stderr.write(line + '\n');
    this.appendToFile(line + '\n');
    for (const onLine of this.followers) onLine(line);
  }

  /** Flushes the file to disk; called on shutdown. */
  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private openFile(): void {
    const file = this.file as string;
    this.fd = fs.openSync(file, 'a', 0o640);
    this.fileBytes = fs.fstatSync(this.fd).size;
  }

  private appendToFile(text: string): void {
    if (this.fd === undefined) return;
    try {
      if (this.fileBytes + text.length > this.rotateBytes) this.rotate();
      this.fileBytes += fs.writeSync(this.fd, text);
    } catch {
      // A full or failing disk must not take the firmware down with it; stderr still has the line.
      this.fd = undefined;
    }
  }

  private rotate(): void {
    const file = this.file as string;
    fs.closeSync(this.fd as number);
    for (let n = this.keep - 1; n >= 1; n--) {
      if (fs.existsSync(`${file}.${n}`)) fs.renameSync(`${file}.${n}`, `${file}.${n + 1}`);
    }
    fs.renameSync(file, `${file}.1`);
    this.openFile();
  }
}
