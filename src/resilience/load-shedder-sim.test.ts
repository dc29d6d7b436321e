// The load shedder driving a simulated single-threaded server on a fake clock, the way it runs in
// a Node process: calls share one core (processor sharing, as handlers that await between slices
// do), the load it reads is the core's busy share and the event-loop delay is how many calls'
// slices each loop turn runs, both fed through the real sampler's filter.
// Deterministic: the clock is simulated and arrivals come from a seeded generator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoadShedder, type Admission } from './load-shedder.ts';
import { LoadFilter, SAMPLE_INTERVAL_MS } from './load-shedder-sampler.ts';

interface Phase {
  ms: number;
  /** Open loop: calls per second, Poisson arrivals. */
  rate?: number;
  /** Closed loop: this many callers, each calling again 1 ms after its last call ended. */
  callers?: number;
}

interface PhaseResult {
  offered: number;
  shed: number;
  ok: number;
  /** Admitted calls that missed their deadline (the caller gave up on them). */
  late: number;
  /** Share of the phase the core was busy. */
  busy: number;
  meanInFlight: number;
  maxInFlight: number;
  /** The shedder's limit at the end of the phase. */
  limit: number;
  /** Whether an overload episode is on at the end of the phase. */
  hot: boolean;
  /** When, from the start of the phase, the last call was shed (-1: none). */
  lastShedAt: number;
}

interface Call {
  admission: Admission;
  startedAt: number;
  cpuLeft: number;
  waitLeft: number;
  caller: number;
}

const DEADLINE_MS = 1000;

/** Runs the phases against a server whose calls each take `cpuMs` of the core and then wait `waitMs` (I/O). */
function simulate(phases: Phase[], call: { cpuMs: number; waitMs?: number }): PhaseResult[] {
  let t = 0;
  let seed = 42;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const sampled = new LoadFilter();
  const shedder = new LoadShedder({ now: () => t, load: { current: () => sampled.load, delayMs: () => sampled.delayMs, lagMs: () => 0 } });
  let inFlight: Call[] = [];
  let busyInSample = 0;
  let runnableInSample = 0;
  const results: PhaseResult[] = [];
  for (const phase of phases) {
    const r: PhaseResult = { offered: 0, shed: 0, ok: 0, late: 0, busy: 0, meanInFlight: 0, maxInFlight: 0, limit: 0, hot: false, lastShedAt: -1 };
    const phaseStart = t;
    // Closed-loop callers: when each may call next.
    const nextCallAt = Array.from({ length: phase.callers ?? 0 }, () => t + 1);
    const arrive = (caller: number) => {
      r.offered++;
      const admission = shedder.admit();
      if (admission) inFlight.push({ admission, startedAt: t, cpuLeft: call.cpuMs, waitLeft: call.waitMs ?? 0, caller });
      else {
        r.shed++;
        r.lastShedAt = t - phaseStart;
        if (caller >= 0) nextCallAt[caller] = t + 1;
      }
    };
    while (t < phaseStart + phase.ms) {
      t++;
      if (phase.rate) {
        // Poisson arrivals within this millisecond.
        let p = Math.exp(-phase.rate / 1000);
        let u = random();
        let n = 0;
        let cumulative = p;
        while (u > cumulative) {
          n++;
          p *= phase.rate / 1000 / n;
          cumulative += p;
        }
        for (let i = 0; i < n; i++) arrive(-1);
      }
      nextCallAt.forEach((at, caller) => {
        if (at === t) arrive(caller);
      });
      // One millisecond of the core, shared by the calls that need it; waiting calls just wait.
      const runnable = inFlight.filter((c) => c.cpuLeft > 0);
      for (const c of runnable) c.cpuLeft -= 1 / runnable.length;
      for (const c of inFlight) if (c.cpuLeft <= 1e-9 && !runnable.includes(c)) c.waitLeft--;
      busyInSample += runnable.length > 0 ? 1 : 0;
      runnableInSample += runnable.length;
      r.busy += runnable.length > 0 ? 1 : 0;
      inFlight = inFlight.filter((c) => {
        const finished = c.cpuLeft <= 1e-9 && c.waitLeft <= 0;
        const late = t - c.startedAt >= DEADLINE_MS;
        if (!finished && !late) return true;
        c.admission.done(finished);
        if (finished) r.ok++;
        else r.late++;
        if (c.caller >= 0) nextCallAt[c.caller] = t + 1;
        return false;
      });
      r.meanInFlight += inFlight.length;
      r.maxInFlight = Math.max(r.maxInFlight, inFlight.length);
      if (t % SAMPLE_INTERVAL_MS === 0) {
        // Each loop turn runs one slice (~1 ms) of every runnable call, so a 10 ms timer is late by about that many ms.
        sampled.add(busyInSample / SAMPLE_INTERVAL_MS, Math.max(0, runnableInSample / SAMPLE_INTERVAL_MS - 10));
        busyInSample = runnableInSample = 0;
      }
    }
    r.busy /= phase.ms;
    r.meanInFlight /= phase.ms;
    r.limit = shedder.stats().maxInFlight;
    r.hot = shedder.stats().hot;
    results.push(r);
  }
  return results;
}

