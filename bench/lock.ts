// 16 contenders on one lock, each looping acquire → tiny critical section → release, with coord's
// FIFO lock against the etcd3 npm try-lock-and-retry loop a Node user would otherwise write,
// on real etcd and on coord store. All contenders live in this process (16 clients each), so one
// clock times every hand-off and an in-process holder variable checks mutual exclusion.
import { setMaxListeners } from 'node:events';
import { setImmediate as yieldOnce } from 'node:timers/promises';
import { EtcdLockFailedError, type Etcd3 } from 'etcd3';
import { connect, isCoordError } from '../src/index.ts';
import { cpuMs, percentile, printTable, sleep } from './lib/harness.ts';
import { etcd3Client, fmtInt, fmtMs, onEachBackend, printMachine, ratio, watchdog, type BackendName } from './lib/backends.ts';

const CONTENDERS = 16;
const WARMUP_MS = 3_000;
const DURATION_MS = 15_000;
const LOCK_TTL_S = 10;
/** The baseline's jittered retry sleep after a failed try-lock. */
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 50;

interface Held {
  /** Queue position (the key's create revision) where the lock has one; NaN otherwise. */
  token: number;
  release(): Promise<void>;
}

interface Acquisition {
  wantedAt: number;
  acquiredAt: number;
  /** When the holder left the critical section and called release(). */
  releasedAt: number;
  /** What "earlier in the queue" means: create revision for coord, first try time for the baseline. */
  queuedAs: number;
}

interface Run {
  acquisitions: number;
  perSec: number;
  handoffP50: number;
  handoffP99: number;
  waitP50: number;
  waitP99: number;
  waitMax: number;
  /** Acquisitions that went ahead of a contender queued before them. */
  overtakes: number;
  /** coord only: acquisitions whose create revision was below the previous holder's. */
  outOfRevisionOrder: number;
  exclusionViolations: number;
  errors: number;
  /** Failed try-locks per acquisition (baseline only). */
  retries: number;
  serverCpuMsPerAcq: number;
}

type Contender = (signal: AbortSignal) => Promise<Held>;

export async function run(): Promise<void> {
  const dog = watchdog('lock', 4 * 60_000);
  printMachine();
  console.log(`${CONTENDERS} contenders in this process, ${WARMUP_MS / 1000} s warmup + ${DURATION_MS / 1000} s measured per column; lock lease TTL ${LOCK_TTL_S} s`);
  const results = await onEachBackend(async (server) => {
    const coord = await measure('coord lock', server.pid, coordContenders(server.endpoint));
    const base = await measure('etcd3 try-lock + retry', server.pid, baselineContenders(server.endpoint));
    const floorMs = await durableWriteMs(server.endpoint);
    return { coord, base, floorMs };
  });
  dog.clear();
  print(results);
}

/**
 * p50 of one sequential put from this process: the floor of a strict FIFO hand-off, which cannot
 * complete before the holder's release (a durable write) commits and the next holder hears of it.
 */
async function durableWriteMs(endpoint: string): Promise<number> {
  const c = connect({ endpoints: endpoint });
  try {
    const t: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      await c.etcd.put('bench/floor', String(i));
      t.push(performance.now() - t0);
    }
    return percentile(Float64Array.from(t).sort(), 50);
  } finally {
    await c.close();
  }
}

interface ContenderSet {
  contenders: Contender[];
  retries(): number;
  close(): void | Promise<void>;
}

function coordContenders(endpoint: string): ContenderSet {
  const clients = Array.from({ length: CONTENDERS }, () => connect({ endpoints: endpoint }));
  return {
    contenders: clients.map((c) => async (signal) => {
      const h = await c.lock('bench', { ttl: LOCK_TTL_S, signal });
      return { token: h.fencingToken, release: () => h.release() };
    }),
    retries: () => 0,
    close: async () => void (await Promise.all(clients.map((c) => c.close()))),
  };
}

