import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { BalancerChild } from './load-balancer-base.ts';
import { P2cEwmaConfig, P2cEwmaPicker } from './load-balancer-p2c-ewma.ts';
import { clock, EndpointLoad, loopStalls } from './picker-load.ts';

const realNow = clock.now;
let now = 10_000;
clock.now = () => now;
const realStalls = loopStalls.source;
loopStalls.source = { overlap: () => 0 };

/** A READY endpoint whose leaf picker returns a subchannel stand-in named `key`. */
function child(key: string, weight = 1): BalancerChild {
  const subchannel = { key } as unknown as grpc.experimental.SubchannelInterface;
  return {
    key,
    info: { id: key, weight, metadata: {} },
    state: grpc.connectivityState.READY,
    load: new EndpointLoad({ decayMs: 1000 }),
    picker: {
      pick: () => ({ pickResultType: grpc.experimental.PickResultType.COMPLETE, subchannel, status: null, onCallStarted: null, onCallEnded: null }),
    },
  };
}

/** Teaches `c` a latency of `ms` with one completed call ending now. */
function measure(c: BalancerChild, ms: number, code = grpc.status.OK): void {
  c.load.ended(c.load.started(now - ms), code, now);
  c.load.lastPickAt = now;
}

const args = { metadata: new grpc.Metadata(), extraPickInfo: {} };
const options = P2cEwmaConfig.createFromJson({}).options;

/** Picks `n` times, each call completing at once with latency `rtt(key)`; returns picks per key. */
function run(picker: P2cEwmaPicker, n: number, rtt: (key: string) => number = () => 0): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = picker.pick(args);
    const key = (r.subchannel as unknown as { key: string }).key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    r.onCallStarted?.();
    now += rtt(key);
    r.onCallEnded?.(grpc.status.OK, '', new grpc.Metadata());
  }
  return counts;
}

describe('p2c_ewma picker', () => {
  afterEach(() => {
    now += 10_000;
  });

  it('sends everything to the faster of two endpoints between forced probes', () => {
    const [fast, slow] = [child('fast'), child('slow')];
    measure(fast, 1);
    measure(slow, 200);
    const counts = run(new P2cEwmaPicker([fast, slow], options), 500);
    assert.equal(counts.get('slow'), undefined);
  });

  it('force-picks an endpoint that lost every comparison for forcePickMs, once', () => {
    const [fast, slow] = [child('fast'), child('slow')];
    measure(fast, 1);
    measure(slow, 200);
    const picker = new P2cEwmaPicker([fast, slow], options);
    now += options.forcePickMs + 1;
    const counts = run(picker, 50);
    assert.equal(counts.get('slow'), 1);
  });

  it('probes an endpoint that keeps failing less and less often', () => {
    const [ok, bad] = [child('ok'), child('bad')];
    measure(ok, 1);
    const picker = new P2cEwmaPicker([ok, bad], options);
    const probes: number[] = [];
    // 20 s of one pick every 100 ms; every call to `bad` fails.
    for (let i = 0; i < 200; i++) {
      now += 100;
      const r = picker.pick(args);
      const key = (r.subchannel as unknown as { key: string }).key;
      r.onCallStarted?.();
      r.onCallEnded?.(key === 'bad' ? grpc.status.DEADLINE_EXCEEDED : grpc.status.OK, '', new grpc.Metadata());
      if (key === 'bad') probes.push(now);
    }
    const gaps = probes.slice(1).map((t, i) => t - probes[i]);
    // 1 s, then 2 s, 4 s, and 8 s from then on: about 5 probes in 20 s rather than 20.
    assert.ok(probes.length >= 3 && probes.length <= 6, `${probes.length} probes: ${gaps}`);
    assert.ok(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]), `gaps grow: ${gaps}`);
  });

  it('does not probe an endpoint that still has calls in flight', () => {
    const [fast, slow] = [child('fast'), child('slow')];
    measure(fast, 1);
    measure(slow, 200);
    slow.load.started(now);
    now += options.forcePickMs + 1;
    assert.equal(run(new P2cEwmaPicker([fast, slow], options), 50).get('slow'), undefined);
  });

  it('weighs calls in flight: an equally fast but busy endpoint loses', () => {
    const [idle, busy] = [child('idle'), child('busy')];
    measure(idle, 5);
    measure(busy, 5);
    for (let i = 0; i < 20; i++) busy.load.started(now);
    assert.equal(run(new P2cEwmaPicker([idle, busy], options), 15).get('busy'), undefined);
  });

  it('avoids an endpoint that fails, even when it fails fast', () => {
    const [ok, failing] = [child('ok'), child('failing')];
    measure(ok, 5);
    for (let i = 0; i < 5; i++) {
      now += 100;
      measure(failing, 0.1, grpc.status.UNAVAILABLE);
    }
    assert.equal(run(new P2cEwmaPicker([ok, failing], options), 100).get('failing'), undefined);
  });

  it('probes a new endpoint at once, then judges it by its latency', () => {
    const [old, fresh] = [child('old'), child('fresh')];
    measure(old, 1);
    const counts = run(new P2cEwmaPicker([old, fresh], options), 50, (k) => (k === 'fresh' ? 5 : 1));
    assert.equal(counts.get('fresh'), 1, JSON.stringify([...counts]));
  });

  it('moves traffic to a newcomer that proves faster', () => {
    const [old, fresh] = [child('old'), child('fresh')];
    measure(old, 2);
    const counts = run(new P2cEwmaPicker([old, fresh], options), 200, (k) => (k === 'fresh' ? 0.5 : 2));
    assert.ok((counts.get('fresh') ?? 0) > 150, JSON.stringify([...counts]));
  });

  it('spreads over many equal endpoints', () => {
    const cs = ['a', 'b', 'c', 'd', 'e'].map((k) => child(k));
    for (const c of cs) measure(c, 2);
    const counts = run(new P2cEwmaPicker(cs, options), 1000, () => 2);
    for (const c of cs) assert.ok((counts.get(c.key) ?? 0) > 100, JSON.stringify([...counts]));
  });

  it('restores the real clock', () => {
    clock.now = realNow;
    loopStalls.source = realStalls;
    assert.ok(clock.now() > 0);
  });
});
