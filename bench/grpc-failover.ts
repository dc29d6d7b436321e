// Failover (issue 4, benchmark 3). Five Echo servers, each its own process started with serve()
// (test/fixtures/echo-service.ts: health, registry, load shedding, drain delay 1 s, lease TTL
// 10 s), take an open-loop load of 1,000 calls/s with a 1 s deadline per call, and the bench
// counts every call that fails while
//   A. one server is killed with SIGKILL. It stays in the registry until its lease expires, so the
//      client has to stop picking it by itself (the connection drops and cannot be re-opened);
//   B. all five are replaced one by one through graceful shutdown (SIGTERM: serve() marks the
//      instance draining and NOT_SERVING, keeps serving for the drain delay, finishes in-flight
//      calls, deregisters), each replacement started before the next old server is stopped.
// Each client runs the whole sequence against its own fresh servers, one client after another.
// The baseline is plain grpc-js round_robin over a static `ipv4:` list of the five addresses. It
// cannot learn new addresses, so its servers are restarted in place (stopped, then started again
// on the same port): what a static list forces on a deployment.
// Both kinds run once without retries and once with a retry policy for UNAVAILABLE on Echo (which
// is idempotent): a setting the user makes, since coord cannot know which methods are safe to retry.
// Successful calls are attributed to servers by the reply's server_id, failed ones by the peer
// address grpc-js reports. COORD_BENCH_CLIENTS=2,0 runs only those clients, in that order; COORD_BENCH_TIMELINE=1
// adds per-second outcomes per server.
import * as grpc from '@grpc/grpc-js';
import { serviceConfig } from '../src/grpc/service-config.ts';
import { setup } from '../src/grpc/setup.ts';
import { connect, type Coord } from '../src/index.ts';
import { methodPolicies } from '../src/resilience/retry-policy.ts';
import { startEchoService, stopAllEchoServices, type EchoServiceProcess } from '../test/fixtures/echo-service-process.ts';
import { echoService, type EchoReply, type EchoRequest } from '../test/helpers/echo.ts';
import { fmtInt, printMachine, ratio, watchdog } from './lib/backends.ts';
import { startCoordStore } from './lib/coord-process.ts';
import { printTable, sleep } from './lib/harness.ts';
import { startOpenLoop } from './lib/open-loop.ts';
import { busyShare, machineCpu, startStallMonitor, type StallMonitor } from './lib/stall-monitor.ts';

const INSTANCES = 5;
const RATE = 1000;
const DEADLINE_MS = 1000;
const WARMUP_MS = 2000;
const STEADY_MS = 3000;
/** A lasts this long after the kill, and at least 1 s past the registry dropping the killed server. */
const AFTER_KILL_MS = 12_000;
const AFTER_KILL_MAX_MS = 20_000;
/** Between A and B: the killed server's replacement settles in. */
const SETTLE_MS = 2000;
const TAIL_MS = 2000;
const TTL_S = 10;
const ECHO_METHOD = 'coord.test.Echo/Echo';
/** A stall of the bench process this long is called out beside the verdicts. */
const STALL_WARNING_MS = 500;

type EchoClient = grpc.Client & {
  Echo(req: EchoRequest, md: grpc.Metadata, options: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): grpc.ClientUnaryCall;
};

interface Contender {
  name: string;
  /** coord: `etcd:///<svc>`, replacements on new ports. static: `ipv4:` list, restarts in place. */
  kind: 'coord' | 'static';
  retry: boolean;
  options: grpc.ChannelOptions;
}

interface CallRecord {
  /** When the call was started, ms on the performance clock. */
  at: number;
  code: grpc.status;
  details: string;
  /** The reply's server_id ('' for a failed call). */
  serverId: string;
  /** host:port the call went to (the channel target if it was never sent). */
  peer: string;
}

interface Stop {
  id: string;
  address: string;
  sigtermAt: number;
  exitedAt: number;
}

