// Adaptive load shedding in the manner of kratos BBR (aegis/ratelimit/bbr) and go-zero's
// adaptive shedder (core/load): refuse work before latency collapses, without a configured limit.
//
// Little's law gives the concurrency a server needs at its best: best throughput × best latency,
// here max completions per second × min RT over a sliding window. While the server is
// overloaded, a request is refused when that many, times `gain`, are already in flight (and never
// below `minInFlight`): more could only wait in queues, raising everyone's latency. Admitted
// requests then take about `gain` × the best RT, far inside any sane deadline, and the server
// stays busy, so goodput stays at capacity however much is offered.
//
// Three things differ from the Go anchors, each measured on a CPU-bound Node service at 3x its
// capacity (bench/grpc-overload.ts):
// - The bare estimate is too tight for Node. A CPU-bound handler on one thread has best RT ≈ 1 /
//   capacity, so max-pass × min-RT ≈ 1, and kratos's rule kept 1–2 calls in flight. But grpc-js
//   only picks up new calls between event-loop turns, and calls arrive in bursts (more so on a
//   busy machine, where the process waits for a core), so with few in flight the loop idled while
//   refusing calls: at 3x, load read 0.7–0.85 with 1–2 in flight and goodput was 0.5–0.6x of
//   capacity; 4 still idled at times. `gain` (2, TCP BBR's cwnd gain) and the floor `minInFlight`
//   (8) keep it busy, at the cost of RT ≈ 8 × the best for a CPU-bound handler — 40 ms for a 5 ms
//   one, far inside its deadline — and ≈ 2 × the best for one that mostly waits on I/O.
// - The best RT is frozen while overloaded. Under overload every admitted call waits behind the
//   others, so once the calm samples leave the window the "best" RT is the congested one and the
//   limit feeds on itself (with a gain above 1 it ratchets up until RT reaches the deadlines).
//   TCP BBR re-probes its min RTT; a server can simply keep the best it saw before the episode.
//   The price: if calls truly get slower during a long episode (a slower dependency), the limit
//   keeps the old best until the episode ends, eating into the headroom `gain` gives. (If nothing
//   completes in a whole window during an episode, the floor is the limit, not "no data, admit
//   all".)
// - An episode starts only with evidence of queueing: load at or over `cpuThreshold` (event-loop
//   utilization or CPU; a CPU-bound Node service reads near 1 whenever it is busy at all) and
//   event-loop delay, sustained or in the current turn, at or over `delayThresholdMs`. A saturated
//   loop that still turns quickly is serving at full throughput without queueing, and refusing
//   there gains nothing: for cheap handlers a refusal costs about as much as an answer. Once
//   started, the episode lasts while load stays over the threshold, whatever the delay, and for
//   `coolOffMs` after (go-zero's cool-off): a shedder that works keeps delay low, and requiring
//   delay throughout made shedding stop every second or two, let a backlog in and start again,
//   which is what made goodput swing between 0.0x and 0.9x from run to run.
import { CoordError } from '../core/errors.ts';
import { acquireProcessLoad, type LoadSource } from './load-shedder-sampler.ts';
import { ShedderWindow } from './load-shedder-window.ts';

/** Options for {@link LoadShedder}; defaults in each field's doc. */
export interface LoadShedderOptions {
  /** Load in [0, 1] (see load-shedder-sampler.ts) at or above which an overload episode starts and lasts. Default 0.8. */
  cpuThreshold?: number;
  /** Event-loop delay (sustained over the sampler's last two samples, or in the current turn) at or above which, with load over `cpuThreshold`, an episode starts. Default 50 ms. */
  delayThresholdMs?: number;
  /** How long max throughput and min latency are remembered. Default 5000 ms. */
  windowMs?: number;
  /** Buckets the window is cut into. Default 50 (100 ms each). */
  buckets?: number;
  /** How long an episode lasts after the last reading of load over `cpuThreshold`. Default 1000 ms. */
  coolOffMs?: number;
  /** Multiple of max-pass × min-RT admitted in flight during an episode. Default 2. */
  gain?: number;
  /** In flight always admitted during an episode, however low the estimate. Default 8. */
  minInFlight?: number;
  /** Where load comes from. Default: the process-wide sampler of event-loop utilization and CPU. */
  load?: LoadSource;
  /** Clock in ms. Default `performance.now`. */
  now?: () => number;
}

