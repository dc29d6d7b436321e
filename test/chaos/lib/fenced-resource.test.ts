// The fenced resource's two definitions of a safety violation, on hand-written write histories.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FencedResource, type WriteKind } from './fenced-resource.ts';

/** Applies `[client, token, kind]` writes in order; returns whether each was accepted. */
function apply(r: FencedResource, writes: Array<[string, number, WriteKind]>): boolean[] {
  return writes.map(([client, token, kind], seq) => r.write({ group: 'g', client, token, seq, kind }));
}

/** A holder paused mid-section: B takes over with a higher token, then A wakes up and writes on. */
const PAUSED_HOLDER: Array<[string, number, WriteKind]> = [
  ['a', 10, 'begin'],
  ['a', 10, 'data'],
  ['b', 12, 'begin'],
  ['b', 12, 'data'],
  ['a', 10, 'data'],
  ['a', 10, 'end'],
  ['b', 12, 'end'],
];

describe('fenced resource', () => {
  it('with fencing on, refuses the paused holder once a higher token was accepted', () => {
    const r = new FencedResource(true);
    assert.deepEqual(apply(r, PAUSED_HOLDER), [true, true, true, true, false, false, true]);
    assert.deepEqual(r.stats().total, { writes: 7, accepted: 5, staleRejected: 2, staleAccepted: 0, overlaps: 0, overlapWrites: 0, sections: 2, handovers: 1 });
  });

  it('with fencing off, accepts the paused holder and counts one overlapping section', () => {
    const r = new FencedResource(false);
    assert.deepEqual(apply(r, PAUSED_HOLDER), [true, true, true, true, true, true, true]);
    assert.deepEqual(r.stats().total, { writes: 7, accepted: 7, staleRejected: 0, staleAccepted: 2, overlaps: 1, overlapWrites: 2, sections: 2, handovers: 1 });
  });

  it('refuses a late holder only from its successor\'s first accepted write on', () => {
    const r = new FencedResource(true);
    assert.deepEqual(apply(r, [['a', 10, 'begin'], ['a', 10, 'data'], ['b', 12, 'begin'], ['a', 10, 'end']]), [true, true, true, false]);
    assert.equal(r.stats().total.staleRejected, 1);
  });

  it('detects an overlap by section order even when the tokens say nothing is stale', () => {
    const r = new FencedResource(true);
    apply(r, [['a', 10, 'begin'], ['b', 10, 'begin'], ['a', 10, 'data']]);
    assert.equal(r.stats().total.staleAccepted, 0);
    assert.equal(r.stats().total.overlaps, 1);
  });

  it('counts back-to-back sections of one client as neither handover nor overlap', () => {
    const r = new FencedResource(false);
    apply(r, [['a', 10, 'begin'], ['a', 10, 'end'], ['a', 11, 'begin'], ['a', 11, 'end'], ['b', 13, 'begin']]);
    assert.deepEqual({ ...r.stats().total }, { writes: 5, accepted: 5, staleRejected: 0, staleAccepted: 0, overlaps: 0, overlapWrites: 0, sections: 3, handovers: 1 });
  });

  it('keeps each group apart', () => {
    const r = new FencedResource(true);
    assert.equal(r.write({ group: 'g1', client: 'a', token: 50, seq: 0, kind: 'begin' }), true);
    assert.equal(r.write({ group: 'g2', client: 'b', token: 7, seq: 0, kind: 'begin' }), true);
    assert.deepEqual(Object.keys(r.stats().groups), ['g1', 'g2']);
  });

  it('rejects a write outside any section as a protocol error', () => {
    assert.throws(() => new FencedResource(true).write({ group: 'g', client: 'a', token: 1, seq: 0, kind: 'data' }), /without a begin/);
  });
});