interface Window {
  start: number;
  end: number;
}

interface Result {
  c: Contender;
  records: CallRecord[];
  warmupServers: number;
  a: Window & { kill: number; victimId: string; victimAddress: string; registryDropAt: number };
  b: Window & { stops: Stop[]; unclean: string[] };
  /** Share of the machine's CPU busy over the run (all processes, ours and others'). */
  machineBusy: number;
}

function contenders(): Contender[] {
  const retry = methodPolicies({ [ECHO_METHOD]: { retry: { maxAttempts: 3 } } });
  const rr = { loadBalancingConfig: [{ round_robin: {} }] };
  return [
    { name: 'etcd:/// p2c_ewma (coord default)', kind: 'coord', retry: false, options: {} },
    { name: 'etcd:/// p2c_ewma + retry UNAVAILABLE', kind: 'coord', retry: true, options: { 'grpc.service_config': serviceConfig({ ...retry }) } },
    { name: 'round_robin, static ipv4: list', kind: 'static', retry: false, options: { 'grpc.service_config': JSON.stringify(rr) } },
    { name: 'round_robin, static + retry UNAVAILABLE', kind: 'static', retry: true, options: { 'grpc.service_config': JSON.stringify({ ...rr, ...retry }) } },
  ];
}

export async function run(): Promise<void> {
  const dog = watchdog('grpc-failover', 15 * 60_000);
  printMachine();
  const store = await startCoordStore();
  const coord = connect({ endpoints: store.endpoint });
  const balancerLog: string[] = [];
  setup({ coord, log: (line) => balancerLog.push(line) });
  const stalls = startStallMonitor();
  console.log(
    `coord store (process) at ${store.endpoint}; per client ${INSTANCES} Echo server processes (serve() defaults: shedding on, drain delay 1 s; TTL ${TTL_S} s);` +
      ` ${RATE} calls/s open loop, deadline ${DEADLINE_MS} ms; ${WARMUP_MS / 1000} s warm-up,` +
      ` A: kill -9 one after ${STEADY_MS / 1000} s, then ≥ ${AFTER_KILL_MS / 1000} s; ${SETTLE_MS / 1000} s with its replacement; B: rolling restart of all ${INSTANCES}, then ${TAIL_MS / 1000} s`,
  );
  const all = contenders();
  const order = process.env.COORD_BENCH_CLIENTS?.split(',').map(Number) ?? all.map((_, i) => i);
  const results: Result[] = [];
  try {
    for (const i of order) {
      const c = all[i];
      if (!c) throw new Error(`COORD_BENCH_CLIENTS: no client ${i} (0..${all.length - 1})`);
      console.log(`running ${c.name}...`);
      results.push(await scenario(c, `failover${i}`, coord, store.endpoint));
      await stopAllEchoServices();
    }
  } finally {
    stalls.stop();
    await stopAllEchoServices();
    await coord.close();
    await store.stop();
    dog.clear();
  }
  report(results, stalls);
  if (process.env.COORD_BENCH_TIMELINE) for (const r of results) timeline(r);
  if (balancerLog.length) console.log(`\ncoord balancer log (${balancerLog.length} lines, first 5):\n  ${balancerLog.slice(0, 5).join('\n  ')}`);
}

