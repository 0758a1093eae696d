/**
 * Response-rate limiting for UDP answers, after BIND's and Knot's RRL: a token bucket per
 * client netblock (/24 for IPv4, /56 for IPv6) and response (name and kind). Over the rate,
 * answers are dropped, except every `slip`-th, which goes out truncated and empty so that a
 * real client retries over TCP while a spoofed victim gets no amplification.
 */
import { isIPv4 } from 'node:net';

export type RateDecision = 'send' | 'slip' | 'drop';

interface Bucket {
  tokens: number;
  updated: number;
  limited: number;
}

export class ResponseRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** `perSecond` answers per bucket per second, bursts of as many; 0 turns limiting off. */
  constructor(
    readonly perSecond: number,
    private readonly slip = 2,
    private readonly maxBuckets = 100_000,
  ) {}

  decide(clientAddress: string, response: string, nowMs: number): RateDecision {
    if (this.perSecond === 0) return 'send';
    const key = `${netblock(clientAddress)}|${response}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      // A flood of spoofed sources must not grow the table without end: oldest buckets go first.
      if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.perSecond, updated: nowMs, limited: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((nowMs - bucket.updated) / 1000) * this.perSecond);
    bucket.updated = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 'send';
    }
    bucket.limited++;
    return this.slip > 0 && bucket.limited % this.slip === 0 ? 'slip' : 'drop';
  }
}

function netblock(address: string): string {
  if (isIPv4(address)) return address.slice(0, address.lastIndexOf('.'));
  // The first 56 bits: three and a half groups of the expanded address.
  const [head = '', tail = ''] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  const rest = tail === '' ? [] : tail.split(':');
  const full = [...groups, ...new Array<string>(Math.max(0, 8 - groups.length - rest.length)).fill('0'), ...rest];
  return `${full.slice(0, 3).join(':')}:${(parseInt(full[3] ?? '0', 16) & 0xff00).toString(16)}`;
}
