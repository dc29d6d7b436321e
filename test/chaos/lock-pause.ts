// Lock safety under process pauses: `npm run chaos -- lock-pause [--pauses 1000] [--groups 8]
// [--workers 3] [--backend store|etcd] [--careful]`. Runs the scenario of lib/lock-pause-scenario.ts
// twice against one server — the resource checking fencing tokens, then accepting everything —
// prints both results side by side, and exits non-zero if fencing let a stale write through or if
// the unfenced run caught no overlap (a scenario that cannot catch the hazard proves nothing).
import { parseArgs } from 'node:util';
import { startEtcd } from '../helpers/etcd-process.ts';
import { makeTempDir, removeTempDir, startStoreProcess } from '../helpers/store-process.ts';
import { lockPauseProblems, runLockPause, type LockPauseResult } from './lib/lock-pause-scenario.ts';

interface Server {
  readonly endpoint: string;
  stop(): Promise<void>;
}

async function startServer(backend: string): Promise<Server> {
  if (backend === 'etcd') return startEtcd();
  const dir = makeTempDir('coord-chaos-store-');
  const store = await startStoreProcess(['--listen', '127.0.0.1:0', '--data-dir', `${dir}/data`]);
  return {
    endpoint: store.endpoint,
    stop: async () => {
      await store.kill('SIGKILL');
      removeTempDir(dir);
    },
  };
}

const count = (n: number) => String(n);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const ROWS: Array<[string, (r: LockPauseResult) => string]> = [
  ['pauses (holder stopped mid-section past its TTL, lock taken over)', (r) => count(r.pauses)],
  ['pauses without a takeover', (r) => count(r.pausesWithoutTakeover)],
  ['pause length min / p50 / max', (r) => `${seconds(r.pauseMs.min)} / ${seconds(r.pauseMs.p50)} / ${seconds(r.pauseMs.max)}`],
  ['critical sections begun', (r) => count(r.sections)],
  ['lock handovers (section begun by another worker)', (r) => count(r.handovers)],
  ['writes', (r) => count(r.writes)],
  ['writes accepted', (r) => count(r.accepted)],
  ['stale writes rejected by fencing', (r) => count(r.staleRejected)],
  ['stale writes accepted', (r) => count(r.staleAccepted)],
  ['overlapping sections detected', (r) => count(r.overlaps)],
  ['writes accepted inside an overlap', (r) => count(r.overlapWrites)],
  ['worker lock() errors (retried)', (r) => count(r.lockErrors)],
  ['duration', (r) => seconds(r.durationMs)],
];

function printTable(results: LockPauseResult[]): void {
  const header = ['', ...results.map((r) => `fencing ${r.fencing ? 'ON' : 'OFF'}`)];
  const rows = [header, ...ROWS.map(([label, cell]) => [label, ...results.map(cell)])];
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      pauses: { type: 'string', default: '1000' },
      groups: { type: 'string', default: '8' },
      workers: { type: 'string', default: '3' },
      backend: { type: 'string', default: 'store' },
      careful: { type: 'boolean', default: false },
    },
  });
  const int = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got ${v}`);
    return n;
  };
  if (values.backend !== 'store' && values.backend !== 'etcd') throw new Error(`--backend must be store or etcd, got ${values.backend}`);
  const common = {
    pauses: int('pauses', values.pauses),
    groups: int('groups', values.groups),
    workersPerGroup: int('workers', values.workers),
    careful: values.careful,
    log: (line: string) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`),
  };
  const backend = values.backend === 'etcd' ? 'etcd' : 'coord store';
  console.log(`lock-pause on ${backend}: ${common.pauses} pauses per mode, ${common.groups} lock groups × ${common.workersPerGroup} ${common.careful ? 'careful' : 'naive'} workers, TTL 2 s`);
  const server = await startServer(values.backend);
  const results: LockPauseResult[] = [];
  try {
    for (const fencing of [true, false]) results.push(await runLockPause({ ...common, endpoint: server.endpoint, fencing }));
  } finally {
    await server.stop();
  }
  console.log();
  printTable(results);
  const problems = results.flatMap(lockPauseProblems);
  console.log();
  if (problems.length === 0) {
    console.log('OK: fencing refused every stale write; without fencing the same scenario let stale writes through.');
    return 0;
  }
  for (const p of problems) console.log(`FAIL: ${p}`);
  return 1;
}