async function scenario(c: Contender, svc: string, coord: Coord, storeEndpoint: string): Promise<Result> {
  const start = (slot: number, gen: number, port?: number) =>
    startEchoService({
      name: svc,
      id: `${svc}-${slot}.${gen}`,
      ...(c.kind === 'coord' ? { endpoints: [storeEndpoint] } : {}),
      ...(port === undefined ? {} : { port }),
      args: ['--ttl', String(TTL_S)],
    });
  const servers: EchoServiceProcess[] = await Promise.all(Array.from({ length: INSTANCES }, (_, slot) => start(slot, 0)));
  const generation = servers.map(() => 0);
  const target = c.kind === 'coord' ? `etcd:///${svc}` : `ipv4:${servers.map((s) => s.address).join(',')}`;
  const client = new (echoService().Client)(target, grpc.credentials.createInsecure(), c.options) as unknown as EchoClient;
  const discovery = c.kind === 'coord' ? coord.discover(svc) : undefined;
  const records: CallRecord[] = [];
  const cpu0 = machineCpu();
  const load = startOpenLoop(
    RATE,
    () =>
      new Promise<void>((resolve) => {
        const at = performance.now();
        const call = client.Echo({ message: 'x' }, new grpc.Metadata(), { deadline: Date.now() + DEADLINE_MS }, (e, r) => {
          records.push({ at, code: e ? e.code : grpc.status.OK, details: e?.details ?? '', serverId: r?.server_id ?? '', peer: call.getPeer() });
          resolve();
        });
      }),
  );
  try {
    await sleep(WARMUP_MS);
    const warmupServers = new Set(records.map((r) => r.serverId).filter(Boolean)).size;

    // A: kill -9 one server; the registry keeps listing it until its lease expires.
    const aStart = performance.now();
    await sleep(STEADY_MS);
    const victim = servers[0];
    let kill = NaN;
    let registryDropAt = NaN;
    const dropped = new Promise<void>((resolve) => {
      discovery?.onChange((snap) => {
        if (Number.isNaN(registryDropAt) && !Number.isNaN(kill) && !snap.instances.some((i) => i.id === victim.id)) {
          registryDropAt = performance.now();
          resolve();
        }
      });
    });
    kill = performance.now();
    await victim.kill('SIGKILL');
    await sleep(AFTER_KILL_MS);
    if (discovery) {
      const deadline = sleep(kill + AFTER_KILL_MAX_MS - performance.now());
      await Promise.race([dropped.then(() => sleep(registryDropAt + 1000 - performance.now())), deadline]);
    }
    const aEnd = performance.now();
    servers[0] = await start(0, ++generation[0], c.kind === 'static' ? victim.port : undefined);
    await sleep(SETTLE_MS);

    // B: rolling restart through graceful shutdown.
    const bStart = performance.now();
    const stops: Stop[] = [];
    const unclean: string[] = [];
    const stop = async (old: EchoServiceProcess) => {
      const sigtermAt = performance.now();
      const exit = await old.kill('SIGTERM');
      stops.push({ id: old.id, address: old.address, sigtermAt, exitedAt: performance.now() });
      if (exit.code !== 0) unclean.push(`${old.id} exited ${exit.code ?? exit.signal}`);
    };
    for (let slot = 0; slot < INSTANCES; slot++) {
      const old = servers[slot];
      if (c.kind === 'coord') {
        servers[slot] = await start(slot, ++generation[slot]);
        await stop(old);
      } else {
        await stop(old);
        servers[slot] = await start(slot, ++generation[slot], old.port);
      }
    }
    await sleep(TAIL_MS);
    const bEnd = performance.now();
    await load.stop();
    return {
      c,
      records,
      warmupServers,
      a: { start: aStart, end: aEnd, kill, victimId: victim.id, victimAddress: victim.address, registryDropAt },
      b: { start: bStart, end: bEnd, stops, unclean },
      machineBusy: busyShare(cpu0, machineCpu()),
    };
  } finally {
    await load.stop();
    client.close();
    discovery?.close();
  }
}

interface PhaseStats {
  calls: number;
  failed: number;
  rate: number;
  byCode: string;
}

