// Adaptive load shedding in the manner of kratos BBR (aegis/ratelimit/bbr) and go-zero's
// adaptive shedder (core/load): refuse work before latency collapses, without a configured limit.
//
// Little's law gives the concurrency a server needs at its best: best throughput × best latency,
// here max passes per second × min RT over a sliding window. While the process is busy, a request
// is refused when more requests are in flight than that — they could only wait in queues, raising
// everyone's latency. When not busy nothing is refused, however many requests are in flight. After
// refusing, the check stays on for `coolOffMs` past the last busy reading, so load dipping for a
// moment does not open the gates to the backlog that caused it (go-zero's cool-off).
//
// Busy, in Node: the event loop is stuck in one turn for `delayThresholdMs` or more right now
// (it is saturated and everything it reads now queues behind that turn), or, over the last
// samples, both load (event-loop utilization or CPU, see load-shedder-sampler.ts) at or above
// `cpuThreshold` — kratos's and go-zero's CPU test — and mean event-loop delay at or above
// `delayThresholdMs`. A saturated loop that still turns quickly is working at full throughput
// without queueing; refusing there gains nothing, and for cheap handlers a refusal costs about
// as much as an answer (measured: with trivial handlers and a saturating client, shedding on
// load alone cut throughput by a third).
//
// Node differs from Go in one more way: grpc-js reads every request that arrived during
// an event-loop turn in one go, admitting each before any handler has run. In-flight (from
// admission until the answer is written out, which is the next turn at the earliest) therefore
// counts the work taken on in the current turn, and the limit caps it. go-zero's extra condition,
// a slow-moving average of in-flight also over the limit, is left out on purpose: the average
// only moves as requests complete, so it would wave whole batches through. Measured at 300
// req/s with 1 s deadlines against a server of ~100 req/s: 77 calls/s answered in time without
// the average, 13/s with it (and 0/s with no shedding at all).
import { CoordError } from '../core/errors.ts';
import { acquireProcessLoad, type LoadSource } from './load-shedder-sampler.ts';
import { ShedderWindow } from './load-shedder-window.ts';

/** Options for {@link LoadShedder}; defaults in each field's doc. */
export interface LoadShedderOptions {
  /** Load in [0, 1] at or above which shedding may start (see load-shedder-sampler.ts). Default 0.8. */
  cpuThreshold?: number;
  /** Event-loop delay (now, or smoothed with load over `cpuThreshold`) at or above which shedding may start. Default 50 ms. */
  delayThresholdMs?: number;
  /** How long max throughput and min latency are remembered. Default 5000 ms. */
  windowMs?: number;
  /** Buckets the window is cut into. Default 50 (100 ms each). */
  buckets?: number;
  /** How long the in-flight check stays on after the last busy reading once shedding started. Default 1000 ms. */
  coolOffMs?: number;
  /** Where load comes from. Default: the process-wide sampler of event-loop utilization and CPU. */
  load?: LoadSource;
  /** Clock in ms. Default `performance.now`. */
  now?: () => number;
}

export interface LoadShedderStats {
  /** Smoothed load in [0, 1]. */
  load: number;
  /** Smoothed event-loop delay, ms. */
  delayMs: number;
  /** How long the event loop has been busy in its current turn, ms. */
  lagMs: number;
  inFlight: number;
  /** Estimated concurrency at best throughput and latency; Infinity until the window has data. */
  maxInFlight: number;
  /** Best throughput in the window, requests per second. */
  maxPassPerSecond: number;
  /** Best per-bucket average response time in the window, ms (Infinity without data). */
  minRtMs: number;
  /** True while refusing is possible: busy (see above), or cooling off after refusals. */
  hot: boolean;
  /** Requests refused since creation. */
  shed: number;
  /** Requests admitted and completed since creation. */
  completed: number;
}

/** An admitted request; report its end exactly once. */
export class Admission {
  private ended = false;
  constructor(
    private readonly shedder: LoadShedder,
    readonly startedAt: number,
  ) {}

  /**
   * The request finished. `counted`: it completed normally, so its time says something about
   * capacity; false for requests cancelled or past their deadline, whose time says nothing.
   */
  done(counted: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.shedder.finish(this.startedAt, counted);
  }
}

