// Overload at 3x capacity (issue 4, benchmark 4). One backend in its own process whose handler
// does 4 ms of CPU work in slices (so concurrent calls share the core, as a Node service with
// awaits does) and stops when its caller gives up. Its capacity is measured in the same run,
// around each row. Then, for each combination of client-side adaptive throttling and server-side
// protection, a fresh backend gets an open-loop load: 0.5x capacity (warm-up), 3x for 10 s, then
// 0.5x again for 10 s. Every call has a 1 s deadline. Server-side protection is coord's adaptive
// load shedder (serve()'s default), or, as a reference tuned for this workload, a fixed limit of
// 8 calls in the handler (RESOURCE_EXHAUSTED past it), which needs the capacity known in
// advance — the thing adaptive shedding exists to avoid.
//   goodput     = calls answered OK per second, as a fraction of the measured capacity, and per
//                 second of the backend's CPU time, as a fraction of the same while measuring
//                 capacity (steadier on a shared machine), beside how busy the backend kept;
//   recovery    = from the drop back to 0.5x until the last call rejected locally (the throttle)
//                 and the last call that failed at all.
// COORD_BENCH_ROUNDS=n repeats the rows n times and adds medians; COORD_BENCH_ONLY=<text> runs
// only the rows whose name contains it; COORD_BENCH_TIMELINE=1 adds per-second outcomes for each
// row; COORD_BENCH_SHEDDING='<json>' passes LoadShedderOptions to the shedding backend, and
// COORD_BENCH_TRACE=1 makes it print the shedder's view 4 times a second (on stderr).
// The same file is the backend when run with COORD_BENCH_OVERLOAD_BACKEND set.
import { spawn } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { clientInterceptors } from '../src/grpc/client-interceptors.ts';
import { serve } from '../src/grpc/serve.ts';
import { AdaptiveThrottle } from '../src/resilience/adaptive-throttle.ts';
import type { LoadShedderOptions } from '../src/resilience/load-shedder.ts';
import { echoService, type EchoReply, type EchoRequest } from '../test/helpers/echo.ts';
import { fmtInt, fmtMs, printMachine, watchdog } from './lib/backends.ts';
import { cpuMs, percentile, printTable, sleep } from './lib/harness.ts';

const WORK_MS = 4;
/**
 * The reference server's fixed concurrency limit. Calls share the core, so 8 in flight cost 8x
 * the latency (32 ms), not more CPU; fewer slots make a loss system that, offered only ~2x its
 * capacity (what K=2 lets through), refuses calls while a slot is idle (Erlang loss: 2 slots carry
 * ~67 % of capacity at 1.3x, 8 slots ~94 % at 2x).
 */
const FIXED_LIMIT = 8;
const SLICES = 4;
const DEADLINE_MS = 1000;
const WARMUP = { ms: 2000, load: 0.5 };
const OVERLOAD = { ms: 10_000, load: 3 };
const RECOVERY = { ms: 10_000, load: 0.5 };
const THROTTLE_WINDOW_MS = 5000;

/** What the backend does about overload. */
type Protection = 'none' | 'shedding' | 'fixed-limit';

type EchoClient = grpc.Client & {
  Echo(req: EchoRequest, md: grpc.Metadata, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): grpc.ClientUnaryCall;
};

interface Backend {
  address: string;
  pid: number;
  /** The backend's cumulative event-loop active and idle time, ms, as of its latest report (every 100 ms). */
  loop(): { active: number; idle: number };
  stop(): Promise<void>;
}

interface CallRecord {
  sentAt: number;
  ms: number;
  code: grpc.status;
  local: boolean;
}

interface Result {
  /** The configuration's name. */
  config: string;
  /** The row's name: the configuration's, and the round when there are several. */
  name: string;
  records: CallRecord[];
  dropAt: number;
  overloadStart: number;
  /** CPU time the backend used during the 3x phase, ms. */
  backendCpuMs: number;
  /** The backend's event-loop utilization during the 3x phase. */
  backendLoopBusy: number;
  /** CPU time the backend used in each second from the start of the warm-up, ms. */
  backendCpuBySecond: number[];
  /** Mean of the capacities measured just before and just after. */
  capacity: number;
  /** The same for calls answered per second of backend CPU time. */
  capacityPerCpuSecond: number;
}