function phaseStats(records: CallRecord[], w: Window): PhaseStats {
  const inPhase = records.filter((r) => r.at >= w.start && r.at < w.end);
  const codes = new Map<string, number>();
  for (const r of inPhase) if (r.code !== grpc.status.OK) codes.set(grpc.status[r.code], (codes.get(grpc.status[r.code]) ?? 0) + 1);
  const failed = inPhase.filter((r) => r.code !== grpc.status.OK).length;
  return {
    calls: inPhase.length,
    failed,
    rate: inPhase.length ? failed / inPhase.length : NaN,
    byCode: [...codes].map(([code, n]) => `${code} ${n}`).join(', ') || '-',
  };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(3)}%` : '-');
const ms = (n: number) => (Number.isFinite(n) ? fmtInt(n) : '-');

/** Failure rate against the baseline's: '-' when the baseline had none (and this one had some). */
function vs(x: PhaseStats, base: PhaseStats | undefined): string {
  if (!base) return '-';
  if (base.failed === 0) return x.failed === 0 ? 'both 0' : '-';
  return ratio(x.rate, base.rate);
}

function report(results: Result[], stalls: StallMonitor): void {
  const rowsA: string[][] = [];
  const rowsB: string[][] = [];
  const notes: string[] = [];
  for (const r of results) {
    const base = results.find((x) => x.c.kind === 'static' && x.c.retry === r.c.retry);
    const a = phaseStats(r.records, r.a);
    const b = phaseStats(r.records, r.b);
    const toVictim = r.records.filter((x) => x.at >= r.a.kill && x.at < r.a.end && (x.serverId === r.a.victimId || x.peer === r.a.victimAddress));
    const lastToVictim = Math.max(-Infinity, ...toVictim.map((x) => x.at - r.a.kill));
    const after1s = toVictim.filter((x) => x.at - r.a.kill > 1000).length;
    rowsA.push([
      r.c.name,
      fmtInt(a.calls),
      fmtInt(a.failed),
      pct(a.rate),
      base ? vs(a, phaseStats(base.records, base.a)) : '-',
      a.byCode,
      fmtInt(toVictim.length),
      ms(lastToVictim),
      fmtInt(after1s),
      r.c.kind === 'coord' ? `${((r.a.registryDropAt - r.a.kill) / 1000).toFixed(1)} s` : 'never',
      ms(stalls.maxStallMs(r.a.start, r.a.end)),
    ]);

    // New calls a stopping server still got after its SIGTERM: answered by it, or failed on its
    // address before it exited.
    const lastToStopping = Math.max(
      -Infinity,
      ...r.b.stops.flatMap((s) =>
        r.records
          .filter((x) => x.at >= s.sigtermAt && (x.serverId === s.id || (x.peer === s.address && x.code !== grpc.status.OK && x.at < s.exitedAt)))
          .map((x) => x.at - s.sigtermAt),
      ),
    );
    const shutdownMs = r.b.stops.map((s) => s.exitedAt - s.sigtermAt);
    rowsB.push([
      r.c.name,
      fmtInt(b.calls),
      fmtInt(b.failed),
      pct(b.rate),
      base ? vs(b, phaseStats(base.records, base.b)) : '-',
      b.byCode,
      ms(lastToStopping),
      `${ms(Math.min(...shutdownMs))}-${ms(Math.max(...shutdownMs))}`,
      ms(stalls.maxStallMs(r.b.start, r.b.end)),
    ]);

    const all = phaseStats(r.records, { start: -Infinity, end: Infinity });
    const okA = a.rate <= 0.001 && after1s === 0;
    const stalled = Math.max(stalls.maxStallMs(r.a.start, r.a.end), stalls.maxStallMs(r.b.start, r.b.end));
    notes.push(
      `${r.c.name}: A ${pct(a.rate)} failed, ${after1s} calls to the killed server after 1 s (goal ≤ 0.1%, 0) ${okA ? 'met' : 'NOT met'};` +
        ` B ${b.failed} failed (goal 0) ${b.failed === 0 ? 'met' : 'NOT met'}. Whole run ${fmtInt(all.calls)} calls, ${fmtInt(all.failed)} failed;` +
        ` warm-up reached ${r.warmupServers}/${INSTANCES} servers; machine CPU ${Math.round(r.machineBusy * 100)}% busy` +
        (r.b.unclean.length ? `; unclean exits: ${r.b.unclean.join(', ')}` : '') +
        (stalled >= STALL_WARNING_MS ? `. This process stalled for ${fmtInt(stalled)} ms: calls it started then waited, so the machine, not failover, decided part of this run` : ''),
    );
    const firstByCode = new Map<grpc.status, CallRecord>();
    for (const x of r.records) if (x.code !== grpc.status.OK && !firstByCode.has(x.code)) firstByCode.set(x.code, x);
    for (const x of firstByCode.values()) notes.push(`  e.g. ${grpc.status[x.code]} ${JSON.stringify(x.details)} (peer ${x.peer})`);
  }
  console.log(`\nA. kill -9 one of ${INSTANCES} servers (${STEADY_MS / 1000} s before the kill to ≥ ${AFTER_KILL_MS / 1000} s after)`);
  printTable(
    ['client', 'calls', 'failed', 'failed %', 'failed % vs RR', 'failures by code', 'calls to killed after kill', 'last one, ms after kill', 'after 1 s', 'registry dropped it', 'bench stall ms'],
    rowsA,
  );
  console.log(`\nB. rolling restart of all ${INSTANCES} through SIGTERM (coord: replacement first, on a new port; static list: in place, same port), then ${TAIL_MS / 1000} s`);
  printTable(
    ['client', 'calls', 'failed', 'failed %', 'failed % vs RR', 'failures by code', 'last new call to a stopping server, ms after SIGTERM', 'SIGTERM to exit ms', 'bench stall ms'],
    rowsB,
  );
  console.log('(failed % vs RR: against round_robin with the same retry setting; bench stall: the longest event-loop stall of this process, which delays the calls it starts)\n');
  for (const n of notes) console.log(n);
}

/** Per second: calls, failures by code, and calls per server (COORD_BENCH_TIMELINE=1). */
function timeline(r: Result): void {
  const t0 = r.records.reduce((m, x) => Math.min(m, x.at), Infinity);
  const rel = (t: number) => fmtInt(t - t0);
  console.log(
    `\ntimeline of ${r.c.name} (ms): A ${rel(r.a.start)}-${rel(r.a.end)}, kill at ${rel(r.a.kill)}; B ${rel(r.b.start)}-${rel(r.b.end)};` +
      ` SIGTERM→exit ${r.b.stops.map((s) => `${s.id} ${rel(s.sigtermAt)}-${rel(s.exitedAt)}`).join(', ')}`,
  );
  const ids = new Map<string, Set<string>>();
  for (const x of r.records) if (x.serverId) ids.set(x.peer, (ids.get(x.peer) ?? new Set()).add(x.serverId));
  console.log(`servers: ${[...ids].map(([peer, set]) => `${peer}=${[...set].join('+')}`).join(' ')}`);
  const seconds = new Map<number, CallRecord[]>();
  for (const x of r.records) {
    const s = Math.floor((x.at - t0) / 1000);
    seconds.set(s, [...(seconds.get(s) ?? []), x]);
  }
  for (const [s, xs] of [...seconds].sort((p, q) => p[0] - q[0])) {
    const perPeer = new Map<string, { ok: number; failed: number }>();
    for (const x of xs) {
      const n = perPeer.get(x.peer) ?? { ok: 0, failed: 0 };
      if (x.code === grpc.status.OK) n.ok++;
      else n.failed++;
      perPeer.set(x.peer, n);
    }
    const cells = [...perPeer].sort().map(([peer, n]) => `${peer}:${n.ok}${n.failed ? `/failed ${n.failed}` : ''}`);
    const fails = phaseStats(xs, { start: -Infinity, end: Infinity });
    console.log(`${String(s).padStart(3)} s ${String(xs.length).padStart(5)} calls, failed: ${fails.byCode}; ${cells.join(' ')}`);
  }
}