/** What a Node user writes with etcd3: `lock.acquire()` rejects while the lock is held, so retry with jitter. */
function baselineContenders(endpoint: string): ContenderSet {
  const clients: Etcd3[] = Array.from({ length: CONTENDERS }, () => etcd3Client(endpoint));
  let retries = 0;
  return {
    contenders: clients.map((client) => async (signal) => {
      for (;;) {
        const lock = client.lock('bench/baseline-lock').ttl(LOCK_TTL_S);
        try {
          await lock.acquire();
          return { token: NaN, release: () => lock.release() };
        } catch (e) {
          if (!(e instanceof EtcdLockFailedError)) throw e;
        }
        retries++;
        if (signal.aborted) throw signal.reason;
        await sleep(RETRY_MIN_MS + Math.random() * (RETRY_MAX_MS - RETRY_MIN_MS));
        if (signal.aborted) throw signal.reason;
      }
    }),
    retries: () => retries,
    close: () => clients.forEach((c) => c.close()),
  };
}

async function measure(what: string, serverPid: number, set: ContenderSet): Promise<Run> {
  const stop = new AbortController();
  // Every contender's lock() listens on this one signal (and, as of this writing, lock() leaves one
  // listener behind per call), so Node's 10-listener leak warning would only be noise here.
  setMaxListeners(0, stop.signal);
  const done: Acquisition[] = [];
  /** Contenders still waiting when stopped: they count as overtaken by anyone who got in after they queued. */
  const pending: Acquisition[] = [];
  let holder: number | undefined;
  let violations = 0;
  let errors = 0;
  const loop = async (w: number, acquire: Contender) => {
    while (!stop.signal.aborted) {
      const wantedAt = performance.now();
      let held: Held;
      try {
        held = await acquire(stop.signal);
      } catch (e) {
        if (stop.signal.aborted) {
          pending.push({ wantedAt, acquiredAt: Infinity, releasedAt: Infinity, queuedAs: wantedAt });
          return;
        }
        errors++;
        if (errors <= 3) console.error(`${what}: contender ${w}: ${isCoordError(e) ? e.message : String(e)}`);
        await sleep(100);
        continue;
      }
      const acquiredAt = performance.now();
      if (holder !== undefined) violations++;
      holder = w;
      await yieldOnce(); // the critical section: lets any other "holder" run if exclusion were broken
      if (holder !== w) violations++;
      holder = undefined;
      const releasedAt = performance.now();
      await held.release();
      done.push({ wantedAt, acquiredAt, releasedAt, queuedAs: Number.isNaN(held.token) ? wantedAt : held.token });
    }
  };
  const running = Promise.all(set.contenders.map((c, w) => loop(w, c)));
  try {
    await sleep(WARMUP_MS);
    const retriesBefore = set.retries();
    const cpuBefore = cpuMs(serverPid);
    const t0 = performance.now();
    await sleep(DURATION_MS);
    const t1 = performance.now();
    const cpu = cpuMs(serverPid) - cpuBefore;
    const retries = set.retries() - retriesBefore;
    stop.abort(new Error('bench over'));
    await running;
    return summarize(done, pending, t0, t1, { violations, errors, retries, cpu });
  } finally {
    stop.abort(new Error('bench over'));
    await set.close();
  }
}