export class LoadShedder {
  private readonly threshold: number;
  private readonly delayThresholdMs: number;
  private readonly coolOffMs: number;
  private readonly window: ShedderWindow;
  private readonly load: LoadSource;
  private readonly release: (() => void) | undefined;
  private readonly now: () => number;
  private inFlight = 0;
  private lastHotAt = -Infinity;
  private droppedRecently = false;
  private shedCount = 0;
  private completedCount = 0;

  constructor(options: LoadShedderOptions = {}) {
    // Field by field, so an explicit `undefined` means the default too.
    const o = {
      cpuThreshold: options.cpuThreshold ?? 0.8,
      delayThresholdMs: options.delayThresholdMs ?? 50,
      windowMs: options.windowMs ?? 5000,
      buckets: options.buckets ?? 50,
      coolOffMs: options.coolOffMs ?? 1000,
    };
    if (!(o.cpuThreshold > 0 && o.cpuThreshold <= 1)) throw new CoordError('invalid-argument', `cpuThreshold must be in (0, 1], got ${o.cpuThreshold}`);
    if (!Number.isInteger(o.buckets) || o.buckets < 2) throw new CoordError('invalid-argument', `buckets must be an integer >= 2, got ${o.buckets}`);
    if (!(o.windowMs >= o.buckets)) throw new CoordError('invalid-argument', `windowMs must be at least 1 ms per bucket, got ${o.windowMs}`);
    if (!(o.delayThresholdMs >= 0)) throw new CoordError('invalid-argument', `delayThresholdMs must be >= 0, got ${o.delayThresholdMs}`);
    this.threshold = o.cpuThreshold;
    this.delayThresholdMs = o.delayThresholdMs;
    this.coolOffMs = o.coolOffMs;
    this.window = new ShedderWindow(o.buckets, o.windowMs / o.buckets);
    this.now = options.now ?? (() => performance.now());
    if (options.load) {
      this.load = options.load;
    } else {
      const shared = acquireProcessLoad();
      this.load = shared;
      this.release = () => shared.release();
    }
  }

  /** Admits a request (report its end with `done`), or returns undefined: refuse it. */
  admit(): Admission | undefined {
    if (this.shouldShed()) return undefined;
    this.inFlight++;
    return new Admission(this, this.now());
  }

  /**
   * Decides without tracking: for long-lived streams, which may be refused under overload but
   * whose lifetimes say nothing about capacity. Counts a refusal like admit().
   */
  shouldShed(): boolean {
    const now = this.now();
    if (this.busy()) this.lastHotAt = now;
    else if (!this.droppedRecently || now - this.lastHotAt >= this.coolOffMs) {
      this.droppedRecently = false;
      return false;
    }
    const limit = this.maxInFlight(now);
    if (this.inFlight > limit) {
      this.droppedRecently = true;
      this.shedCount++;
      return true;
    }
    return false;
  }

  /** @internal Called by Admission.done. */
  finish(startedAt: number, counted: boolean): void {
    this.inFlight--;
    if (!counted) return;
    const now = this.now();
    this.completedCount++;
    this.window.add(now, now - startedAt);
  }

  stats(): LoadShedderStats {
    const now = this.now();
    return {
      load: this.load.current(),
      delayMs: this.load.delayMs(),
      lagMs: this.load.lagMs(),
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight(now),
      maxPassPerSecond: this.window.maxPassPerSecond(now),
      minRtMs: this.window.minRt(now),
      hot: this.busy() || (this.droppedRecently && now - this.lastHotAt < this.coolOffMs),
      shed: this.shedCount,
      completed: this.completedCount,
    };
  }

  /** Stops using the shared load sampler (if this shedder started it). */
  close(): void {
    this.release?.();
  }

  private busy(): boolean {
    if (this.load.lagMs() >= this.delayThresholdMs) return true;
    return this.load.current() >= this.threshold && this.load.delayMs() >= this.delayThresholdMs;
  }

  /** maxQPS × minRT, at least 1 (a server can always work on one request); Infinity without data. */
  private maxInFlight(now: number): number {
    const perSecond = this.window.maxPassPerSecond(now);
    if (perSecond === 0) return Infinity;
    return Math.max(1, (perSecond * this.window.minRt(now)) / 1000);
  }
}
