import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCoordError } from '../core/errors.ts';
import { TokenBucket } from './rate-limiter.ts';

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate', () => {
    let t = 0;
    const b = new TokenBucket({ rate: 10, burst: 3 }, () => t);
    assert.deepEqual([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()], [true, true, true, false]);
    assert.equal(b.waitMs(), 100);
    t += 99;
    assert.equal(b.tryTake(), false);
    t += 1;
    assert.equal(b.tryTake(), true);
    assert.equal(b.tryTake(), false);
  });

  it('refills up to the burst only', () => {
    let t = 0;
    const b = new TokenBucket({ rate: 100, burst: 2 }, () => t);
    t += 60_000;
    assert.equal(b.available(), 2);
    assert.equal(b.tryTake(2), true);
    assert.equal(b.tryTake(), false);
  });

  it('defaults the burst to one second of rate, and at least 1', () => {
    assert.equal(new TokenBucket({ rate: 50 }).burst, 50);
    assert.equal(new TokenBucket({ rate: 0.5 }).burst, 1);
  });

  it('a failed take takes nothing', () => {
    let t = 0;
    const b = new TokenBucket({ rate: 1, burst: 2 }, () => t);
    assert.equal(b.tryTake(3), false);
    assert.equal(b.available(), 2);
  });

  it('a clock stepping back mints no tokens', () => {
    let t = 1000;
    const b = new TokenBucket({ rate: 1, burst: 1 }, () => t);
    assert.equal(b.tryTake(), true);
    t = 0;
    assert.equal(b.tryTake(), false);
    t = 999;
    assert.equal(b.tryTake(), false);
    t = 1000;
    assert.equal(b.tryTake(), true);
  });

  it('rejects nonsense limits', () => {
    for (const limit of [{ rate: 0 }, { rate: -1 }, { rate: Number.NaN }, { rate: Infinity }, { rate: 1, burst: 0.5 }]) {
      assert.throws(() => new TokenBucket(limit), (e) => isCoordError(e, 'invalid-argument'));
    }
  });
});
