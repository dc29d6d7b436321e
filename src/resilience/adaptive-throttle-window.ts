// A time-bucketed sliding window of request outcomes, the statistic adaptive throttling reads.
// Buckets rather than a log of timestamps keep memory constant at any request rate.

/** Request counts over the last window. */
export interface WindowCounts {
  /** Requests attempted by the application, including those rejected locally. */
  requests: number;
  /** Requests the backend accepted. */
  accepts: number;
  /** Requests rejected locally. */
  rejected: number;
}

export class OutcomeWindow {
  private readonly requests: Float64Array;
  private readonly accepts: Float64Array;
  private readonly rejected: Float64Array;
  private readonly bucketMs: number;
  /** Index of the bucket covering `bucketStart`. */
  private current = 0;
  private bucketStart: number;
  private readonly totals: WindowCounts = { requests: 0, accepts: 0, rejected: 0 };

  constructor(
    readonly windowMs: number,
    readonly buckets: number,
    private readonly now: () => number,
  ) {
    this.bucketMs = windowMs / buckets;
    this.requests = new Float64Array(buckets);
    this.accepts = new Float64Array(buckets);
    this.rejected = new Float64Array(buckets);
    this.bucketStart = now();
  }

  add(accepted: boolean, rejectedLocally = false): void {
    this.advance();
    this.requests[this.current]++;
    this.totals.requests++;
    if (accepted) {
      this.accepts[this.current]++;
      this.totals.accepts++;
    }
    if (rejectedLocally) {
      this.rejected[this.current]++;
      this.totals.rejected++;
    }
  }

  counts(): WindowCounts {
    this.advance();
    return { ...this.totals };
  }

  /**
   * The share of buckets with admitted requests that are "healthy": accepted requests and no
   * failure since the last bucket in which an admitted request failed (go-zero's "working
   * buckets", counted against the buckets that saw traffic, so an empty bucket — the one just
   * started, or a quiet moment — neither counts nor holds recovery back).
   */
  healthyShare(): number {
    this.advance();
    let healthy = 0;
    let admitted = 0;
    for (let i = 1; i <= this.buckets; i++) {
      const b = (this.current + i) % this.buckets;
      if (this.requests[b] - this.rejected[b] === 0) continue;
      admitted++;
      if (this.requests[b] - this.accepts[b] - this.rejected[b] > 0) healthy = 0;
      else healthy++;
    }
    return admitted === 0 ? 0 : healthy / admitted;
  }

  /** Drops the buckets that time has moved past. */
  private advance(): void {
    const elapsed = this.now() - this.bucketStart;
    // A wall clock stepping backwards keeps the current bucket rather than corrupting the ring.
    if (elapsed < this.bucketMs) return;
    const steps = Math.floor(elapsed / this.bucketMs);
    for (let i = 0; i < Math.min(steps, this.buckets); i++) {
      this.current = (this.current + 1) % this.buckets;
      this.totals.requests -= this.requests[this.current];
      this.totals.accepts -= this.accepts[this.current];
      this.totals.rejected -= this.rejected[this.current];
      this.requests[this.current] = 0;
      this.accepts[this.current] = 0;
      this.rejected[this.current] = 0;
    }
    this.bucketStart += steps * this.bucketMs;
  }
}
