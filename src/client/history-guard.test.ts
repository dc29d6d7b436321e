import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HistoryGuard, type HistoryLost } from './history-guard.ts';

describe('HistoryGuard', () => {
  it('reports a changed cluster id and a revision below the floor, once each, and then follows the new history', () => {
    const g = new HistoryGuard();
    const lost: HistoryLost[] = [];
    g.onLost((h) => lost.push(h));
    assert.equal(g.observe({ revision: '10', cluster_id: '7' }, g.floor()), false);
    // An answer to a request sent before revision 10 was seen may be lower: not a loss.
    assert.equal(g.observe({ revision: '9', cluster_id: '7' }, 5), false);
    assert.equal(g.observe({ revision: '3', cluster_id: '7' }, g.floor()), true);
    assert.deepEqual(lost.map((h) => [h.reason, h.previousRevision, h.revision]), [['revision', 10, 3]]);
    assert.equal(g.observe({ revision: '4', cluster_id: '7' }, g.floor()), false);
    assert.equal(g.observe({ revision: '50', cluster_id: '8' }, g.floor()), true);
    assert.deepEqual(lost[1].reason, 'cluster-id');
    assert.equal(g.observe({ revision: '51', cluster_id: '8' }, g.floor()), false);
    g.seen(60);
    assert.equal(g.floor(), 60);
  });
});
