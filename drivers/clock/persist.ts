/**
 * The last known time, kept in a small file on the data partition so that a board without a
 * real-time clock (it boots in 1970) starts no earlier than it last ran: time never goes
 * backwards across boots, which certificate checks, commit dates and lease files rely on.
 */
import fs from 'node:fs';
import { writeFileDurable } from '../../firmware/runtime/durable.js';
import { NymoteError } from '../../firmware/runtime/errors.js';

/** 2000-01-01 and 2200-01-01: a persisted time outside these is damage, not a date. */
const EARLIEST_BELIEVABLE_MS = Date.UTC(2000, 0, 1);
const LATEST_BELIEVABLE_MS = Date.UTC(2200, 0, 1);

/** Whether `unixMs` could be today's date; the clock of a board that just booted without one is not. */
export function isBelievableTime(unixMs: number): boolean {
  return Number.isFinite(unixMs) && unixMs >= EARLIEST_BELIEVABLE_MS && unixMs <= LATEST_BELIEVABLE_MS;
}

export interface PersistedTime {
  unixMs: number;
}

/** The persisted time, or undefined when there is none; a damaged file is an ECLOCKFILE error. */
export function readPersistedTime(file: string): PersistedTime | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new NymoteError('ECLOCKFILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(0, 4096));
  } catch {
    throw new NymoteError('ECLOCKFILE', `${file} is not JSON`);
  }
  const unixMs = (parsed as { unixMs?: unknown } | null)?.unixMs;
  if (typeof unixMs !== 'number' || !isBelievableTime(unixMs)) {
    throw new NymoteError('ECLOCKFILE', `${file} holds no believable time`);
  }
  return { unixMs };
}

export function writePersistedTime(file: string, unixMs: number): void {
  const text = JSON.stringify({ unixMs: Math.floor(unixMs), iso: new Date(unixMs).toISOString() }) + '\n';
  writeFileDurable(file, text, 0o644);
}

/**
 * What boot does with the persisted time: when the system clock is behind it, the clock is
 * set forward to it. Returns the time set, or undefined when the clock was left alone.
 */
export async function restorePersistedTime(
  persisted: PersistedTime | undefined,
  systemNowMs: number,
  setClock: (unixMs: number) => Promise<void>,
): Promise<number | undefined> {
  if (persisted === undefined || systemNowMs >= persisted.unixMs) return undefined;
  await setClock(persisted.unixMs);
  return persisted.unixMs;
}
