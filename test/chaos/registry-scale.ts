// `npm run chaos -- registry-scale [--n 10000] [--rounds 6] [--server etcd|coord store]`: N
// instances in 4 coord registrar processes over 100 services, 10 discovery watchers, then rounds
// of faults: the server restarted (SIGTERM and kill -9 in turn) and a registrar killed with -9
// and started again. After every round every instance must be back on the server and in every
// watcher, within 2 × TTL + 60 s (a loaded machine). Lost registrations (never back) must be 0.
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/index.ts';
import { startRestartable, type ServerKind } from '../helpers/restartable-server.ts';
import { exitOf, killQuietly } from '../helpers/child-tracker.ts';
import { NS, startRegistrar, tracker, Watchers, type Proc } from '../../bench/lib/registry-scale-run.ts';

const TREE = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const TTL = 10;

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

export async function run(args: string[]): Promise<number> {
  const n = Number(arg(args, 'n', '10000'));
  const rounds = Number(arg(args, 'rounds', '6'));
  const kinds = (arg(args, 'server', 'etcd,coord store').split(',') as ServerKind[]);
  let lostTotal = 0;
  for (const kind of kinds) {
    const server = await startRestartable(kind);
    const admin = connect({ endpoints: [server.endpoint], namespace: NS, requestTimeoutMs: 10_000 });
    try {
      const watchers = new Watchers(TREE, server.endpoint, 10);
      await watchers.proc.waitLine(/^ready$/, 60_000);
      const per = Math.ceil(n / 4);
      const regs: Proc[] = [];
      for (let i = 0; i < 4; i++) regs.push(startRegistrar({ kind: 'coord', tree: TREE }, server.endpoint, i * per, per, TTL));
      await Promise.all(regs.map((r) => r.waitLine(/^registered /, 600_000)));
      console.log(`${kind}: ${n} registered`);
      const keys = async () => (await admin.etcd.range(`${NS}services/`, { prefix: true, countOnly: true }).catch(() => ({ count: -1 }))).count;
      let lost = 0;
      for (let round = 1; round <= rounds; round++) {
        const t0 = Date.now();
        const fault = round % 3 === 1 ? 'server SIGTERM' : round % 3 === 2 ? 'server SIGKILL' : 'registrar SIGKILL';
        if (fault === 'registrar SIGKILL') {
          const i = round % 4;
          killQuietly(regs[i].pid, 'SIGKILL');
          await exitOf(regs[i].child);
          regs[i] = startRegistrar({ kind: 'coord', tree: TREE }, server.endpoint, i * per, per, TTL);
          await regs[i].waitLine(/^registered /, 600_000);
        } else {
          await server.stop(fault === 'server SIGTERM' ? 'SIGTERM' : 'SIGKILL');
          await server.start();
        }
        const back = await watchers.when((c) => c === n, t0, TTL * 2000 + 60_000);
        const count = await keys();
        const missing = Number.isNaN(back) ? n - Math.max(0, count) : 0;
        console.log(`${kind} round ${round} (${fault}): ${Number.isNaN(back) ? `NOT back: ${count}/${n} keys` : `every watcher current ${((back - t0) / 1000).toFixed(1)} s after the fault`}, ${count}/${n} keys on the server`);
        lost = Math.max(lost, missing);
      }
      // Give stragglers a last chance; whatever is still missing now is lost.
      const settled = await watchers.when((c) => c === n, Date.now(), TTL * 2000 + 60_000);
      lost = Number.isNaN(settled) ? n - Math.max(0, await keys()) : 0;
      console.log(`${kind}: lost registrations: ${lost}`);
      lostTotal += lost;
    } finally {
      await admin.close();
      await tracker.killAll();
      await server.close();
    }
  }
  return lostTotal === 0 ? 0 : 1;
}
