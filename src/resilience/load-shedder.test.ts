import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { LoadShedder, type Admission } from './load-shedder.ts';
import { acquireProcessLoad, SAMPLE_INTERVAL_MS } from './load-shedder-sampler.ts';

/** A shedder on a fake clock and a settable load; 100 ms buckets, 1 s window unless told. */
function rig(options: { coolOffMs?: number; windowMs?: number } = {}) {
  // Event-loop delay well over its threshold unless a test says otherwise: load decides.
  const state = { t: 0, load: 0, delay: 200, lag: 0 };
  const shedder = new LoadShedder({
    windowMs: options.windowMs ?? 1000,
    buckets: (options.windowMs ?? 1000) / 100,
    cpuThreshold: 0.8,
    delayThresholdMs: 50,
    coolOffMs: options.coolOffMs ?? 500,
    load: { current: () => state.load, delayMs: () => state.delay, lagMs: () => state.lag },
    now: () => state.t,
  });
  /** One bucket's worth of sequential 10 ms requests at low load: 100 req/s at 10 ms → capacity ≈ 1 in flight. */
  const warmUp = (ms: number) => {
    const end = state.t + ms;
    while (state.t < end) {
      const a = shedder.admit();
      assert.ok(a);
      state.t += 10;
      a.done(true);
    }
  };
  /** Admits `n` requests and keeps them in flight. */
  const pileUp = (n: number): Admission[] => {
    const held: Admission[] = [];
    for (let i = 0; i < n; i++) {
      const a = shedder.admit();
      if (a) held.push(a);
    }
    return held;
  };
  return { state, shedder, warmUp, pileUp };
}