function summarize(done: Acquisition[], pending: Acquisition[], t0: number, t1: number, c: { violations: number; errors: number; retries: number; cpu: number }): Run {
  const all = [...done].sort((a, b) => a.acquiredAt - b.acquiredAt);
  const inWindow = (a: Acquisition) => a.acquiredAt >= t0 && a.acquiredAt <= t1;
  const measured = all.filter(inWindow);
  const handoffs: number[] = [];
  for (let i = 1; i < all.length; i++) if (inWindow(all[i - 1]) && inWindow(all[i])) handoffs.push(all[i].acquiredAt - all[i - 1].releasedAt);
  // Walking back from the last acquisition (and the never-served waiters), track the earliest
  // queue position still to be served: anyone served before it while queued after it overtook it.
  let earliestLater = Math.min(Infinity, ...pending.map((p) => p.queuedAs));
  let overtakes = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    if (inWindow(all[i]) && earliestLater < all[i].queuedAs) overtakes++;
    earliestLater = Math.min(earliestLater, all[i].queuedAs);
  }
  let outOfRevisionOrder = 0;
  for (let i = 1; i < all.length; i++) if (all[i].queuedAs < all[i - 1].queuedAs) outOfRevisionOrder++;
  const h = Float64Array.from(handoffs).sort();
  const waits = Float64Array.from(measured.map((a) => a.acquiredAt - a.wantedAt)).sort();
  return {
    acquisitions: measured.length,
    perSec: (measured.length * 1000) / (t1 - t0),
    handoffP50: percentile(h, 50),
    handoffP99: percentile(h, 99),
    waitP50: percentile(waits, 50),
    waitP99: percentile(waits, 99),
    waitMax: waits.length ? waits[waits.length - 1] : NaN,
    overtakes,
    outOfRevisionOrder,
    exclusionViolations: c.violations,
    errors: c.errors,
    retries: measured.length ? c.retries / measured.length : NaN,
    serverCpuMsPerAcq: measured.length ? c.cpu / measured.length : NaN,
  };
}

function print(results: Map<BackendName, { coord: Run; base: Run; floorMs: number }>): void {
  const names = [...results.keys()];
  const rows: Array<[string, (r: Run) => number, (n: number) => string, 'higher' | 'lower' | '']> = [
    ['acquisitions/s', (r) => r.perSec, (n) => n.toFixed(1), 'higher'],
    ['hand-off (release → next holder) p50 ms', (r) => r.handoffP50, fmtMs, 'lower'],
    ['hand-off p99 ms', (r) => r.handoffP99, fmtMs, 'lower'],
    ['wait (want → hold) p50 ms', (r) => r.waitP50, fmtMs, 'lower'],
    ['wait p99 ms', (r) => r.waitP99, fmtMs, 'lower'],
    ['wait max ms', (r) => r.waitMax, fmtMs, 'lower'],
    ['acquisitions that overtook an earlier waiter', (r) => r.overtakes, fmtInt, 'lower'],
    ['mutual-exclusion violations', (r) => r.exclusionViolations, fmtInt, 'lower'],
    ['errors', (r) => r.errors, fmtInt, 'lower'],
    ['failed try-locks per acquisition', (r) => r.retries, (n) => n.toFixed(1), ''],
    ['server CPU ms per acquisition', (r) => r.serverCpuMsPerAcq, fmtMs, 'lower'],
  ];
  const header = ['metric'];
  for (const n of names) header.push(`${n}: coord`, `${n}: etcd3 retry`, `${n}: coord/base`);
  console.log('');
  printTable(
    [...header, 'better'],
    rows.map(([label, get, fmt, better]) => {
      const cells = [label];
      for (const n of names) {
        const { coord, base } = results.get(n)!;
        cells.push(fmt(get(coord)), fmt(get(base)), ratio(get(coord), get(base)));
      }
      return [...cells, better];
    }),
  );
  console.log('');
  for (const n of names) {
    const { coord } = results.get(n)!;
    const fifo = coord.outOfRevisionOrder === 0 && coord.overtakes === 0;
    console.log(`${n}: coord strict FIFO by create revision: ${fifo ? 'yes' : 'NO'} (${coord.outOfRevisionOrder} acquisitions below the previous holder's revision, ${coord.overtakes} overtakes); throughput vs baseline ${ratio(coord.perSec, results.get(n)!.base.perSec)} (goal ≥ 5x)`);
  }
  for (const n of names) {
    const { base, floorMs } = results.get(n)!;
    const ceiling = 1000 / floorMs;
    console.log(`${n}: floor: one sequential durable put takes ${fmtMs(floorMs)} ms (p50), so a FIFO hand-off (release commits, then the next holder hears of it) cannot beat ${ceiling.toFixed(0)}/s = ${ratio(ceiling, base.perSec)} the baseline`);
  }
  console.log('"earlier waiter": coord = lower create revision (its queue position); baseline = started trying earlier (it has no queue).');
}
