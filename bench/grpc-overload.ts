// Overload at 3x capacity (issue 4, benchmark 4). One backend in its own process whose handler
// does 4 ms of CPU work in slices (so concurrent calls share the core, as a Node service with
// awaits does) and stops when its caller gives up. Its capacity is measured in the same run,
// around each row. Then, for each combination of client-side adaptive throttling and server-side
// protection, a fresh backend gets an open-loop load: 0.5x capacity (warm-up), 3x for 10 s, then
// 0.5x again for 10 s. Every call has a 1 s deadline. Server-side protection is coord's adaptive
// load shedder (serve()'s default), or, as a reference tuned for this workload, a fixed limit of
// 8 calls in the handler (RESOURCE_EXHAUSTED past it), which needs the capacity known in
// advance — the thing adaptive shedding exists to avoid.
//   goodput     = calls answered OK per second, as a fraction of the measured capacity, and the
//                 share of the backend's CPU time that went into them;
//   recovery    = from the drop back to 0.5x until the last call rejected locally (the throttle)
//                 and the last call that failed at all.
// COORD_BENCH_TIMELINE=1 adds per-second outcomes for each row.
// The same file is the backend when run with COORD_BENCH_OVERLOAD_BACKEND set.
import { spawn } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { clientInterceptors } from '../src/grpc/client-interceptors.ts';
import { serve } from '../src/grpc/serve.ts';
import { AdaptiveThrottle } from '../src/resilience/adaptive-throttle.ts';
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
  stop(): Promise<void>;
}

interface CallRecord {
  sentAt: number;
  ms: number;
  code: grpc.status;
  local: boolean;
}

interface Result {
  name: string;
  records: CallRecord[];
  dropAt: number;
  overloadStart: number;
  /** CPU time the backend used during the 3x phase, ms. */
  backendCpuMs: number;
  /** Mean of the capacities measured just before and just after. */
  capacity: number;
}

export async function run(): Promise<void> {
  const dog = watchdog('grpc-overload', 10 * 60_000);
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
  const results: Result[] = [];
  let capacity = await measureCapacity();
  for (const [name, k, protection] of configs) {
    console.log(`capacity ${fmtInt(capacity)} calls/s; measuring ${name}...`);
    const r = await overload(name, capacity, k, protection);
    const after = await measureCapacity();
    results.push({ ...r, capacity: (capacity + after) / 2 });
    capacity = after;
  }
  dog.clear();
  print(results);
  if (process.env.COORD_BENCH_TIMELINE) for (const r of results) printTimeline(r);
}

/** Per-second outcomes by send time (COORD_BENCH_TIMELINE=1): where the time went. */
function printTimeline(r: Result): void {
  console.log(`\n${r.name}: second (0 = start of 3x) → sent / ok / rejected locally / shed / deadline exceeded`);
  const start = r.overloadStart - WARMUP.ms;
  const seconds = Math.ceil((WARMUP.ms + OVERLOAD.ms + RECOVERY.ms) / 1000);
  for (let s = 0; s < seconds; s++) {
    const xs = r.records.filter((x) => x.sentAt >= start + s * 1000 && x.sentAt < start + (s + 1) * 1000);
    const n = (pred: (x: CallRecord) => boolean) => xs.filter(pred).length;
    console.log(
      `  ${String(s - WARMUP.ms / 1000).padStart(3)}: ${xs.length} / ${n((x) => x.code === grpc.status.OK)} / ${n((x) => x.local)} / ${n((x) => x.code === grpc.status.RESOURCE_EXHAUSTED)} / ${n((x) => x.code === grpc.status.DEADLINE_EXCEEDED)}`,
    );
  }
}

async function measureCapacity(): Promise<number> {
  const backend = await startBackend('none');
  const c = newClient(backend.address, 0);
  try {
    let ok = 0;
    let counting = false;
    const start = performance.now() + 500;
    const end = start + 3000;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < end) {
          const r = await call(c);
          if (!counting && performance.now() >= start) counting = true;
          if (counting && r.code === grpc.status.OK) ok++;
        }
      }),
    );
    return ok / 3;
  } finally {
    c.close();
    await backend.stop();
  }
}

