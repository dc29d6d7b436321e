// What coord's client path costs per call: unary Echo through `etcd:///echo` (resolver +
// p2c_ewma under outlier detection, with health checking) and through the same plus coord's
// default client interceptors, against a plain grpc-js client on the server's static address.
// One Echo server in its own process; the registry (in-process coord store) is idle while
// measuring. Rounds alternate between the variants, so drift on a shared machine hits all alike,
// and each figure is the median over rounds, so one disturbed round does not decide it.
import * as grpc from '@grpc/grpc-js';
import { clientInterceptors } from '../src/grpc/client-interceptors.ts';
import { setup } from '../src/grpc/setup.ts';
import { connect } from '../src/index.ts';
import { startStore } from '../src/store/index.ts';
import { echoService, type EchoReply } from '../test/helpers/echo.ts';
import { fmtInt, fmtMs, printMachine, ratio, watchdog } from './lib/backends.ts';
import { startEchoProcess } from './lib/echo-process.ts';
import { percentile, printTable } from './lib/harness.ts';

const CONCURRENCY = [1, 16];
const WARMUP_MS = 2_000;
const ROUND_MS = 2_000;
const ROUNDS = 7;

type EchoClient = grpc.Client & {
  Echo(req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): void;
};

interface Round {
  perSec: number;
  p50: number;
  p99: number;
  /** This process's CPU time per call, µs: the client-side cost, less noisy than latency here. */
  cpuUs: number;
}

interface Variant {
  name: string;
  client: EchoClient;
  rounds: Round[];
  errors: number;
}

const median = (xs: number[]) => Float64Array.from(xs).sort()[Math.floor(xs.length / 2)];

function echo(client: EchoClient): Promise<boolean> {
  return new Promise((resolve) => client.Echo({ message: 'ping' }, { deadline: Date.now() + 5_000 }, (e) => resolve(!e)));
}

/** `concurrency` workers calling back to back for `ms`; the round is recorded unless warming up. */
async function load(v: Variant, concurrency: number, ms: number, record: boolean): Promise<void> {
  const end = performance.now() + ms;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const latencies: number[] = [];
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await echo(v.client);
      latencies.push(performance.now() - t0);
      if (!ok && record) v.errors++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!record) return;
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(latencies).sort();
  v.rounds.push({
    perSec: (sorted.length * 1000) / (performance.now() - started),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuUs: (cpu.user + cpu.system) / sorted.length,
  });
}

export async function run(): Promise<void> {
  const dog = watchdog('grpc-overhead', 5 * 60_000);
  printMachine();
  const server = await startEchoProcess('echo-1');
  const store = await startStore({ listen: '127.0.0.1:0' });
  const coord = connect({ endpoints: store.endpoint });
  setup({ coord });
  const reg = await coord.register({ id: 'echo-1', name: 'echo', endpoints: [`grpc://${server.address}`] });
  const { Client } = echoService();
  const creds = grpc.credentials.createInsecure();
  const clients = {
    direct: new Client(server.address, creds) as unknown as EchoClient,
    coord: new Client('etcd:///echo', creds) as unknown as EchoClient,
    full: new Client('etcd:///echo', creds, { interceptors: clientInterceptors() }) as unknown as EchoClient,
  };
  console.log(`Echo server pid ${server.pid} at ${server.address}; ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s per variant after ${WARMUP_MS / 1000} s warmup; medians over rounds`);
  const rows: string[][] = [];
  const verdicts: string[] = [];
  try {
    for (const concurrency of CONCURRENCY) {
      const variants: Variant[] = [
        { name: 'direct grpc-js, static address', client: clients.direct, rounds: [], errors: 0 },
        { name: 'etcd:/// + p2c_ewma', client: clients.coord, rounds: [], errors: 0 },
        { name: 'etcd:/// + p2c_ewma + clientInterceptors()', client: clients.full, rounds: [], errors: 0 },
      ];
      console.log(`measuring concurrency ${concurrency}...`);
      for (const v of variants) await load(v, concurrency, WARMUP_MS, false);
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < variants.length; i++) await load(variants[(i + r) % variants.length], concurrency, ROUND_MS, true);
      }
      const [base] = variants;
      const stats = variants.map((v) => ({
        v,
        perSec: median(v.rounds.map((r) => r.perSec)),
        p50: median(v.rounds.map((r) => r.p50)),
        p99: median(v.rounds.map((r) => r.p99)),
        cpuUs: median(v.rounds.map((r) => r.cpuUs)),
      }));
      for (const s of stats) {
        rows.push([
          String(concurrency),
          s.v.name,
          fmtInt(s.perSec),
          ratio(s.perSec, stats[0].perSec),
          fmtMs(s.p50),
          fmtMs(s.p99),
          s.v === base ? '-' : `${(s.p99 - stats[0].p99).toFixed(3)}`,
          s.cpuUs.toFixed(1),
          s.v === base ? '-' : `${(s.cpuUs - stats[0].cpuUs).toFixed(1)}`,
          fmtInt(s.v.errors),
        ]);
      }
      for (const s of stats.slice(1)) {
        const tput = s.perSec / stats[0].perSec;
        const added = s.p99 - stats[0].p99;
        verdicts.push(`c=${concurrency} ${s.v.name}: throughput ${tput.toFixed(2)}x (goal ≥ 0.90x) ${tput >= 0.9 ? 'met' : 'NOT met'}; p99 added ${added.toFixed(3)} ms (goal ≤ 0.2 ms) ${added <= 0.2 ? 'met' : 'NOT met'}`);
      }
    }
  } finally {
    for (const c of Object.values(clients)) c.close();
    await reg.deregister();
    await coord.close();
    await store.close();
    await server.stop();
    dog.clear();
  }
  console.log('');
  printTable(['concurrency', 'client', 'calls/s', 'vs direct', 'p50 ms', 'p99 ms', 'p99 added ms', 'client CPU µs/call', 'CPU added µs', 'errors'], rows);
  console.log('');
  for (const v of verdicts) console.log(v);
}
