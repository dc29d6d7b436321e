// A token bucket: the classic rate limit with bursts. Refilled lazily on use, so an idle limiter
// costs nothing and needs no timer.
import { CoordError } from '../core/errors.ts';

/** A sustained rate with an allowed burst. */
export interface RateLimit {
  /** Tokens added per second (requests per second sustained). Must be > 0. */
  rate: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. Default `max(1, rate)` (one second's worth). */
  burst?: number;
}

/** A token bucket for a RateLimit, refilled lazily when used. */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(
    limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.rate > 0) || !Number.isFinite(limit.rate)) throw new CoordError('invalid-argument', `rate must be a positive number, got ${limit.rate}`);
    const burst = limit.burst ?? Math.max(1, limit.rate);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new CoordError('invalid-argument', `burst must be >= 1, got ${burst}`);
    this.rate = limit.rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = now();
  }

  /** Takes `n` tokens if they are there now; false (nothing taken) otherwise. */
  tryTake(n = 1): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** How long until `n` tokens will be there, in ms (0 if they are now). */
  waitMs(n = 1): number {
    this.refill();
    return this.tokens >= n ? 0 : Math.ceil(((n - this.tokens) / this.rate) * 1000);
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.now();
    // A clock that steps back (it should not with performance.now) must not mint tokens.
    if (now > this.last) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}
