// The compactor's rules with fake timers: periodic keeps `retention` of history (compacting to the
// revision sampled at least that long ago), revision keeps the last N revisions, a failed
// compaction is logged and retried, and the flags parse as etcd's do.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { parseAutoCompaction, startAutoCompactor } from './auto-compactor.ts';

function target() {
  const t = { rev: 1, compactRev: 0, calls: [] as number[], fail: false, compact(rev: number) {
    if (t.fail) throw new Error('disk full');
    t.calls.push(rev);
    t.compactRev = rev;
  } };
  return t;
}

describe('auto-compactor', () => {
  it('periodic: compacts to the revision sampled one retention ago, never past what is newer', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    let clock = 0;
    const t = target();
    const lines: string[] = [];
    const stop = startAutoCompactor(t, { mode: 'periodic', retention: 1000 }, (l) => lines.push(l), () => clock);
    try {
      for (let step = 1; step <= 20; step++) {
        t.rev += 10; // ten revisions per 100 ms sample
        clock += 100;
        mock.timers.tick(100);
      }
      // At 2000 ms the newest sample at or before 1000 ms was taken at 1000 ms, revision 101.
      assert.equal(t.compactRev, 101);
      assert.ok(t.calls.every((rev, i) => i === 0 || rev > t.calls[i - 1]));
      assert.match(lines.at(-1)!, /^coord store: auto-compaction to revision 101 \(keeping 1 s of history\)$/);
    } finally {
      stop();
      mock.timers.reset();
    }
  });

  it('revision: keeps the last N revisions; a failure is logged and retried', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const t = target();
    const lines: string[] = [];
    const stop = startAutoCompactor(t, { mode: 'revision', retention: 100 }, (l) => lines.push(l));
    try {
      t.rev = 50;
      mock.timers.tick(1000);
      assert.deepEqual(t.calls, []);
      t.rev = 250;
      t.fail = true;
      mock.timers.tick(1000);
      assert.match(lines.at(-1)!, /auto-compaction to revision 150 failed: disk full; retrying at the next check$/);
      t.fail = false;
      mock.timers.tick(1000);
      assert.deepEqual(t.calls, [150]);
    } finally {
      stop();
      mock.timers.reset();
    }
  });

  it('parses retention as etcd: durations for periodic (bare number = hours), counts for revision, 0 = off', () => {
    assert.deepEqual(parseAutoCompaction('periodic', '1h'), { mode: 'periodic', retention: 3_600_000 });
    assert.deepEqual(parseAutoCompaction('periodic', '2'), { mode: 'periodic', retention: 7_200_000 });
    assert.deepEqual(parseAutoCompaction('periodic', '30m'), { mode: 'periodic', retention: 1_800_000 });
    assert.deepEqual(parseAutoCompaction('revision', '1000'), { mode: 'revision', retention: 1000 });
    assert.equal(parseAutoCompaction('periodic', '0'), undefined);
    assert.throws(() => parseAutoCompaction('daily', '1h'), /--auto-compaction-mode must be periodic or revision, got daily/);
    assert.throws(() => parseAutoCompaction('periodic', 'soon'), /expected a duration such as 1h, 30m, 10s, got soon/);
  });
});
