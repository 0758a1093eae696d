/**
 * Commits newest first, as git walks them: a max-heap by committer time, then by id, so that
 * every walk (history, merge bases, the git server's) has one deterministic order.
 */
import type { ObjectId } from './objects.js';

export interface QueuedCommit {
  id: ObjectId;
  /** Committer time, seconds since the epoch. */
  time: number;
}

export class CommitQueue<T extends QueuedCommit = QueuedCommit> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    const heap = this.heap;
    heap.push(item);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!newer(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** The newest commit, taken off the queue. */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        let best = i;
        if (l < heap.length && newer(heap[l]!, heap[best]!)) best = l;
        if (l + 1 < heap.length && newer(heap[l + 1]!, heap[best]!)) best = l + 1;
        if (best === i) break;
        [heap[i], heap[best]] = [heap[best]!, heap[i]!];
        i = best;
      }
    }
    return top;
  }

  some(predicate: (item: T) => boolean): boolean {
    return this.heap.some(predicate);
  }
}

function newer(a: QueuedCommit, b: QueuedCommit): boolean {
  return a.time !== b.time ? a.time > b.time : a.id > b.id;
}
