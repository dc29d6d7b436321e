import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { LoadShedder, type Admission } from './load-shedder.ts';
import { acquireProcessLoad, LoadFilter, SAMPLE_INTERVAL_MS } from './load-shedder-sampler.ts';

/** A shedder on a fake clock and settable load figures; 100 ms buckets, 1 s window, gain 1 and floor 1 unless told. */
function rig(options: { coolOffMs?: number; windowMs?: number; gain?: number; minInFlight?: number } = {}) {
  // Event-loop delay well over its threshold unless a test says otherwise: load decides.
  const state = { t: 0, load: 0, delay: 200, lag: 0 };
  const shedder = new LoadShedder({
    windowMs: options.windowMs ?? 1000,
    buckets: (options.windowMs ?? 1000) / 100,
    cpuThreshold: 0.8,
    delayThresholdMs: 50,
    coolOffMs: options.coolOffMs ?? 500,
    gain: options.gain ?? 1,
    minInFlight: options.minInFlight ?? 1,
    load: { current: () => state.load, delayMs: () => state.delay, lagMs: () => state.lag },
    now: () => state.t,
  });
  /** `concurrency` requests at a time, each taking `rtMs`, for `ms`. */
  const warmUp = (ms: number, rtMs = 10, concurrency = 1) => {
    const end = state.t + ms;
    while (state.t < end) {
      const batch = Array.from({ length: concurrency }, () => shedder.admit());
      state.t += rtMs;
      for (const a of batch) {
        assert.ok(a);
        a.done(true);
      }
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

  it('when overloaded, admits up to gain × max-pass × min-RT in flight', () => {
    const { state, shedder, warmUp, pileUp } = rig({ gain: 2 });
    warmUp(1000, 20, 4); // 200 req/s at 20 ms
    const s = shedder.stats();
    assert.equal(s.maxPassPerSecond, 200);
    assert.equal(s.minRtMs, 20);
    assert.equal(s.maxInFlight, 8, '2 × 200/s × 20 ms');
    state.load = 0.9;
    assert.equal(pileUp(20).length, 8);
    assert.equal(shedder.admit(), undefined);
    assert.equal(shedder.shouldShed(), true);
    const after = shedder.stats();
    assert.equal(after.shed, 14);
    assert.equal(after.inFlight, 8);
    assert.equal(after.hot, true);
  });

  it('admits minInFlight however low the estimate', () => {
    const { state, shedder, warmUp, pileUp } = rig({ gain: 2, minInFlight: 8 });
    warmUp(1000); // 100 req/s at 10 ms: 2 × 1 in flight
    assert.equal(shedder.stats().maxInFlight, 8);
    state.load = 1;
    assert.equal(pileUp(20).length, 8);
  });

  it('starts shedding only when the event loop queues work, sustained or in the current turn', () => {
    const { state, shedder, warmUp, pileUp } = rig();
    warmUp(1000);
    state.load = 1;
    state.delay = 49;
    state.lag = 49;
    assert.equal(pileUp(200).length, 200, 'loaded but turning quickly: everything admitted');
    assert.equal(shedder.stats().hot, false);
    state.lag = 50;
    assert.equal(shedder.admit(), undefined, 'stuck in a long turn');
    const other = rig();
    other.warmUp(1000);
    other.state.load = 1;
    other.state.delay = 50;
    other.state.lag = 0;
    assert.equal(other.pileUp(10).length, 1, 'delayed over the last two samples');
  });

  it('keeps shedding while load stays over the threshold, though delay falls, then cools off', () => {
    const { state, shedder, warmUp, pileUp } = rig({ coolOffMs: 500 });
    warmUp(1000);
    state.load = 0.9;
    pileUp(1);
    assert.equal(shedder.admit(), undefined);
    // Shedding works: the loop turns quickly again, while the core stays busy.
    state.delay = 0;
    for (let i = 0; i < 10; i++) {
      state.t += 400;
      assert.equal(shedder.admit(), undefined, `still overloaded after ${(i + 1) * 400} ms`);
    }
    assert.equal(shedder.stats().maxInFlight, 1, 'the window is empty (nothing completed): the floor holds');
    state.load = 0.3;
    state.t += 499;
    assert.equal(shedder.admit(), undefined, 'cooling off');
    state.t += 1;
    assert.ok(shedder.admit(), 'cool-off over');
    assert.equal(shedder.stats().hot, false);
    state.load = 0.9;
    assert.ok(shedder.admit(), 'loaded again, but without queueing a new episode needs delay');
  });

  it('during an episode, holds the best RT from before it: a congested window does not raise the limit', () => {
    const { state, shedder, warmUp, pileUp } = rig({ gain: 2 });
    warmUp(1000, 10, 1); // best RT 10 ms at 100 req/s
    state.load = 1;
    assert.equal(shedder.stats().maxInFlight, 2);
    // Overloaded for 3 windows, every admitted request taking 40 ms; once shedding, the loop turns quickly.
    for (const end = state.t + 3000; state.t < end; ) {
      const held = pileUp(10);
      state.delay = 0;
      state.t += 40;
      for (const a of held) a.done(true);
    }
    const during = shedder.stats();
    assert.equal(during.hot, true);
    assert.equal(during.minRtMs, 10, 'best RT from before the episode');
    assert.equal(during.maxInFlight, Math.max(1, (2 * during.maxPassPerSecond * 10) / 1000));
    // The episode ends: the window speaks for itself again.
    state.load = 0;
    state.t += 600;
    assert.equal(shedder.stats().hot, false);
    assert.equal(shedder.stats().minRtMs, 40);
  });

  it('until the window has data, admits everything unless overloaded, and then minInFlight', () => {
    const { state, shedder, pileUp } = rig({ minInFlight: 3 });
    state.load = 0.5;
    assert.equal(pileUp(100).length, 100);
    assert.equal(shedder.stats().maxInFlight, Infinity);
    const cold = rig({ minInFlight: 3 });
    cold.state.load = 1;
    assert.equal(cold.pileUp(100).length, 3);
    assert.equal(cold.shedder.stats().maxInFlight, 3);
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
    const bad = [{ cpuThreshold: 0 }, { cpuThreshold: 1.5 }, { delayThresholdMs: -1 }, { buckets: 1 }, { buckets: 2.5 }, { windowMs: 5, buckets: 10 }, { coolOffMs: -1 }, { gain: 0.5 }, { minInFlight: 0 }, { gain: Infinity }];
    for (const o of bad) assert.throws(() => new LoadShedder({ ...o, load }), (e) => isCoordError(e, 'invalid-argument'));
    assert.throws(() => new LoadShedder({ gain: 0.5, load }), /gain must be a number >= 1, got 0.5/);
  });
});

describe('process load sampler', () => {
  it('raises load at once and lets it fall by half every 250 ms; counts delay only when two samples in a row show it', () => {
    const f = new LoadFilter();
    f.add(1, 0);
    assert.equal(f.load, 1);
    for (let t = 0; t < 250; t += SAMPLE_INTERVAL_MS) f.add(0, 0);
    assert.ok(Math.abs(f.load - 0.5 ** (Math.ceil(250 / SAMPLE_INTERVAL_MS) * (SAMPLE_INTERVAL_MS / 250))) < 1e-9, `load ${f.load}`);
    f.add(0.9, 300); // one stall
    assert.equal(f.load, 0.9);
    assert.equal(f.delayMs, 0, 'a single stall is not sustained delay');
    f.add(0.9, 5);
    assert.equal(f.delayMs, 5);
    f.add(0.9, 80);
    f.add(0.9, 60);
    assert.equal(f.delayMs, 60, 'two samples in a row: the lower of them');
  });

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