/** A LoadShedder's state, as `stats()` returns it. */
export interface LoadShedderStats {
  /** Smoothed load in [0, 1]. */
  load: number;
  /** Event-loop delay sustained over the last two samples, ms. */
  delayMs: number;
  /** How long the event loop has been busy in its current turn, ms. */
  lagMs: number;
  inFlight: number;
  /** In flight admitted during an episode: gain × max-pass × min-RT, at least minInFlight; without data in the window, Infinity (minInFlight during an episode). */
  maxInFlight: number;
  /** Best throughput in the window, requests per second. */
  maxPassPerSecond: number;
  /** Best per-bucket average response time, ms: of the window, or the best since before the episode (Infinity without data). */
  minRtMs: number;
  /** True during an overload episode, when requests past maxInFlight are refused. */
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

/** Adaptive server-side load shedding: while overloaded, refuses work beyond the concurrency the best observed throughput and latency call for (no configured limit). */
export class LoadShedder {
  private readonly threshold: number;
  private readonly delayThresholdMs: number;
  private readonly coolOffMs: number;
  private readonly gain: number;
  private readonly minInFlight: number;
  private readonly window: ShedderWindow;
  private readonly load: LoadSource;
  private readonly release: (() => void) | undefined;
  private readonly now: () => number;
  private inFlight = 0;
  /** The current episode ends at this time unless load keeps it going; -Infinity: none. */
  private hotUntil = -Infinity;
  /** Best RT seen since just before the current episode started. */
  private episodeMinRt = Infinity;
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
      gain: options.gain ?? 2,
      minInFlight: options.minInFlight ?? 8,
    };
    if (!(o.cpuThreshold > 0 && o.cpuThreshold <= 1)) throw new CoordError('invalid-argument', `cpuThreshold must be in (0, 1], got ${o.cpuThreshold}`);
    if (!Number.isInteger(o.buckets) || o.buckets < 2) throw new CoordError('invalid-argument', `buckets must be an integer >= 2, got ${o.buckets}`);
    if (!(o.windowMs >= o.buckets)) throw new CoordError('invalid-argument', `windowMs must be at least 1 ms per bucket, got ${o.windowMs}`);
    if (!(o.delayThresholdMs >= 0)) throw new CoordError('invalid-argument', `delayThresholdMs must be >= 0, got ${o.delayThresholdMs}`);
    if (!(o.coolOffMs >= 0)) throw new CoordError('invalid-argument', `coolOffMs must be >= 0, got ${o.coolOffMs}`);
    if (!(o.gain >= 1 && Number.isFinite(o.gain))) throw new CoordError('invalid-argument', `gain must be a number >= 1, got ${o.gain}`);
    if (!(o.minInFlight >= 1 && Number.isFinite(o.minInFlight))) throw new CoordError('invalid-argument', `minInFlight must be a number >= 1, got ${o.minInFlight}`);
    this.threshold = o.cpuThreshold;
    this.delayThresholdMs = o.delayThresholdMs;
    this.coolOffMs = o.coolOffMs;
    this.gain = o.gain;
    this.minInFlight = o.minInFlight;
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
    const now = this.now();
    if (this.shed(now)) return undefined;
    this.inFlight++;
    return new Admission(this, now);
  }

  /**
   * Decides without tracking: for long-lived streams, which may be refused under overload but
   * whose lifetimes say nothing about capacity. Counts a refusal like admit().
   */
  shouldShed(): boolean {
    return this.shed(this.now());
  }

  private shed(now: number): boolean {
    if (!this.hot(now)) return false;
    if (this.inFlight < this.maxInFlight(now)) return false;
    this.shedCount++;
    return true;
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
    const hot = now < this.hotUntil || this.overloaded(now);
    return {
      load: this.load.current(),
      delayMs: this.load.delayMs(),
      lagMs: this.load.lagMs(),
      inFlight: this.inFlight,
      maxInFlight: this.maxInFlight(now),
      maxPassPerSecond: this.window.maxPassPerSecond(now),
      minRtMs: this.minRt(now),
      hot,
      shed: this.shedCount,
      completed: this.completedCount,
    };
  }

  /** Stops using the shared load sampler (if this shedder started it). */
  close(): void {
    this.release?.();
  }

  /** Load over the threshold, and either an episode on or the event loop queueing work (see the top of this file). */
  private overloaded(now: number): boolean {
    if (this.load.current() < this.threshold) return false;
    return now < this.hotUntil || this.load.delayMs() >= this.delayThresholdMs || this.load.lagMs() >= this.delayThresholdMs;
  }

  /** Starts or extends the overload episode when overloaded; true while one is on. */
  private hot(now: number): boolean {
    if (!this.overloaded(now)) return now < this.hotUntil;
    if (now >= this.hotUntil) this.episodeMinRt = this.window.minRt(now);
    this.hotUntil = now + this.coolOffMs;
    return true;
  }

  /** The window's best RT; during an episode, never above the best seen since just before it. */
  private minRt(now: number): number {
    const windowMinRt = this.window.minRt(now);
    if (now >= this.hotUntil) return windowMinRt;
    this.episodeMinRt = Math.min(this.episodeMinRt, windowMinRt);
    return this.episodeMinRt;
  }

  /** gain × maxQPS × minRT, at least minInFlight; without data, Infinity, or minInFlight during an episode (nothing completing is no reason to let everything in). */
  private maxInFlight(now: number): number {
    const perSecond = this.window.maxPassPerSecond(now);
    const minRt = this.minRt(now);
    if (perSecond === 0 || !Number.isFinite(minRt)) return now < this.hotUntil ? this.minInFlight : Infinity;
    return Math.max(this.minInFlight, (this.gain * perSecond * minRt) / 1000);
  }
}
