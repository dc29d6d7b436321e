// Token buckets per key (client IP, token subject). Buckets refill lazily, so an idle key costs
// nothing but its map entry; past `maxKeys` the oldest entries go (such a key starts over full).
import { TokenBucket, type RateLimit } from '../resilience/rate-limiter.ts';

export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Fails now on a bad limit rather than on the first request.
    new TokenBucket(limit, now);
  }

  /** 0 when a request for `key` may go now (a token is taken), else ms until one may. */
  take(key: string): number {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.evict();
      b = new TokenBucket(this.limit, this.now);
      this.buckets.set(key, b);
    }
    return b.tryTake() ? 0 : Math.max(1, b.waitMs());
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    let n = Math.max(1, Math.floor(this.maxKeys / 10));
    for (const k of this.buckets.keys()) {
      this.buckets.delete(k);
      if (--n === 0) return;
    }
  }
}