interface Capacity {
  /** Calls answered per second. */
  perSecond: number;
  /** Calls refused with RESOURCE_EXHAUSTED, warm-up included. */
  refused: number;
  /** Calls answered per second of CPU time the backend used meanwhile. */
  perCpuSecond: number;
}

export async function run(): Promise<void> {
  printMachine();
  console.log(`backend: ${WORK_MS} ms of CPU per call in ${SLICES} slices, stops work for cancelled calls; deadline ${DEADLINE_MS} ms per call`);
  console.log(`load: open loop, ${WARMUP.load}x capacity ${WARMUP.ms / 1000} s, ${OVERLOAD.load}x ${OVERLOAD.ms / 1000} s, ${RECOVERY.load}x ${RECOVERY.ms / 1000} s; throttle K=2 unless named, window ${THROTTLE_WINDOW_MS / 1000} s`);
  console.log('capacity: closed loop, 8 callers, shedding off, measured before each configuration and once after the last (this machine is shared, so it drifts)');
  /** Name, the throttle's K (0 = no throttling), server protection. */
  const configs: Array<[string, number, Protection]> = [
    ['neither', 0, 'none'],
    ['shedding only', 0, 'shedding'],
    ['throttling only', 2, 'none'],
    ['throttling + shedding', 2, 'shedding'],
    ['throttling K=1.5 + shedding', 1.5, 'shedding'],
    ['fixed limit only (reference)', 0, 'fixed-limit'],
    ['throttling + fixed limit (reference)', 2, 'fixed-limit'],
  ];
  const only = process.env.COORD_BENCH_ONLY;
  const chosen = only ? configs.filter(([name]) => name.includes(only)) : configs;
  const rounds = Number(process.env.COORD_BENCH_ROUNDS ?? 1);
  const dog = watchdog('grpc-overload', rounds * chosen.length * 60_000 + 60_000);
  const results: Result[] = [];
  // Saturated by a closed loop is not overloaded: nothing should be shed there.
  const withShedding = await measureCapacity('shedding');
  console.log(`closed loop, 8 callers, shedding on: ${fmtInt(withShedding.perSecond)} calls/s, ${withShedding.refused} shed`);
  let capacity = await measureCapacity();
  for (let round = 1; round <= rounds; round++) {
    for (const [config, k, protection] of chosen) {
      const name = rounds > 1 ? `${config} #${round}` : config;
      console.log(`capacity ${fmtInt(capacity.perSecond)} calls/s (${fmtInt(capacity.perCpuSecond)} per CPU-second); measuring ${name}...`);
      const r = await overload(name, capacity.perSecond, k, protection);
      const after = await measureCapacity();
      results.push({ ...r, config, capacity: (capacity.perSecond + after.perSecond) / 2, capacityPerCpuSecond: (capacity.perCpuSecond + after.perCpuSecond) / 2 });
      capacity = after;
    }
  }
  dog.clear();
  print(results, rounds);
  if (process.env.COORD_BENCH_TIMELINE) for (const r of results) printTimeline(r);
}

/** Per-second outcomes by send time (COORD_BENCH_TIMELINE=1): where the time went. */
function printTimeline(r: Result): void {
  console.log(`\n${r.name}: second (0 = start of 3x) → sent / ok / rejected locally / shed / deadline exceeded; backend CPU ms`);
  const start = r.overloadStart - WARMUP.ms;
  const seconds = Math.ceil((WARMUP.ms + OVERLOAD.ms + RECOVERY.ms) / 1000);
  for (let s = 0; s < seconds; s++) {
    const xs = r.records.filter((x) => x.sentAt >= start + s * 1000 && x.sentAt < start + (s + 1) * 1000);
    const n = (pred: (x: CallRecord) => boolean) => xs.filter(pred).length;
    console.log(
      `  ${String(s - WARMUP.ms / 1000).padStart(3)}: ${xs.length} / ${n((x) => x.code === grpc.status.OK)} / ${n((x) => x.local)} / ${n((x) => x.code === grpc.status.RESOURCE_EXHAUSTED)} / ${n((x) => x.code === grpc.status.DEADLINE_EXCEEDED)}; ${fmtInt(r.backendCpuBySecond[s] ?? NaN)}`,
    );
  }
}

