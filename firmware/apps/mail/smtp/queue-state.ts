/**
 * One queued message's state (`mail-queue/<id>/state.json`): who it is from, who is still
 * pending, who failed for good but has not been told about yet, attempts and when the next one
 * is due. Read strictly: a state file that does not parse is reported, never guessed at.
 */
import type { FailedRecipient } from './bounce.js';

export const QUEUE_DIR = 'mail-queue';

export interface QueueState {
  version: 1;
  /** Envelope sender (one of the user's own addresses). */
  from: string;
  /** Recipients not yet delivered to the smarthost. */
  pending: string[];
  /** Recipients that failed for good; a bounce is still to be delivered for them. */
  failed: FailedRecipient[];
  attempts: number;
  /** ISO 8601 times. */
  queuedAt: string;
  nextAttemptAt: string;
  lastError?: string;
  /** The device that queued it: only that one sends it, though the store syncs everywhere. */
  device: string;
}

export function messagePath(id: string): string {
  return `${QUEUE_DIR}/${id}/message.eml`;
}

export function statePath(id: string): string {
  return `${QUEUE_DIR}/${id}/state.json`;
}

export function itemPath(id: string): string {
  return `${QUEUE_DIR}/${id}`;
}

const ID = /^[0-9a-z]{1,16}-[0-9a-f]{12}$/;

export function isQueueId(name: string): boolean {
  return ID.test(name);
}

function isTime(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isFailedList(value: unknown): value is FailedRecipient[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'object' && v !== null && typeof v.recipient === 'string' && typeof v.reply === 'string' && isTime(v.at));
}

/** The state in a file, or undefined when it is not a state we wrote. */
export function parseQueueState(bytes: Buffer): QueueState | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || v.version !== 1) return undefined;
  if (typeof v.from !== 'string' || !isStringList(v.pending) || !isFailedList(v.failed)) return undefined;
  if (typeof v.attempts !== 'number' || !Number.isInteger(v.attempts) || v.attempts < 0) return undefined;
  if (!isTime(v.queuedAt) || !isTime(v.nextAttemptAt) || typeof v.device !== 'string') return undefined;
  if (v.lastError !== undefined && typeof v.lastError !== 'string') return undefined;
  return v as unknown as QueueState;
}

export function encodeQueueState(state: QueueState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/**
 * When to try again after `attempts` attempts: the schedule's delay (its last one repeating),
 * but never past the give-up time, so the last try happens right when the queue gives up.
 */
export function nextAttemptTime(attempts: number, now: number, queuedAt: number, delays: readonly number[], giveUpAfterMs: number): number {
  const delay = delays[Math.min(attempts - 1, delays.length - 1)] ?? delays[delays.length - 1] ?? 60_000;
  return Math.max(now, Math.min(now + delay, queuedAt + giveUpAfterMs));
}
