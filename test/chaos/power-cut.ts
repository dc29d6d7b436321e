// Crash safety without the page cache: `npm run chaos -- power-cut [--cuts 200] [--seed N]
// [--writers 6]`. coord store runs on a simulated disk (test/helpers/power-cut-fs.ts) that at each
// cut loses every unsynced byte and directory change and tears the last write; the store restarts
// from what survived and every acknowledged write is checked. Prints the figures; exits 1 on any
// lost or half-applied write or a failed recovery.
import { parseArgs } from 'node:util';
import { powerCutProblems, runPowerCut } from './lib/power-cut-scenario.ts';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { cuts: { type: 'string', default: '200' }, seed: { type: 'string', default: String(Date.now() % 1e9) }, writers: { type: 'string', default: '6' } },
  });
  const cuts = Number(values.cuts);
  const seed = Number(values.seed);
  const started = performance.now();
  console.log(`power-cut: ${cuts} cuts, seed ${seed} (replay with --seed ${seed}), ${values.writers} writers`);
  const r = await runPowerCut({
    cuts,
    seed,
    writers: Number(values.writers),
    log: (line) => {
      if (/lost [1-9]|half-applied pairs [1-9]|failed/.test(line) || /cut (\d+)\//.exec(line)?.[1].endsWith('0')) console.log(`  ${line}`);
    },
  });
  const problems = powerCutProblems(r);
  const rows: Array<[string, string | number]> = [
    ['power cuts', r.cuts],
    ['writes acknowledged (puts + keys of pair txns)', r.acknowledged],
    ['acknowledged writes checked after the last restart', r.checks],
    ['lost (missing, changed, or revision went back)', r.lost],
    ['pairs half-applied', r.halfApplied],
    ['recoveries refused', r.recoveryFailures.length],
    ['log segments created', r.disk.segmentsCreated],
    ['snapshots installed (rename over the old)', r.disk.snapshotsInstalled],
    ['files whose unsynced changes a cut discarded', r.disk.lostChanges],
    ['last writes torn at a random byte', r.disk.tornWrites],
    ['file / directory fsyncs', `${r.disk.fileSyncs} / ${r.disk.dirSyncs}`],
    ['time', `${((performance.now() - started) / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  for (const p of problems) console.log(`PROBLEM: ${p}`);
  return problems.length === 0 ? 0 : 1;
}
