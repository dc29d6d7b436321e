import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedBuckets } from './rate-limit.ts';

describe('keyed token buckets', () => {
  it('limits each key on its own and says how long to wait', () => {
    let now = 0;
    const b = new KeyedBuckets({ rate: 2, burst: 2 }, 100, () => now);
    assert.equal(b.take('a'), 0);
    assert.equal(b.take('a'), 0);
    assert.equal(b.take('a'), 500);
    assert.equal(b.take('b'), 0, 'another key has its own bucket');
    now = 500;
    assert.equal(b.take('a'), 0);
  });

  it('keeps at most maxKeys buckets, dropping the oldest', () => {
    const b = new KeyedBuckets({ rate: 1 }, 10, () => 0);
    for (let i = 0; i < 25; i++) b.take(`k${i}`);
    assert.ok(b.size <= 10, `size ${b.size}`);
  });

  it('refuses a bad limit at once', () => {
    assert.throws(() => new KeyedBuckets({ rate: 0 }), /rate must be a positive number/);
  });
});