describe('LoadShedder', () => {
  it('never sheds below the load threshold, however many requests are in flight', () => {
    const { state, shedder, warmUp, pileUp } = rig();
    warmUp(1000);
    state.load = 0.79;
    pileUp(200);
    for (let i = 0; i < 100; i++) assert.ok(shedder.admit());
    assert.equal(shedder.stats().shed, 0);
  });

  it('sheds when busy and in flight exceeds max-pass × min-RT', () => {
    const { state, shedder, warmUp, pileUp } = rig();
    warmUp(1000);
    const s = shedder.stats();
    assert.equal(s.maxPassPerSecond, 100);
    assert.equal(s.minRtMs, 10);
    assert.equal(s.maxInFlight, 1);
    state.load = 0.9;
    assert.equal(pileUp(2).length, 2, 'up to capacity (and one over its floor of 1) is admitted');
    assert.equal(shedder.admit(), undefined);
    assert.equal(shedder.shouldShed(), true);
    const after = shedder.stats();
    assert.equal(after.shed, 2);
    assert.equal(after.inFlight, 2);
    assert.equal(after.hot, true);
  });

  it('never sheds while the event loop keeps turning quickly, however loaded', () => {
    const { state, shedder, warmUp, pileUp } = rig();
    warmUp(1000);
    state.load = 1;
    state.delay = 49;
    pileUp(200);
    assert.equal(shedder.stats().shed, 0);
    assert.equal(shedder.stats().hot, false);
    state.delay = 50;
    assert.equal(shedder.admit(), undefined);
  });

  it('sheds while the event loop is stuck in a long turn, before any sample shows load', () => {
    const { state, shedder, warmUp, pileUp } = rig();
    warmUp(1000);
    state.delay = 0;
    state.lag = 49;
    assert.equal(pileUp(10).length, 10, 'load low and the loop turning: everything admitted');
    state.lag = 50;
    assert.equal(shedder.admit(), undefined);
  });

  it('when busy, admits a burst only up to capacity', () => {
    const { state, shedder, warmUp } = rig();
    warmUp(1000);
    state.load = 0.95;
    const burst = Array.from({ length: 20 }, () => shedder.admit());
    assert.equal(burst.filter(Boolean).length, 2, 'capacity 1: admitted while in flight <= 1');
    const idle = rig();
    idle.warmUp(1000);
    assert.ok(Array.from({ length: 20 }, () => idle.shedder.admit()).every(Boolean), 'not busy: the burst is admitted');
  });

  it('admits everything busy or not until the window has data', () => {
    const { state, shedder, pileUp } = rig();
    state.load = 1;
    pileUp(100);
    assert.ok(shedder.admit());
    assert.equal(shedder.stats().maxInFlight, Infinity);
  });

  it('keeps checking for coolOffMs after the last busy reading, then opens', () => {
    const { state, shedder, warmUp, pileUp } = rig({ coolOffMs: 500 });
    warmUp(1000);
    state.load = 0.9;
    pileUp(2);
    assert.equal(shedder.admit(), undefined);
    state.load = 0.3;
    state.t += 400;
    assert.equal(shedder.admit(), undefined, 'still cooling off');
    state.t += 100;
    assert.ok(shedder.admit(), 'cool-off over');
    state.load = 0.9;
    assert.equal(shedder.admit(), undefined, 'busy again');
  });

  it('does not cool off (stay shut) when it never shed', () => {
    const { state, shedder, warmUp } = rig();
    warmUp(1000);
    state.load = 0.9;
    assert.ok(shedder.admit());
    state.load = 0;
    assert.equal(shedder.stats().hot, false);
  });

  it('learns nothing from requests that were not counted (cancelled, past deadline)', () => {
    const { state, shedder } = rig();
    for (let i = 0; i < 50; i++) {
      const a = shedder.admit()!;
      state.t += 30;
      a.done(false);
      a.done(true); // a second report is ignored
    }
    state.t += 200;
    const s = shedder.stats();
    assert.equal(s.completed, 0);
    assert.equal(s.inFlight, 0);
    assert.equal(s.maxInFlight, Infinity);
  });

  it('reads throughput over a second, so completions in bursts do not inflate it', () => {
    const { state, shedder } = rig({ windowMs: 3000 });
    // Each event-loop turn takes a second and answers its 100 requests at once.
    for (let turn = 0; turn < 2; turn++) {
      const held = Array.from({ length: 100 }, () => shedder.admit()!);
      state.t += 1000;
      for (const a of held) a.done(true);
    }
    state.t += 100;
    assert.equal(shedder.stats().maxPassPerSecond, 100, 'not 1000, as the busiest 100 ms bucket scaled up would say');
  });

  it('forgets throughput and latency older than the window', () => {
    const { state, shedder, warmUp } = rig();
    warmUp(500);
    assert.equal(shedder.stats().minRtMs, 10);
    state.t += 1100;
    assert.equal(shedder.stats().minRtMs, Infinity);
  });

  it('rejects nonsense options', () => {
    const load = { current: () => 0, delayMs: () => 0, lagMs: () => 0 };
    for (const o of [{ cpuThreshold: 0 }, { cpuThreshold: 1.5 }, { delayThresholdMs: -1 }, { buckets: 1 }, { buckets: 2.5 }, { windowMs: 5, buckets: 10 }]) {
      assert.throws(() => new LoadShedder({ ...o, load }), (e) => isCoordError(e, 'invalid-argument'));
    }
  });
});

describe('process load sampler', () => {
  it('reads a busy event loop as load and delay, and an idle one as little', async () => {
    const load = acquireProcessLoad();
    try {
      // Busy in slices with a timer turn between them, so the sampler gets to run.
      const busyUntil = performance.now() + 12 * SAMPLE_INTERVAL_MS;
      while (performance.now() < busyUntil) {
        const slice = performance.now() + SAMPLE_INTERVAL_MS / 2;
        while (performance.now() < slice);
        await new Promise((r) => setTimeout(r, 1));
      }
      const busy = load.latest();
      assert.ok(busy.load > 0.6, `load while busy: ${JSON.stringify(busy)}`);
      assert.ok(busy.delayMs > 20, `delay while busy: ${JSON.stringify(busy)}`);
      const stuckFrom = performance.now();
      while (performance.now() < stuckFrom + 100);
      assert.ok(load.lagMs() >= 80, `lag inside a 100 ms turn: ${load.lagMs()}`);
      await new Promise((r) => setTimeout(r, 8 * SAMPLE_INTERVAL_MS));
      const idle = load.latest();
      assert.ok(idle.load < busy.load / 2, `load after idling: ${JSON.stringify(idle)} (busy: ${busy.load})`);
      assert.ok(idle.delayMs < busy.delayMs / 2, `delay after idling: ${JSON.stringify(idle)} (busy: ${busy.delayMs})`);
    } finally {
      load.release();
    }
  });
});
