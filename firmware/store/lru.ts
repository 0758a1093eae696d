/**
 * A least-recently-used cache bounded by bytes rather than entries, because objects vary from
 * a few bytes to megabytes. Map keeps insertion order; a hit re-inserts the key at the end.
 */
export class ByteLru<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private used = 0;

  constructor(
    private readonly capacityBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    const bytes = this.sizeOf(value);
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    // Anything larger than a quarter of the cache would evict too much to be worth keeping.
    if (bytes > this.capacityBytes / 4) return;
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.used <= this.capacityBytes) break;
      this.entries.delete(oldestKey);
      this.used -= oldest.bytes;
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.used -= entry.bytes;
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }
}
