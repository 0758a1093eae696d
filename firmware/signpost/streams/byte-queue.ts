/**
 * The bytes a stream has been given to send and the peer has not yet acknowledged: chunks as
 * written (no copy), addressed by stream offset, dropped from the front as ACKs come.
 */
export class ByteQueue {
  /** Stream offset one past the last byte written. */
  end = 0;
  private readonly chunks: Buffer[] = [];
  /** Stream offset of each chunk's first byte. */
  private readonly starts: number[] = [];
  private head = 0;

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.starts.push(this.end);
    this.end += chunk.length;
  }

  /** Copies bytes [offset, offset + length) into `target`; they must not have been released. */
  copyTo(target: Buffer, targetStart: number, offset: number, length: number): void {
    let index = this.chunkAt(offset);
    let from = offset;
    let to = targetStart;
    const stop = offset + length;
    while (from < stop) {
      const chunk = this.chunks[index]!;
      const start = this.starts[index]!;
      const take = Math.min(stop, start + chunk.length) - from;
      chunk.copy(target, to, from - start, from - start + take);
      from += take;
      to += take;
      index++;
    }
  }

  /** Drops the chunks wholly below `offset`. */
  release(offset: number): void {
    while (this.head < this.chunks.length && this.starts[this.head]! + this.chunks[this.head]!.length <= offset) {
      this.chunks[this.head] = EMPTY;
      this.head++;
    }
    // Compact now and then rather than shift on every release.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.starts.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Index of the chunk holding `offset` (binary search: many small writes make many chunks). */
  private chunkAt(offset: number): number {
    let low = this.head;
    let high = this.chunks.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

const EMPTY = Buffer.alloc(0);