describe('LoadShedder on a simulated server', () => {
  it('sheds nothing at steady load below capacity, though load reads over the threshold', () => {
    // 4 ms of CPU per call: capacity 250 calls/s; offered 200/s for a minute. The core is busy
    // 80% of the time, and calls pile up now and then, but the loop never queues for long.
    const [calm] = simulate([{ ms: 60_000, rate: 200 }], { cpuMs: 4 });
    assert.ok(calm.maxInFlight > 8, `in flight peaked at ${calm.maxInFlight}: above the floor, so a limit would have bitten`);
    assert.equal(calm.shed, 0);
    assert.equal(calm.late, 0);
  });

  it('sheds nothing when callers saturate the server without queueing much (closed loop)', () => {
    const [saturated] = simulate([{ ms: 30_000, callers: 8 }], { cpuMs: 4 });
    assert.ok(saturated.busy > 0.99, `busy ${saturated.busy}`);
    assert.equal(saturated.shed, 0);
  });

  it('at 3x capacity keeps the core busy with few calls in flight, and stops shedding soon after the load drops', () => {
    // Capacity 250 calls/s: 5 s calm, 5 s at 3x (the shedder takes hold), 25 s more at 3x, 10 s calm.
    const [, onset, steady, after] = simulate(
      [
        { ms: 5000, rate: 125 },
        { ms: 5000, rate: 750 },
        { ms: 25_000, rate: 750 },
        { ms: 10_000, rate: 125 },
      ],
      { cpuMs: 4 },
    );
    assert.ok(onset.ok >= 0.95 * 250 * 5, `goodput while taking hold: ${onset.ok}`);
    assert.equal(onset.late, 0);
    assert.ok(steady.ok >= 0.98 * 250 * 25, `goodput ${steady.ok} of ${250 * 25}`);
    assert.equal(steady.late, 0);
    assert.ok(steady.shed > 0.6 * steady.offered, `shed ${steady.shed} of ${steady.offered}`);
    // gain × max-pass × min-RT ≈ 2 for a CPU-bound handler, so the floor of 8 holds, and in flight stays close to it.
    assert.equal(steady.limit, 8);
    assert.equal(steady.maxInFlight, 8);
    assert.ok(steady.meanInFlight > 6, `mean in flight ${steady.meanInFlight}`);
    assert.ok(after.lastShedAt < 2000, `last shed ${after.lastShedAt} ms after the drop`);
    assert.equal(after.hot, false);
    assert.equal(after.late, 0);
  });

  it('at 3x capacity holds in flight near gain × max-pass × min-RT, and the estimate does not ratchet up', () => {
    // 1 ms of CPU and 20 ms of I/O wait per call: capacity 1000 calls/s, best RT ≈ 20 ms, so the
    // limit ≈ 2 × 1000 × 0.020 = 40. A minute at 3x: after 5 s the window holds only congested
    // calls (RT ≈ 40 ms), and a limit learning from them would keep growing. (The first 10 s at
    // 3x are left out: the backlog queued before the shedder took hold inflates max-pass until
    // it leaves the window.)
    const [, , late] = simulate(
      [
        { ms: 5000, rate: 500 },
        { ms: 10_000, rate: 3000 },
        { ms: 50_000, rate: 3000 },
      ],
      { cpuMs: 1, waitMs: 20 },
    );
    assert.ok(late.limit > 36 && late.limit < 46, `limit after a minute at 3x: ${late.limit}`);
    assert.ok(late.maxInFlight <= 46, `in flight peaked at ${late.maxInFlight}`);
    assert.ok(late.meanInFlight > 0.9 * late.limit, `mean in flight ${late.meanInFlight} for a limit of ${late.limit}`);
    assert.ok(late.ok >= 0.97 * 1000 * 50, `goodput ${late.ok}`);
    assert.equal(late.late, 0);
  });
});
