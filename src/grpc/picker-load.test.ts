import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EndpointLoad, loopStalls, type StallSource } from './picker-load.ts';

// These tests run on made-up timestamps; the real stall monitor is tested on its own below.
const realStalls = loopStalls.source;
const noStalls: StallSource = { overlap: () => 0 };
loopStalls.source = noStalls;

const OK = grpc.status.OK;

/** Runs one call of `rtt` ms ending at `end` with `code`. */
function call(l: EndpointLoad, end: number, rtt: number, code = OK): void {
  l.ended(l.started(end - rtt), code, end);
}

describe('EndpointLoad', () => {
  it('charges the penalty until something is measured, then the measured latency', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    assert.equal(l.latency(0, 500), 500);
    call(l, 100, 4);
    assert.equal(l.latency(100, 500), 4);
  });

  it('jumps to a slower answer at once and decays back toward faster ones with time', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    call(l, 0, 2);
    call(l, 10, 80);
    assert.equal(l.latency(10, 0), 80, 'peak taken in full');
    // One decay constant later, with fast answers meanwhile: the spike has mostly faded.
    for (let t = 20; t <= 1010; t += 10) call(l, t, 2);
    const after = l.latency(1010, 0);
    assert.ok(after < 80 / Math.E + 2 && after > 2, `${after}`);
  });

  it('decays toward zero while nothing is sampled, so a shunned endpoint gets tried again', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    call(l, 0, 100);
    assert.ok(Math.abs(l.latency(1000, 0) - 100 / Math.E) < 1e-9);
    assert.ok(l.latency(5000, 0) < 1);
  });

  it('counts transport failures against success, application errors and cancellations not', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    call(l, 1000, 1, grpc.status.NOT_FOUND);
    assert.equal(l.success, 1);
    call(l, 2000, 1, grpc.status.CANCELLED);
    assert.equal(l.success, 1);
    call(l, 3000, 1, grpc.status.UNAVAILABLE);
    assert.ok(l.success < 0.5, `${l.success}`);
    call(l, 3001, 1000, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(l.success < 0.4);
  });

  it('tracks calls in flight, and sees a stall before any call returns', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    call(l, 0, 2);
    const ids = [0, 1, 2, 3].map(() => l.started(10));
    assert.equal(l.inflight, 4);
    // Most in-flight calls are older than the 2 ms average: their mean age is the estimate.
    assert.ok(l.latency(510, 0) >= 499, `${l.latency(510, 0)}`);
    for (const id of ids) l.ended(id, OK, 511);
    assert.equal(l.inflight, 0);
  });

  it('does not let one long-lived call make the endpoint look slow', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    call(l, 0, 2);
    l.started(0);
    assert.ok(l.latency(60_000, 0) < 1);
  });

  it('counts picks as load until their calls start, and forgets picks that never start', () => {
    const l = new EndpointLoad({ decayMs: 1000 });
    l.picked(0);
    l.picked(0);
    assert.equal(l.load(0), 2);
    l.started(0);
    assert.equal(l.load(1), 2, 'one started, one pending');
    assert.equal(l.load(100), 1, 'the pick that never started is forgotten');
  });
});

describe('client stalls', () => {
  it('are not charged to the backend: a call in flight across a stall records its time minus the stall', () => {
    const stalls: StallSource = { overlap: (from, to) => Math.max(0, Math.min(to, 1500) - Math.max(from, 1000)) };
    loopStalls.source = stalls;
    try {
      const l = new EndpointLoad({ decayMs: 10_000 });
      call(l, 900, 2);
      // Started at 999, answered at 1001 but read at 1502, after a 500 ms block of this process.
      l.ended(l.started(999), OK, 1502);
      assert.ok(l.latency(1502, 500) < 5, String(l.latency(1502, 500)));
      // Without the stall source the same call would have looked 503 ms slow.
      loopStalls.source = noStalls;
      const m = new EndpointLoad({ decayMs: 10_000 });
      call(m, 900, 2);
      m.ended(m.started(999), OK, 1502);
      assert.ok(m.latency(1502, 500) > 500);
    } finally {
      loopStalls.source = noStalls;
    }
  });

  it('are seen by the real monitor, including the block that has just ended before its next tick', async () => {
    const t0 = performance.now();
    realStalls.overlap(t0, t0); // starts the ticker
    await new Promise((r) => setTimeout(r, 60));
    const from = performance.now();
    while (performance.now() - from < 200) {
      // block the event loop for 200 ms
    }
    const to = performance.now();
    const during = realStalls.overlap(from - 5, to);
    assert.ok(during >= 120 && during <= to - from + 5, `stall seen right after the block: ${during} ms`);
    await new Promise((r) => setTimeout(r, 60));
    const after = realStalls.overlap(from - 5, to);
    assert.ok(after >= 120 && after <= to - from + 5, `stall recorded by the ticker: ${after} ms`);
    // An idle wait is not a stall. On a loaded machine this process may really be descheduled
    // during one wait (which the monitor rightly counts); a monitor that counted idle time would
    // count every wait, so the least of five decides.
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) {
      const quiet = performance.now();
      await new Promise((r) => setTimeout(r, 100));
      idle.push(realStalls.overlap(quiet, performance.now()));
    }
    assert.ok(Math.min(...idle) < 60, `an idle wait is not a stall: ${idle.map((v) => v.toFixed(0)).join(', ')} ms`);
  });
});
