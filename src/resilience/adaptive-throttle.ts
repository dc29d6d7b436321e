// Client-side adaptive throttling from Google's SRE book ("Handling Overload"): a client that sees
// its backend accept fewer and fewer requests starts rejecting requests itself, with probability
//
//     max(0, (requests − K·accepts) / (requests + 1))
//
// over a sliding window, so an overloaded or failing backend is not also flooded with requests it
// will refuse. It needs no coordination and no half-open state: the requests it still lets
// through are the probes, and as they are accepted the probability falls back to 0 by itself.
//
// The formula alone recovers slowly from a total outage: the window is full of rejected requests
// and almost no accepts, so it admits about one request per window, and accepts grow only
// geometrically (several windows at high rates). Two additions from go-zero's breaker bound that:
// a probe is admitted whenever none was for `probeIntervalMs`, and the probability is scaled by
// the share of buckets with traffic that are not yet "healthy" (accepted requests and no failure
// since the last failure), so once the backend answers again, traffic is back in full as soon as
// the window holds no failure: within one window (plus the bucket it healed in).
// Anchors: kratos aegis/circuitbreaker/sre, go-zero core/breaker/googlebreaker.go.
import { CoordError } from '../core/errors.ts';
import { OutcomeWindow } from './adaptive-throttle-window.ts';

/** Options for an AdaptiveThrottle; defaults in each field's doc. */
export interface AdaptiveThrottleOptions {
  /**
   * The multiplier K: the client sends up to K times what the backend accepts before rejecting
   * locally. Lower is more aggressive; 1 would reject as soon as anything fails. Default 2 (the
   * SRE book's value; kratos's default success 0.6 is K ≈ 1.67, go-zero uses 1.5).
   */
  k?: number;
  /** Length of the sliding window, ms. Default 5000. */
  windowMs?: number;
  /** Buckets the window slides by. Default 10. */
  buckets?: number;
  /** No local rejection while the window holds fewer requests than this (low traffic says too little). Default 10. */
  minRequests?: number;
  /**
   * Admit a request whenever none was admitted for this long, ms, so a failed backend keeps being
   * probed. Default half a bucket (windowMs / buckets / 2), so every bucket with traffic has a
   * probe and can turn healthy.
   */
  probeIntervalMs?: number;
  /** Clock, ms. Default Date.now (so node:test's mock.timers can drive it). */
  now?: () => number;
  /** Uniform [0, 1) source deciding rejections. Default Math.random. */
  random?: () => number;
}

/** What the throttle knows now; for metrics and dashboards. */
export interface AdaptiveThrottleStats {
  /** Requests in the window, including those rejected locally. */
  requests: number;
  /** Requests in the window the backend accepted. */
  accepts: number;
  /** Requests in the window rejected locally. */
  rejected: number;
  /** Share of the window's buckets with traffic that are healthy (accepted, no failure since the last one); it scales rejections down. */
  healthyShare: number;
  /** Probability the next request is rejected locally. */
  rejectProbability: number;
  /** Requests rejected locally since creation. */
  rejectedTotal: number;
}

/** One admitted request: report how it ended exactly once. */
export interface ThrottleTicket {
  /** The backend answered (even with an application error): it had capacity for the request. */
  accepted(): void;
  /** The backend refused it, was unreachable, or too slow. */
  failed(): void;
  /** No verdict (the caller cancelled): the request is not counted at all. */
  dropped(): void;
}

/** Client-side adaptive throttling (Google SRE's formula over a sliding window): rejects a share of requests locally while the backend refuses many of them. */
export class AdaptiveThrottle {
  readonly k: number;
  readonly windowMs: number;
  private readonly minRequests: number;
  private readonly probeIntervalMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly window: OutcomeWindow;
  private lastAdmittedAt = -Infinity;
  private rejectedTotal = 0;

  constructor(options: AdaptiveThrottleOptions = {}) {
    const o = { k: 2, windowMs: 5000, buckets: 10, minRequests: 10, now: Date.now, random: Math.random, ...options };
    if (!(o.k > 0)) throw new CoordError('invalid-argument', `adaptive throttle: k must be > 0, got ${o.k}`);
    if (!(o.windowMs > 0) || !(o.buckets >= 1) || !Number.isInteger(o.buckets)) {
      throw new CoordError('invalid-argument', `adaptive throttle: windowMs must be > 0 and buckets a positive integer, got ${o.windowMs}/${o.buckets}`);
    }
    this.k = o.k;
    this.windowMs = o.windowMs;
    this.minRequests = o.minRequests;
    this.probeIntervalMs = o.probeIntervalMs ?? o.windowMs / o.buckets / 2;
    this.random = o.random;
    this.now = o.now;
    this.window = new OutcomeWindow(o.windowMs, o.buckets, o.now);
  }

  /**
   * Admits or rejects one request. A rejection is recorded at once (as a request the backend did
   * not accept, which keeps the probability up while the backend stays bad); an admitted request
   * is recorded when its ticket is settled.
   */
  tryAcquire(): ThrottleTicket | undefined {
    const now = this.now();
    const p = this.rejectProbability();
    if (p > 0 && now - this.lastAdmittedAt < this.probeIntervalMs && this.random() < p) {
      this.window.add(false, true);
      this.rejectedTotal++;
      return undefined;
    }
    this.lastAdmittedAt = now;
    let settled = false;
    const settle = (outcome: boolean | undefined) => {
      if (settled) return;
      settled = true;
      if (outcome !== undefined) this.window.add(outcome);
    };
    return { accepted: () => settle(true), failed: () => settle(false), dropped: () => settle(undefined) };
  }

  /** Runs `fn` if admitted, counting a rejection of `fn` as a failure unless `isAccepted(error)` says the backend did its job. */
  async execute<T>(fn: () => Promise<T>, isAccepted: (error: unknown) => boolean = () => false): Promise<T> {
    const ticket = this.tryAcquire();
    if (!ticket) throw this.rejection('request');
    try {
      const value = await fn();
      ticket.accepted();
      return value;
    } catch (e) {
      if (isAccepted(e)) ticket.accepted();
      else ticket.failed();
      throw e;
    }
  }

  /** (requests − K·accepts)/(requests + 1), scaled down by the healthy share of the window. */
  rejectProbability(): number {
    const { requests, accepts } = this.window.counts();
    if (requests < this.minRequests) return 0;
    const p = (requests - this.k * accepts) / (requests + 1);
    if (p <= 0) return 0;
    return p * (1 - this.window.healthyShare());
  }

  stats(): AdaptiveThrottleStats {
    const c = this.window.counts();
    return { ...c, healthyShare: this.window.healthyShare(), rejectProbability: this.rejectProbability(), rejectedTotal: this.rejectedTotal };
  }

  /** The error for a request this throttle rejected: says why, with the figures behind it. */
  rejection(what: string): CoordError {
    const { requests, accepts } = this.window.counts();
    return new CoordError(
      'unavailable',
      `${what} rejected locally by adaptive throttling: the backend accepted ${accepts} of the last ${requests} requests in ${this.windowMs / 1000} s (K=${this.k})`,
    );
  }
}