async function measureCapacity(protection: Protection = 'none'): Promise<Capacity> {
  const backend = await startBackend(protection);
  const c = newClient(backend.address, 0);
  try {
    let ok = 0;
    let refused = 0;
    let counting = false;
    const start = performance.now() + 500;
    const end = start + 3000;
    let cpuAtStart = NaN;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < end) {
          const r = await call(c);
          if (!counting && performance.now() >= start) {
            counting = true;
            cpuAtStart = cpuMs(backend.pid);
          }
          if (counting && r.code === grpc.status.OK) ok++;
          if (r.code === grpc.status.RESOURCE_EXHAUSTED) refused++;
        }
      }),
    );
    const cpu = cpuMs(backend.pid) - cpuAtStart;
    return { perSecond: ok / ((performance.now() - start) / 1000), refused, perCpuSecond: ok / (cpu / 1000) };
  } finally {
    c.close();
    await backend.stop();
  }
}

async function overload(name: string, capacity: number, k: number, protection: Protection): Promise<Omit<Result, 'config' | 'capacity' | 'capacityPerCpuSecond'>> {
  const backend = await startBackend(protection);
  const c = newClient(backend.address, k);
  try {
    const records: CallRecord[] = [];
    const inFlight = new Set<Promise<void>>();
    const t0 = performance.now();
    const phases = [WARMUP, OVERLOAD, RECOVERY];
    let phaseStart = t0;
    let overloadStart = NaN;
    let dropAt = NaN;
    let backendCpuMs = NaN;
    let loopAtStart = backend.loop();
    let backendLoopBusy = NaN;
    const cpuMarks = [cpuMs(backend.pid)];
    for (const phase of phases) {
      if (phase === OVERLOAD) {
        overloadStart = phaseStart;
        backendCpuMs = -cpuMs(backend.pid);
        loopAtStart = backend.loop();
      }
      if (phase === RECOVERY) {
        dropAt = phaseStart;
        backendCpuMs += cpuMs(backend.pid);
        const loop = backend.loop();
        const active = loop.active - loopAtStart.active;
        backendLoopBusy = active / (active + loop.idle - loopAtStart.idle);
      }
      const rate = phase.load * capacity;
      let sent = 0;
      // Open loop: calls go out on schedule whether or not earlier ones came back.
      while (performance.now() < phaseStart + phase.ms) {
        if (performance.now() >= t0 + cpuMarks.length * 1000) cpuMarks.push(cpuMs(backend.pid));
        const due = Math.floor(((performance.now() - phaseStart) * rate) / 1000);
        for (; sent < due; sent++) {
          const p = call(c).then((r) => void records.push(r));
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
        }
        await sleep(2);
      }
      phaseStart += phase.ms;
    }
    await Promise.all(inFlight);
    const backendCpuBySecond = cpuMarks.slice(1).map((cpu, i) => cpu - cpuMarks[i]);
    return { name, records, dropAt, overloadStart, backendCpuMs, backendLoopBusy, backendCpuBySecond };
  } finally {
    c.close();
    await backend.stop();
  }
}

/** A client with coord's interceptors; adaptive throttling with factor `k`, none for 0. */
function newClient(address: string, k: number): EchoClient {
  const interceptors = clientInterceptors({ throttle: k > 0 ? new AdaptiveThrottle({ k, windowMs: THROTTLE_WINDOW_MS }) : false });
  return new (echoService().Client)(address, grpc.credentials.createInsecure(), { interceptors }) as unknown as EchoClient;
}

function call(c: EchoClient): Promise<CallRecord> {
  const sentAt = performance.now();
  return new Promise((resolve) =>
    c.Echo({ message: 'x' }, new grpc.Metadata(), { deadline: Date.now() + DEADLINE_MS }, (e) =>
      resolve({ sentAt, ms: performance.now() - sentAt, code: e ? e.code : grpc.status.OK, local: !!e && /adaptive throttling/.test(e.details) }),
    ),
  );
}

interface Figures {
  /** Calls answered OK per second during the 3x phase (by send time), as a multiple of the capacity. */
  goodput: number;
  /** The same over the last half of the phase. */
  lastHalf: number;
  /** Calls answered OK per second of backend CPU time, as a multiple of the same in the capacity runs. */
  perCpuSecond: number;
  /** From the drop to 0.5x until the last call rejected locally / that failed at all was sent, ms (0: none). */
  lastLocalRejection: number;
  lastFailure: number;
}

