import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadlineMs, propagatedDeadline } from './deadline.ts';

describe('propagatedDeadline', () => {
  const now = 1_000_000;

  it('leaves the call alone when the incoming call has no deadline', () => {
    assert.deepEqual(propagatedDeadline(Infinity, Infinity, 5, now), { ok: true, deadline: Infinity });
    assert.deepEqual(propagatedDeadline(now + 10, Infinity, 5, now), { ok: true, deadline: now + 10 });
  });

  it('bounds the outgoing deadline by the incoming one minus the margin', () => {
    assert.deepEqual(propagatedDeadline(Infinity, now + 1000, 5, now), { ok: true, deadline: now + 995 });
    assert.deepEqual(propagatedDeadline(now + 2000, now + 1000, 5, now), { ok: true, deadline: now + 995 });
  });

  it('keeps an own deadline that is earlier', () => {
    assert.deepEqual(propagatedDeadline(now + 100, now + 1000, 5, now), { ok: true, deadline: now + 100 });
  });

  it('refuses when the margin eats what is left, or the deadline has passed', () => {
    assert.deepEqual(propagatedDeadline(Infinity, now + 5, 5, now), { ok: false, remainingMs: 5 });
    assert.deepEqual(propagatedDeadline(Infinity, now - 3, 0, now), { ok: false, remainingMs: -3 });
  });
});

describe('deadlineMs', () => {
  it('reads grpc-js deadlines', () => {
    assert.equal(deadlineMs(undefined), Infinity);
    assert.equal(deadlineMs(Infinity), Infinity);
    assert.equal(deadlineMs(new Date(1234)), 1234);
    assert.equal(deadlineMs(42), 42);
  });
});
