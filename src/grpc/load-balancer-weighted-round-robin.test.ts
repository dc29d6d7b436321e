import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { BalancerChild } from './load-balancer-base.ts';
import { SmoothWeightedPicker } from './load-balancer-weighted-round-robin.ts';
import { EndpointLoad } from './picker-load.ts';

function child(key: string, weight: number): BalancerChild {
  const subchannel = { key } as unknown as grpc.experimental.SubchannelInterface;
  return {
    key,
    info: { id: key, weight, metadata: {} },
    state: grpc.connectivityState.READY,
    load: new EndpointLoad({ decayMs: 1000 }),
    picker: { pick: () => ({ pickResultType: grpc.experimental.PickResultType.COMPLETE, subchannel, status: null, onCallStarted: null, onCallEnded: null }) },
  };
}

const picks = (p: SmoothWeightedPicker, n: number) =>
  Array.from({ length: n }, () => (p.pick({ metadata: new grpc.Metadata(), extraPickInfo: {} }).subchannel as unknown as { key: string }).key);

describe('smooth weighted round robin', () => {
  it('gives every window of one period exactly the weights, wherever it starts', () => {
    for (let run = 0; run < 20; run++) {
      const seq = picks(new SmoothWeightedPicker([child('a', 5), child('b', 1), child('c', 1)]), 70);
      for (let start = 0; start + 7 <= seq.length; start++) {
        const w = seq.slice(start, start + 7);
        assert.deepEqual([w.filter((k) => k === 'a').length, w.filter((k) => k === 'b').length, w.filter((k) => k === 'c').length], [5, 1, 1], seq.join(''));
      }
    }
  });

  it('interleaves instead of bursting (5,1,1 never gives five a in a row)', () => {
    const seq = picks(new SmoothWeightedPicker([child('a', 5), child('b', 1), child('c', 1)]), 700).join('');
    assert.ok(!seq.includes('aaaaa'), seq.slice(0, 70));
  });

  it('handles fractional weights', () => {
    const seq = picks(new SmoothWeightedPicker([child('a', 0.5), child('b', 1.5)]), 400);
    assert.equal(seq.filter((k) => k === 'b').length, 300);
  });
});
