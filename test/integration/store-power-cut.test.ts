// The short CI version of `npm run chaos -- power-cut`: coord store on a simulated disk that loses
// every unsynced byte and directory entry at a power cut (and tears the last write). Every
// acknowledged write must survive every cut. The same scenario on a disk that ignores directory
// fsyncs must lose writes: the check has teeth, and the store's directory fsyncs are load-bearing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { powerCutProblems, runPowerCut } from '../chaos/lib/power-cut-scenario.ts';

describe('coord store power cuts (simulated disk)', () => {
  it('loses no acknowledged write over 12 cuts, across segment creation and snapshot replacement', async () => {
    const r = await runPowerCut({ cuts: 12, seed: 20261204, log: (l) => console.log(l) });
    console.log(`cuts ${r.cuts}, acknowledged ${r.acknowledged}, checked ${r.checks}, lost ${r.lost}, disk ${JSON.stringify(r.disk)}`);
    assert.deepEqual(powerCutProblems(r), []);
    assert.equal(r.cuts, 12);
    assert.ok(r.acknowledged > 0 && r.checks > 0);
    assert.ok(r.disk.segmentsCreated > 12, `segments created: ${r.disk.segmentsCreated}`);
    assert.ok(r.disk.snapshotsInstalled >= 2, `snapshots installed: ${r.disk.snapshotsInstalled}`);
    assert.ok(r.disk.lostChanges > 0, 'the cuts threw unsynced changes away');
  });

  it('the same scenario on a disk that ignores directory fsyncs loses acknowledged writes', async () => {
    const r = await runPowerCut({ cuts: 6, seed: 20261204, disk: { ignoreDirSyncs: true } });
    console.log(`lying disk: cuts ${r.cuts}, acknowledged ${r.acknowledged}, lost ${r.lost}, recovery failures ${r.recoveryFailures.length}`);
    assert.notDeepEqual(powerCutProblems(r), []);
  });
});
