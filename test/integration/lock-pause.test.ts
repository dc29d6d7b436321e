// CI version of `npm run chaos -- lock-pause`: the same scenario with a few pauses. Lock holders
// are SIGSTOPped mid-section past their TTL and resumed after another worker took the lock over;
// a resource checking fencing tokens must accept no stale write, and the same scenario against a
// resource without the check must catch an overlap, or the test could not fail.
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { lockPauseProblems, runLockPause, type LockPauseResult } from '../chaos/lib/lock-pause-scenario.ts';
import { requireEtcd, startEtcd } from '../helpers/etcd-process.ts';
import { makeTempDir, removeTempDir, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

function report(t: TestContext, r: LockPauseResult): void {
  t.diagnostic(
    `figure: fencing ${r.fencing ? 'on' : 'off'}: ${r.pauses} pauses, ${r.handovers} handovers, ${r.accepted} writes accepted, ` +
      `${r.staleRejected} stale rejected, ${r.staleAccepted} stale accepted, ${r.overlaps} overlaps, ${(r.durationMs / 1000).toFixed(1)} s`,
  );
}

/** Both modes side by side (the run is mostly waiting on pauses), then the same two facts as the chaos run. */
async function pauseBothModes(t: TestContext, endpoint: string, pauses: number, groups: number): Promise<void> {
  // Two workers per lock: the paused holder and its successor is all the hazard needs, and each
  // worker process costs about half a CPU-second of start-up.
  const run = (fencing: boolean) => runLockPause({ endpoint, fencing, pauses, groups, workersPerGroup: 2 });
  const [fenced, unfenced] = await Promise.all([run(true), run(false)]);
  report(t, fenced);
  report(t, unfenced);
  assert.equal(fenced.pauses, pauses);
  assert.equal(fenced.staleAccepted, 0, 'fencing let a stale write through');
  assert.ok(unfenced.overlaps > 0, 'without fencing the scenario caught no overlap: it cannot detect the hazard');
  assert.deepEqual([...lockPauseProblems(fenced), ...lockPauseProblems(unfenced)], []);
}

// The two backends run side by side: each suite is mostly waiting on pauses.
describe('lock holders paused past their TTL (SIGSTOP) and resumed', { concurrency: 2 }, () => {
  describe('on coord store', () => {
    const dir = makeTempDir('coord-lock-pause-');
    after(async () => {
      await stopAllStoreProcesses();
      removeTempDir(dir);
    });

    it('fencing refuses every stale write; without it the overlap is caught', { timeout: 180_000 }, async (t) => {
      const store = await startStoreProcess(['--listen', '127.0.0.1:0', '--data-dir', `${dir}/data`]);
      await pauseBothModes(t, store.endpoint, 15, 3);
    });
  });

  describe('on etcd', { skip: requireEtcd() }, () => {
    let stop: (() => Promise<void>) | undefined;
    after(async () => stop?.());

    it('fencing refuses every stale write; without it the overlap is caught', { timeout: 120_000 }, async (t) => {
      const etcd = await startEtcd();
      stop = etcd.stop;
      await pauseBothModes(t, etcd.endpoint, 4, 2);
    });
  });
});