function figures(r: Result): Figures {
  const inOverload = r.records.filter((x) => x.sentAt >= r.overloadStart && x.sentAt < r.dropAt);
  const ok = (xs: CallRecord[]) => xs.filter((x) => x.code === grpc.status.OK).length;
  // Calls answered OK during the 3x phase (by completion), over the CPU the backend used meanwhile.
  const okDuring = r.records.filter((x) => x.code === grpc.status.OK && x.sentAt + x.ms >= r.overloadStart && x.sentAt + x.ms < r.dropAt).length;
  const afterDrop = r.records.filter((x) => x.sentAt >= r.dropAt);
  const last = (failed: (x: CallRecord) => boolean) => Math.max(0, ...afterDrop.filter(failed).map((x) => x.sentAt - r.dropAt));
  return {
    goodput: ok(inOverload) / (OVERLOAD.ms / 1000) / r.capacity,
    lastHalf: ok(inOverload.filter((x) => x.sentAt >= r.overloadStart + OVERLOAD.ms / 2)) / (OVERLOAD.ms / 2000) / r.capacity,
    perCpuSecond: okDuring / (r.backendCpuMs / 1000) / r.capacityPerCpuSecond,
    lastLocalRejection: last((x) => x.local),
    lastFailure: last((x) => x.code !== grpc.status.OK),
  };
}

const fmtX = (n: number) => `${n.toFixed(2)}x`;
const fmtRecovery = (ms: number) => (ms < RECOVERY.ms - 1000 ? `${fmtInt(ms)} ms (${(ms / THROTTLE_WINDOW_MS).toFixed(2)})` : `> ${(RECOVERY.ms - 1000) / 1000} s`);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function print(results: Result[], rounds: number): void {
  const rows = results.map((r) => {
    const f = figures(r);
    const inOverload = r.records.filter((x) => x.sentAt >= r.overloadStart && x.sentAt < r.dropAt);
    const share = (pred: (x: CallRecord) => boolean) => `${((100 * inOverload.filter(pred).length) / inOverload.length).toFixed(1)}%`;
    const okLatency = Float64Array.from(inOverload.filter((x) => x.code === grpc.status.OK).map((x) => x.ms)).sort();
    return [
      r.name,
      fmtInt(r.capacity),
      fmtX(f.goodput),
      fmtX(f.lastHalf),
      fmtX(inOverload.filter((x) => !x.local).length / (OVERLOAD.ms / 1000) / r.capacity),
      fmtX(f.perCpuSecond),
      `${(100 * r.backendLoopBusy).toFixed(0)}%`,
      fmtMs(percentile(okLatency, 50)),
      fmtMs(percentile(okLatency, 99)),
      share((x) => x.local),
      share((x) => x.code === grpc.status.RESOURCE_EXHAUSTED),
      share((x) => x.code === grpc.status.DEADLINE_EXCEEDED),
      fmtRecovery(f.lastLocalRejection),
      fmtRecovery(f.lastFailure),
    ];
  });
  console.log();
  printTable(
    ['client throttling / server protection', 'capacity /s', 'goodput at 3x', 'last 5 s', 'sent to backend', 'goodput per CPU-s', 'backend loop busy', 'p50 ms', 'p99 ms', 'rejected locally', 'shed', 'deadline exceeded', 'last local rejection (÷ window)', 'last failure (÷ window)'],
    rows,
  );
  console.log(`\ngoodput, sent to backend and shares are over calls sent during the ${OVERLOAD.ms / 1000} s at 3x, goodput and load as multiples of the capacity measured around that row; latencies are of calls answered OK.`);
  console.log('goodput per CPU-s: calls answered OK per second of backend CPU time during the 3x phase, as a multiple of the same in the capacity runs around that row: goodput with the CPU the backend actually got (this machine is shared, and the load generator itself takes more CPU at 3x than while measuring capacity).');
  console.log('backend loop busy: the backend\'s event-loop utilization during the 3x phase; below 100% the server idled while calls were waiting.');
  console.log(`after the drop to 0.5x: when the last call rejected locally (the throttle's recovery) and the last call that failed at all were sent, in ms and in throttling windows.`);
  const configs = [...new Set(results.map((r) => r.config))];
  if (rounds > 1) {
    console.log(`\nmedians over ${rounds} rounds:`);
    printTable(
      ['client throttling / server protection', 'goodput at 3x', 'last 5 s', 'goodput per CPU-s', 'last local rejection (÷ window)', 'last failure (÷ window)'],
      configs.map((config) => {
        const fs = results.filter((r) => r.config === config).map(figures);
        const m = (pick: (f: Figures) => number) => median(fs.map(pick));
        return [config, fmtX(m((f) => f.goodput)), fmtX(m((f) => f.lastHalf)), fmtX(m((f) => f.perCpuSecond)), fmtRecovery(m((f) => f.lastLocalRejection)), fmtRecovery(m((f) => f.lastFailure))];
      }),
    );
  }
  const goal = results.filter((r) => r.config === 'throttling + shedding').map(figures);
  if (goal.length > 0) {
    const goodput = median(goal.map((f) => f.goodput));
    const perCpu = median(goal.map((f) => f.perCpuSecond));
    const recovery = median(goal.map((f) => f.lastLocalRejection));
    const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
    console.log(
      `\ngoal (throttling + shedding${rounds > 1 ? `, medians of ${rounds}` : ''}): goodput >= 0.90x of capacity: ${fmtX(goodput)} ${verdict(goodput >= 0.9)} (per CPU-s ${fmtX(perCpu)} ${verdict(perCpu >= 0.9)}); full traffic within one throttling window (${THROTTLE_WINDOW_MS / 1000} s) after the drop: last local rejection ${fmtRecovery(recovery)} ${verdict(recovery <= THROTTLE_WINDOW_MS)}`,
    );
  }
}

