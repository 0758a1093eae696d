/**
 * Reads the DATA of one message into memory within two bounds: the message limit (once it is
 * passed, what was read is dropped and the rest only counted, so at most the limit is ever
 * held) and a budget shared by every connection of a service (when it is spent, the message
 * is drained and refused with a temporary error instead of growing the heap).
 */
import type { SMTPServerDataStream } from 'smtp-server';

/** Bytes held by messages being received, across the connections of one service. */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}

export type ReadOutcome =
  | { kind: 'message'; data: Buffer }
  | { kind: 'too-big'; bytes: number }
  | { kind: 'busy'; bytes: number }
  | { kind: 'aborted' };

/**
 * Collects the stream. Resolves once it ended (or the client went away); the budget taken for
 * the message is handed back before it resolves — the caller holds the Buffer only briefly.
 */
export function readMessage(stream: SMTPServerDataStream, maxBytes: number, budget: ByteBudget): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let held = 0;
    let seen = 0;
    let state: 'reading' | 'too-big' | 'busy' = 'reading';
    let settled = false;
    const release = () => {
      budget.give(held);
      chunks = [];
      held = 0;
    };
    const finish = (ended: boolean) => {
      if (settled) return;
      settled = true;
      if (state === 'reading' && stream.sizeExceeded) state = 'too-big';
      const data = ended && state === 'reading' ? Buffer.concat(chunks, held) : undefined;
      release();
      if (!ended) resolve({ kind: 'aborted' });
      else if (data !== undefined) resolve({ kind: 'message', data });
      else resolve({ kind: state === 'busy' ? 'busy' : 'too-big', bytes: seen });
    };
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (state !== 'reading') return;
      if (seen > maxBytes || stream.sizeExceeded) {
        release();
        state = 'too-big';
      } else if (!budget.take(chunk.length)) {
        release();
        state = 'busy';
      } else {
        chunks.push(chunk);
        held += chunk.length;
      }
    });
    stream.once('end', () => finish(true));
    stream.once('error', () => finish(false));
    stream.once('close', () => finish(false));
  });
}
