// Per-endpoint load as the client sees it: calls in flight, a peak-sensitive EWMA of latency and
// an EWMA of success, all decaying with wall time (Finagle's PeakEwma, as go-zero and kratos
// adapt it). Lives with the balancer's child, so it survives picker rebuilds.
import * as grpc from '@grpc/grpc-js';

/** Codes that say the backend (or the path to it) is in trouble; anything else is its answer. */
const FAILURE_CODES = new Set<number>([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
  grpc.status.DATA_LOSS,
]);

export interface LoadOptions {
  /** Time constant of the EWMAs, ms: a sample weighs e^-1 after this long. */
  decayMs: number;
}

/** The time source of load tracking and pickers (ms, monotonic); tests replace `now`. */
export const clock = { now: (): number => performance.now() };

/** How much of an interval this process spent stalled (its event loop blocked), ms. */
export interface StallSource {
  overlap(from: number, to: number): number;
}

const TICK_MS = 20;
/** A tick this much later than due counts as a stall (GC, a long synchronous task, no CPU). */
const STALL_MS = 30;
const KEEP_STALLS = 32;

/**
 * Event-loop stalls of this process, from a 20 ms unref'd ticker started on first use. A call
 * that was in flight while the client itself was blocked looks slow by the length of the block;
 * that time says nothing about the backend, and counted as latency it would send every call to
 * whichever endpoint happened to have none in flight during the stall (a 100 ms GC pause against
 * 0.3 ms answers is a 300x skew). The current, not yet ticked, stall counts too: responses read
 * in the same turn that ended a block are handled before the ticker runs.
 */
class LoopStalls implements StallSource {
  private readonly stalls: Array<[number, number]> = [];
  private lastTick = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  overlap(from: number, to: number): number {
    if (!this.timer) this.start();
    let total = 0;
    for (const [a, b] of this.stalls) total += Math.max(0, Math.min(b, to) - Math.max(a, from));
    const due = this.lastTick + TICK_MS;
    if (to - due > STALL_MS) total += Math.max(0, to - Math.max(due, from));
    return total;
  }

  private start(): void {
    this.lastTick = clock.now();
    this.timer = setInterval(() => {
      const now = clock.now();
      const due = this.lastTick + TICK_MS;
      if (now - due > STALL_MS) {
        this.stalls.push([due, now]);
        if (this.stalls.length > KEEP_STALLS) this.stalls.shift();
      }
      this.lastTick = now;
    }, TICK_MS);
    this.timer.unref();
  }
}

/** Where EndpointLoad learns about client stalls; tests with a fake clock replace `source`. */
export const loopStalls: { source: StallSource } = { source: new LoopStalls() };

/**
 * How long a pick counts as load before its call starts. grpc-js starts a picked call a microtask
 * later (longer with asynchronous call credentials); a pick whose call never starts (cancelled
 * meanwhile) must not count forever.
 */
const UNSTARTED_TTL_MS = 5;

export class EndpointLoad {
  /** Calls started on the endpoint and not yet ended. */
  inflight = 0;
  /**
   * Picks whose calls have not started yet: without them, a burst of picks in one event-loop
   * turn would all see the same idle endpoint. Forgotten UNSTARTED_TTL_MS after the last pick.
   */
  private unstartedPicks = 0;
  private unstartedAt = -Infinity;
  /** Peak EWMA latency, ms; meaningful once `measured`. */
  private lagMs = 0;
  private measured = false;
  /** EWMA of success (1) and failure (0). */
  private successRate = 1;
  private updatedAt = 0;
  lastPickAt = -Infinity;
  /** Transport failures in a row (reset by any answer). */
  failStreak = 0;
  /** Start times of calls in flight, oldest first (Map keeps insertion order). */
  private readonly starts = new Map<number, number>();
  private nextCall = 0;
  private predictedLag = 0;
  private predictedAt = -Infinity;

  constructor(private readonly options: LoadOptions) {}

  /** In-flight calls plus picks not started yet. */
  load(now: number): number {
    return this.inflight + (now - this.unstartedAt <= UNSTARTED_TTL_MS ? this.unstartedPicks : 0);
  }

  get success(): number {
    return this.successRate;
  }

  /**
   * The latency estimate, or `penaltyMs` while nothing has been measured. Between samples the
   * estimate decays toward zero (Finagle's PeakEwma does the same on every read), so an endpoint
   * that lost every comparison because of one slow answer is tried again soon, not only when
   * it is force-picked.
   */
  latency(now: number, penaltyMs: number): number {
    const avg = this.measured ? this.decayed(now) : 0;
    return Math.max(this.measured ? avg : penaltyMs, this.predict(now, avg));
  }

  private decayed(now: number): number {
    return this.lagMs * Math.exp(-Math.max(0, now - this.updatedAt) / this.options.decayMs);
  }

  picked(now: number): void {
    this.lastPickAt = now;
    if (now - this.unstartedAt > UNSTARTED_TTL_MS) this.unstartedPicks = 0;
    this.unstartedPicks++;
    this.unstartedAt = now;
  }

  /** A picked call started; returns its handle for `ended`. */
  started(now: number): number {
    if (this.unstartedPicks > 0) this.unstartedPicks--;
    this.inflight++;
    const id = this.nextCall++;
    this.starts.set(id, now);
    return id;
  }

  ended(id: number, code: grpc.status, now: number): void {
    const start = this.starts.get(id);
    if (start === undefined) return;
    this.starts.delete(id);
    this.inflight--;
    // The caller gave up; the elapsed time says nothing about the backend.
    if (code === grpc.status.CANCELLED) return;
    // Time this client was blocked is not the backend's latency.
    const rtt = Math.max(0, now - start - loopStalls.source.overlap(start, now));
    const w = Math.exp(-Math.max(0, now - this.updatedAt) / this.options.decayMs);
    const current = this.lagMs * w;
    this.updatedAt = now;
    if (!this.measured) {
      this.lagMs = rtt;
      this.measured = true;
    } else if (rtt > current) {
      // Peak sensitivity: a slow answer counts in full at once, and decays away only with time.
      this.lagMs = rtt;
    } else {
      this.lagMs = current + rtt * (1 - w);
    }
    const ok = FAILURE_CODES.has(code) ? 0 : 1;
    this.successRate = this.successRate * w + ok * (1 - w);
    this.failStreak = ok ? 0 : this.failStreak + 1;
  }

  /**
   * kratos' prediction: when most calls in flight are already older than the average latency,
   * the endpoint has slowed down before any of them could report it; their mean age is the better
   * estimate. A lone long-lived stream is not a majority, so it does not make an endpoint look
   * slow. Recomputed at most every avg/5 ms (5–200 ms) since it walks the in-flight calls.
   */
  private predict(now: number, avg: number): number {
    if (this.starts.size < 2) return 0;
    const interval = Math.min(200, Math.max(5, avg / 5));
    if (now - this.predictedAt < interval) return this.predictedLag;
    this.predictedAt = now;
    let count = 0;
    let total = 0;
    for (const start of this.starts.values()) {
      const age = now - start - (now - start > avg ? loopStalls.source.overlap(start, now) : 0);
      if (age > avg) {
        count++;
        total += age;
      }
    }
    this.predictedLag = count * 2 > this.starts.size ? total / count : 0;
    return this.predictedLag;
  }
}
