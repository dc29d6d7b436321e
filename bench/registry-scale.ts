// The registry at scale (issue 22): N instances in 4 registering processes over 100 services
// (TTL 10 s, 200 register() calls in flight each), 10 discovery watchers (each over all 100
// services), on real etcd and on coord store (with a data dir), in the same run:
//   after  — this tree (one shared lease and one keepalive stream per client)
//   before — the code at REGISTRY_SCALE_BEFORE (default 68e2afc, a git worktree; one lease,
//            stream and own-key watch per instance), for N ≤ REGISTRY_SCALE_BEFORE_MAX (1,000)
//   go     — a registrar on etcd's clientv3: one lease per instance, one shared keepalive stream
// REGISTRY_SCALE_N="1000,10000" picks the sizes. Figures are wall-clock on whatever else runs.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGoProgram } from '../test/helpers/go-program.ts';
import type { ServerKind } from '../test/helpers/restartable-server.ts';
import { printMachine, watchdog } from './lib/backends.ts';
import { printTable } from './lib/harness.ts';
import { runScale, type RegistrarKind, type ScaleResult } from './lib/registry-scale-run.ts';

const TREE = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const TTL = 10;

/** A worktree of the old code with this bench's two process scripts copied in. */
function beforeTree(rev: string): string {
  const dir = join(tmpdir(), `coord-registry-scale-before-${rev}`);
  if (!existsSync(dir)) {
    execFileSync('git', ['worktree', 'add', '--detach', dir, rev], { cwd: TREE, stdio: 'ignore' });
    symlinkSync(join(TREE, 'node_modules'), join(dir, 'node_modules'));
  }
  for (const f of ['registrar-main.ts', 'scale-watchers-main.ts']) cpSync(join(TREE, 'bench/lib', f), join(dir, 'bench/lib', f));
  return dir;
}

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'not reached');
const s = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'not reached');

export async function run(): Promise<void> {
  const dog = watchdog('registry-scale', 3 * 60 * 60 * 1000);
  printMachine();
  const sizes = (process.env.REGISTRY_SCALE_N ?? '1000,10000').split(',').map(Number);
  const beforeMax = Number(process.env.REGISTRY_SCALE_BEFORE_MAX ?? 1000);
  const rev = process.env.REGISTRY_SCALE_BEFORE ?? '68e2afc';
  const go = await buildGoProgram('registrar');
  const variants: Array<[string, RegistrarKind, (n: number) => boolean]> = [
    ['after', { kind: 'coord', tree: TREE }, () => true],
    ['before', { kind: 'coord', tree: beforeTree(rev) }, (n) => n <= beforeMax],
    ['go clientv3', { kind: 'go', bin: go }, () => true],
  ];
  const rows: string[][] = [];
  for (const n of sizes) {
    for (const server of ['etcd', 'coord store'] as ServerKind[]) {
      for (const [name, registrar, when] of variants) {
        if (!when(n)) continue;
        console.log(`N=${n} ${server} ${name}:`);
        let r: ScaleResult;
        try {
          r = await runScale({ server, registrar, n, ttl: TTL, registrars: 4, watchers: 10, tree: TREE, log: (l) => console.log(l) });
        } catch (e) {
          console.log(`  failed: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        rows.push([
          String(n), server, name,
          s(r.registerAllMs), String(r.registerFailures),
          f(r.serverCpuPct, 1), f(r.serverRssMb), String(r.leases),
          f(r.clientCpuPctPer1k, 2), Number.isFinite(r.clientRssKbPerReg) ? `${f(r.clientRssKbPerReg, 1)} / ${f(r.clientHeapKbPerReg, 1)} (+${f(r.clientFixedRssMb)} MB)` : '–',
          `${s(r.killSeenP50Ms)} / ${s(r.killSeenP99Ms)}`, s(r.closeSeenMs),
          `${s(r.sigtermStopMs)} + ${s(r.sigtermBackMs)}`, s(r.kill9BackMs),
        ]);
      }
    }
  }
  console.log(`\nregistry at scale: 4 registrars, 100 services, 10 watchers, TTL ${TTL} s; "back" = every watcher current and every key on the server`);
  console.log('client KB/reg: steady RSS / V8 heap growth per registration past a registrar\'s first, and (+) the RSS that first one cost (channels, lease, code): bench/lib/registrar-main.ts');
  printTable(
    ['N', 'server', 'registrar', 'register all', 'rejections', 'server CPU %', 'server MB', 'leases', 'client CPU %/1k', 'client KB/reg RSS / heap (+fixed)', 'kill -9 seen p50/p99', 'close seen', 'SIGTERM stop + back', 'kill -9 back'],
    rows,
  );
  dog.clear();
}
