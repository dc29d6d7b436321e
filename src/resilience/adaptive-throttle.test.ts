import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { AdaptiveThrottle } from './adaptive-throttle.ts';

describe('AdaptiveThrottle', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  /** The throttle's dice: it rejects when the probability exceeds `roll`; 1 never rejects. */
  let roll = 1;
  beforeEach(() => (roll = 1));
  const throttle = (options = {}) => new AdaptiveThrottle({ windowMs: 1000, buckets: 10, minRequests: 10, random: () => roll, ...options });

  const record = (t: AdaptiveThrottle, accepted: number, failed: number) => {
    for (let i = 0; i < accepted; i++) t.tryAcquire()!.accepted();
    for (let i = 0; i < failed; i++) t.tryAcquire()!.failed();
  };

  it('admits everything while the backend accepts', () => {
    const t = throttle();
    record(t, 100, 0);
    roll = 0;
    assert.equal(t.rejectProbability(), 0);
    assert.ok(t.tryAcquire());
  });

  it('rejects with probability (requests − K·accepts)/(requests + 1)', () => {
    const t = throttle();
    record(t, 10, 39); // 49 requests, 10 accepted
    assert.equal(t.rejectProbability(), (49 - 2 * 10) / 50);
    // Accepting half the requests is exactly K = 2: no rejection.
    const half = throttle();
    record(half, 25, 25);
    assert.equal(half.rejectProbability(), 0);
  });

  it('K is configurable: K = 1 rejects as soon as anything fails', () => {
    const t = throttle({ k: 1 });
    record(t, 20, 5);
    assert.equal(t.rejectProbability(), 5 / 26);
  });

  it('says nothing below minRequests', () => {
    const t = throttle();
    record(t, 0, 9);
    assert.equal(t.rejectProbability(), 0);
    record(t, 0, 1);
    assert.equal(t.rejectProbability(), 10 / 11);
  });

  it('a local rejection counts as a request not accepted, and is reported', () => {
    const t = throttle();
    record(t, 0, 20);
    roll = 0.5; // p = 20/21
    assert.equal(t.tryAcquire(), undefined);
    const s = t.stats();
    assert.deepEqual({ requests: s.requests, accepts: s.accepts, rejected: s.rejected, rejectedTotal: s.rejectedTotal }, { requests: 21, accepts: 0, rejected: 1, rejectedTotal: 1 });
    assert.equal(s.rejectProbability, 21 / 22);
  });

  it('forgets outcomes as the window slides, bucket by bucket', () => {
    const t = throttle();
    record(t, 0, 20);
    mock.timers.tick(500);
    record(t, 10, 0);
    assert.equal(t.stats().requests, 30);
    // The failures' bucket leaves the window 1000 ms after it started; the later successes stay.
    mock.timers.tick(500);
    assert.deepEqual([t.stats().requests, t.stats().accepts], [10, 10]);
    assert.equal(t.rejectProbability(), 0);
    mock.timers.tick(500);
    assert.equal(t.stats().requests, 0);
  });

  it('a long silence clears the window', () => {
    const t = throttle();
    record(t, 0, 50);
    mock.timers.tick(3_600_000);
    assert.deepEqual(t.stats(), { requests: 0, accepts: 0, rejected: 0, healthyShare: 0, rejectProbability: 0, rejectedTotal: 0 });
  });

  it('recovers by itself once the backend accepts again: the probes are the admitted requests', () => {
    let dice = 0;
    const t = new AdaptiveThrottle({ windowMs: 1000, buckets: 10, random: () => (dice = (dice + 0.37) % 1) });
    let healthy = false;
    let rejectedWhileFailing = 0;
    let rejectedAfterHeal = 0;
    // 100 requests per second; the backend fails for 2 s, then heals.
    for (let ms = 0; ms < 6000; ms += 10) {
      if (ms === 2000) healthy = true;
      const ticket = t.tryAcquire();
      if (!ticket) {
        if (healthy) rejectedAfterHeal++;
        else rejectedWhileFailing++;
      } else if (healthy) ticket.accepted();
      else ticket.failed();
      mock.timers.tick(10);
    }
    assert.ok(rejectedWhileFailing > 150, `rejected only ${rejectedWhileFailing} of 200 while failing`);
    assert.ok(rejectedAfterHeal > 0, 'the window still remembered the outage just after it');
    assert.equal(t.rejectProbability(), 0, 'no rejection once the window holds only the healthy period');
  });

  /** Drives `t` at `perSecond` for `ms`; the backend answers as `healthy()` says. Counts admissions and rejections. */
  const drive = (t: AdaptiveThrottle, perSecond: number, ms: number, healthy: () => boolean) => {
    const stepMs = 1000 / perSecond;
    const seen = { admitted: 0, rejected: 0, lastRejectionAt: -1 };
    for (let at = 0; at < ms; at += stepMs) {
      const ticket = t.tryAcquire();
      if (!ticket) {
        seen.rejected++;
        seen.lastRejectionAt = at;
      } else {
        seen.admitted++;
        if (healthy()) ticket.accepted();
        else ticket.failed();
      }
      mock.timers.tick(stepMs);
    }
    return seen;
  };

  it('keeps probing a dead backend: one request per probe interval gets through', () => {
    roll = 0; // every rejection the probability allows happens
    const t = throttle({ probeIntervalMs: 100 });
    const { admitted, rejected } = drive(t, 1000, 5000, () => false);
    assert.ok(rejected > 4500, `rejected only ${rejected}`);
    // 10 requests before minRequests, then one probe per 100 ms (set; the default is half a bucket).
    assert.ok(admitted >= 50 && admitted <= 70, `admitted ${admitted} in 5 s`);
  });

  it('back to full traffic within one window after a total outage, at any rate', () => {
    for (const perSecond of [50, 1000, 10_000]) {
      roll = 0;
      const t = throttle(); // 1 s window
      drive(t, perSecond, 5000, () => false);
      assert.ok(t.rejectProbability() > 0.9);
      const healed = drive(t, perSecond, 3000, () => true);
      // One window, plus the bucket (100 ms) that still saw failures from before the heal.
      assert.ok(healed.lastRejectionAt < 1100, `${perSecond}/s: still rejecting ${healed.lastRejectionAt} ms after the backend healed`);
      assert.equal(t.rejectProbability(), 0);
    }
  });

  it('a failure breaks the healthy run: partial acceptance is throttled by the formula alone', () => {
    const t = throttle();
    // Every bucket both accepts and fails (a shedding backend): nothing counts as healthy.
    let i = 0;
    drive(t, 100, 3000, () => i++ % 3 === 0);
    const { requests, accepts } = t.stats();
    assert.equal(t.rejectProbability(), (requests - 2 * accepts) / (requests + 1));
  });

  it('settling a ticket twice counts once; a dropped ticket is not counted', () => {
    const t = throttle();
    const a = t.tryAcquire()!;
    a.accepted();
    a.failed();
    t.tryAcquire()!.dropped();
    assert.deepEqual([t.stats().requests, t.stats().accepts], [1, 1]);
  });

  it('execute() runs admitted work and rejects with a CoordError saying why', async () => {
    const t = throttle();
    assert.equal(await t.execute(async () => 42), 42);
    await assert.rejects(t.execute(async () => Promise.reject(new Error('app says no')), () => true), /app says no/);
    assert.equal(t.stats().accepts, 2, 'an error the caller deems accepted counts as accepted');
    for (let i = 0; i < 20; i++) await t.execute(async () => Promise.reject(new Error('down'))).catch(() => {});
    roll = 0.5;
    await assert.rejects(t.execute(async () => 1), (e) => isCoordError(e, 'unavailable') && /adaptive throttling/.test(e.message));
  });

  it('rejects nonsense options', () => {
    assert.throws(() => new AdaptiveThrottle({ k: 0 }), (e) => isCoordError(e, 'invalid-argument'));
    assert.throws(() => new AdaptiveThrottle({ buckets: 0.5 }), (e) => isCoordError(e, 'invalid-argument'));
  });
});