// ---- backend process ----

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function startBackend(protection: Protection): Promise<Backend> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    cwd: ROOT,
    env: { ...process.env, COORD_BENCH_OVERLOAD_BACKEND: protection },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid!;
  running.add(pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('overload backend exited');
    return value as string;
  };
  const address = (await nextLine()).replace(/^listening /, '');
  let loop = { active: 0, idle: 0 };
  void (async () => {
    for (let r = await lines.next(); !r.done; r = await lines.next()) {
      const [what, active, idle] = (r.value as string).split(' ');
      if (what === 'loop') loop = { active: Number(active), idle: Number(idle) };
    }
  })();
  return {
    address,
    pid,
    loop: () => loop,
    async stop() {
      child.kill('SIGKILL');
      await exited;
      running.delete(pid);
    },
  };
}

/** Burns `ms` of this process's CPU time (not wall time: a backend starved by other processes does as much work per call). */
function spin(ms: number): void {
  const used = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const until = used() + ms;
  while (used() < until);
}

async function backendMain(protection: Protection): Promise<void> {
  let inHandler = 0;
  const server = await serve({
    name: 'overload-backend',
    services: [
      [
        echoService().service,
        {
          async Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
            if (protection === 'fixed-limit' && inHandler >= FIXED_LIMIT) return cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'over the fixed limit' });
            inHandler++;
            try {
              for (let i = 0; i < SLICES; i++) {
                spin(WORK_MS / SLICES);
                await nextTurn();
                if (call.cancelled) return;
              }
              cb(null, { message: call.request.message ?? '', server_id: 'backend' });
            } finally {
              inHandler--;
            }
          },
        },
      ],
    ],
    shedding: protection === 'shedding' && (process.env.COORD_BENCH_SHEDDING ? (JSON.parse(process.env.COORD_BENCH_SHEDDING) as LoadShedderOptions) : true),
    health: false,
    reflection: false,
    signals: false,
    log: () => {},
  });
  console.log(`listening ${server.address}`);
  setInterval(() => {
    const { active, idle } = performance.eventLoopUtilization();
    console.log(`loop ${active} ${idle}`);
  }, 100).unref();
  if (process.env.COORD_BENCH_TRACE && protection === 'shedding') {
    const t0 = performance.now();
    setInterval(() => {
      const s = server.stats().shedder!;
      console.error(
        `trace ${((performance.now() - t0) / 1000).toFixed(2)} load=${s.load.toFixed(2)} delay=${s.delayMs.toFixed(1)} lag=${s.lagMs.toFixed(0)} inFlight=${s.inFlight} max=${s.maxInFlight.toFixed(1)} pass=${s.maxPassPerSecond.toFixed(0)} minRt=${s.minRtMs.toFixed(1)} hot=${s.hot} shed=${s.shed} done=${s.completed}`,
      );
    }, 250).unref();
  }
}

const role = process.env.COORD_BENCH_OVERLOAD_BACKEND as Protection | undefined;
if (role) await backendMain(role);