async function overload(name: string, capacity: number, k: number, protection: Protection): Promise<Omit<Result, 'capacity'>> {
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
    for (const phase of phases) {
      if (phase === OVERLOAD) {
        overloadStart = phaseStart;
        backendCpuMs = -cpuMs(backend.pid);
      }
      if (phase === RECOVERY) {
        dropAt = phaseStart;
        backendCpuMs += cpuMs(backend.pid);
      }
      const rate = phase.load * capacity;
      let sent = 0;
      // Open loop: calls go out on schedule whether or not earlier ones came back.
      while (performance.now() < phaseStart + phase.ms) {
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
    return { name, records, dropAt, overloadStart, backendCpuMs };
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

function print(results: Result[]): void {
  const rows = results.map((r) => {
    const inOverload = r.records.filter((x) => x.sentAt >= r.overloadStart && x.sentAt < r.dropAt);
    const lastHalf = inOverload.filter((x) => x.sentAt >= r.overloadStart + OVERLOAD.ms / 2);
    const perCapacity = (n: number, ms: number) => `${(n / (ms / 1000) / r.capacity).toFixed(2)}x`;
    const ok = (xs: CallRecord[]) => xs.filter((x) => x.code === grpc.status.OK).length;
    const share = (pred: (x: CallRecord) => boolean) => `${((100 * inOverload.filter(pred).length) / inOverload.length).toFixed(1)}%`;
    const okLatency = Float64Array.from(inOverload.filter((x) => x.code === grpc.status.OK).map((x) => x.ms)).sort();
    // Calls answered OK during the 3x phase (by completion), each WORK_MS of CPU, over the CPU the backend used meanwhile.
    const okDuring = r.records.filter((x) => x.code === grpc.status.OK && x.sentAt + x.ms >= r.overloadStart && x.sentAt + x.ms < r.dropAt).length;
    const usefulCpu = (okDuring * WORK_MS) / r.backendCpuMs;
    const afterDrop = r.records.filter((x) => x.sentAt >= r.dropAt);
    const recovery = (failed: (x: CallRecord) => boolean) => {
      const last = Math.max(0, ...afterDrop.filter(failed).map((x) => x.sentAt - r.dropAt));
      return last < RECOVERY.ms - 1000 ? `${fmtInt(last)} ms (${(last / THROTTLE_WINDOW_MS).toFixed(2)})` : `> ${(RECOVERY.ms - 1000) / 1000} s`;
    };
    return [
      r.name,
      fmtInt(r.capacity),
      perCapacity(ok(inOverload), OVERLOAD.ms),
      perCapacity(ok(lastHalf), OVERLOAD.ms / 2),
      perCapacity(inOverload.filter((x) => !x.local).length, OVERLOAD.ms),
      `${(100 * usefulCpu).toFixed(0)}%`,
      fmtMs(percentile(okLatency, 50)),
      fmtMs(percentile(okLatency, 99)),
      share((x) => x.local),
      share((x) => x.code === grpc.status.RESOURCE_EXHAUSTED),
      share((x) => x.code === grpc.status.DEADLINE_EXCEEDED),
      recovery((x) => x.local),
      recovery((x) => x.code !== grpc.status.OK),
    ];
  });
  console.log();
  printTable(
    ['client throttling / server protection', 'capacity /s', 'goodput at 3x', 'last 5 s', 'sent to backend', 'backend CPU on OK calls', 'p50 ms', 'p99 ms', 'rejected locally', 'shed', 'deadline exceeded', 'last local rejection (÷ window)', 'last failure (÷ window)'],
    rows,
  );
  console.log(`\ngoodput, sent to backend and shares are over calls sent during the ${OVERLOAD.ms / 1000} s at 3x, goodput and load as multiples of the capacity measured around that row; latencies are of calls answered OK.`);
  console.log(`backend CPU on OK calls: the share of the CPU time the backend used during the 3x phase that went into calls answered OK (${WORK_MS} ms each) — goodput as a share of what the backend could do with the CPU it got, which on a shared machine is steadier than calls/s.`);
  console.log(`after the drop to 0.5x: when the last call rejected locally (the throttle's recovery) and the last call that failed at all were sent, in ms and in throttling windows.`);
  console.log(`goals: goodput >= 0.90x with throttling + shedding; recovery within one throttling window (${THROTTLE_WINDOW_MS / 1000} s).`);
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
  return {
    address,
    pid,
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
    shedding: protection === 'shedding',
    health: false,
    reflection: false,
    signals: false,
    log: () => {},
  });
  console.log(`listening ${server.address}`);
}

const role = process.env.COORD_BENCH_OVERLOAD_BACKEND as Protection | undefined;
if (role) await backendMain(role);
