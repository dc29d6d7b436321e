// The load shedder's memory: completed requests and their response times in fixed time buckets
// over a sliding window, reduced to the best throughput and the best latency (min per-bucket
// average RT) seen. The still-filling current bucket is left out of both, as in kratos BBR and
// go-zero, so a half-full bucket cannot drag the throughput estimate down.
//
// Throughput is the most requests completed in any one second of the window (a run of buckets),
// not kratos's busiest single bucket scaled up: Node answers a whole event-loop turn's requests
// at once, so completions come in bursts, and one 100 ms bucket catching the burst of a 700 ms
// turn would read as seven times the real rate.

export class ShedderWindow {
  private readonly epochs: Float64Array;
  private readonly passes: Float64Array;
  private readonly rtSums: Float64Array;
  private cacheEpoch = Number.NaN;
  private cachedMaxPassPerSecond = 0;
  private cachedMinRt = Infinity;

  constructor(
    readonly buckets: number,
    readonly bucketMs: number,
  ) {
    this.epochs = new Float64Array(buckets).fill(-1);
    this.passes = new Float64Array(buckets);
    this.rtSums = new Float64Array(buckets);
  }

  /** Records one completed request that took `rtMs`. */
  add(now: number, rtMs: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const slot = epoch % this.buckets;
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.passes[slot] = 0;
      this.rtSums[slot] = 0;
    }
    this.passes[slot]++;
    this.rtSums[slot] += rtMs;
  }

  /** Most requests completed per second over any one-second run of buckets in the window; 0 before any bucket has closed. */
  maxPassPerSecond(now: number): number {
    this.reduce(now);
    return this.cachedMaxPassPerSecond;
  }

  /** Lowest per-bucket average response time in the window, ms; Infinity before any bucket has closed. */
  minRt(now: number): number {
    this.reduce(now);
    return this.cachedMinRt;
  }

  /** Both figures only change when a bucket closes, so they are computed once per bucket. */
  private reduce(now: number): void {
    const current = Math.floor(now / this.bucketMs);
    if (current === this.cacheEpoch) return;
    // Closed buckets of the window, oldest first; a bucket nothing completed in counts as 0.
    const closed: number[] = [];
    let minRt = Infinity;
    for (let epoch = current - this.buckets + 1; epoch < current; epoch++) {
      const slot = ((epoch % this.buckets) + this.buckets) % this.buckets;
      const passes = this.epochs[slot] === epoch ? this.passes[slot] : 0;
      closed.push(passes);
      if (passes > 0) minRt = Math.min(minRt, this.rtSums[slot] / passes);
    }
    const span = Math.max(1, Math.min(closed.length, Math.round(1000 / this.bucketMs)));
    let run = 0;
    let maxRun = 0;
    closed.forEach((passes, i) => {
      run += passes - (i >= span ? closed[i - span] : 0);
      maxRun = Math.max(maxRun, run);
    });
    this.cacheEpoch = current;
    this.cachedMaxPassPerSecond = (maxRun * 1000) / (span * this.bucketMs);
    this.cachedMinRt = minRt;
  }
}
