// Linkerd's "beyond round robin" experiment, scaled down: 5 Echo servers (separate processes),
// one of which answers in 2 s from second 15 to second 45 of a 60 s run; every call has a 1 s
// deadline. Clients with different policies run side by side in this process at the same fixed
// (open-loop) rate against the same servers, so they live through the same slow period.
import * as grpc from '@grpc/grpc-js';
import { serviceConfig } from '../src/grpc/service-config.ts';
import { setup } from '../src/grpc/setup.ts';
import { connect } from '../src/index.ts';
import { startStore } from '../src/store/index.ts';
import { echoService, type EchoReply } from '../test/helpers/echo.ts';
import { fmtInt, fmtMs, printMachine, ratio, watchdog } from './lib/backends.ts';
import { startEchoProcess, type EchoProcess } from './lib/echo-process.ts';
import { percentile, printTable, sleep } from './lib/harness.ts';

const BACKENDS = 5;
const RATE_PER_CLIENT = 100;
const WARMUP_MS = 3_000;
const RUN_MS = 60_000;
const SLOW_FROM_MS = 15_000;
const SLOW_UNTIL_MS = 45_000;
const SLOW_DELAY_MS = 2_000;
const DEADLINE_MS = 1_000;

type EchoClient = grpc.Client & {
  Echo(req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): void;
};

interface Outcome {
  latency: number;
  ok: boolean;
  /** Issued while the slow server was slow. */
  inSlowPeriod: boolean;
}

interface Contender {
  name: string;
  client: EchoClient;
  outcomes: Outcome[];
}

export async function run(): Promise<void> {
  const dog = watchdog('grpc-slow-backend', 4 * 60_000);
  printMachine();
  const servers: EchoProcess[] = [];
  const store = await startStore({ listen: '127.0.0.1:0' });
  const coord = connect({ endpoints: store.endpoint });
  setup({ coord, log: () => {} });
  const contenders: Contender[] = [];
  try {
    for (let i = 0; i < BACKENDS; i++) {
      const s = await startEchoProcess(`echo-${i}`);
      servers.push(s);
      await coord.register({ id: s.id, name: 'echo', endpoints: [`grpc://${s.address}`] });
    }
    const slow = servers[0];
    const { Client } = echoService();
    const make = (name: string, options: grpc.ChannelOptions) =>
      contenders.push({ name, client: new Client('etcd:///echo', grpc.credentials.createInsecure(), options) as unknown as EchoClient, outcomes: [] });
    make('p2c_ewma (coord default: + outlier detection)', {});
    make('p2c_ewma alone', { 'grpc.service_config': serviceConfig({ policy: { p2c_ewma: {} }, outlierDetection: false }) });
    make('round_robin', { 'grpc.service_config': serviceConfig({ policy: { round_robin: {} }, outlierDetection: false }) });
    make('round_robin + outlier detection', { 'grpc.service_config': serviceConfig({ policy: { round_robin: {} } }) });
    console.log(
      `${BACKENDS} Echo servers (separate processes); ${slow.id} answers in ${SLOW_DELAY_MS / 1000} s from ${SLOW_FROM_MS / 1000} s to ${SLOW_UNTIL_MS / 1000} s of ${RUN_MS / 1000} s;` +
        ` deadline ${DEADLINE_MS} ms; ${contenders.length} clients side by side, ${RATE_PER_CLIENT} calls/s each (open loop), after ${WARMUP_MS / 1000} s warmup`,
    );

    let slowNow = false;
    const drive = async (ms: number, record: boolean) => {
      const start = performance.now();
      let issued = 0;
      const pending: Promise<void>[] = [];
      while (performance.now() - start < ms) {
        const due = Math.floor(((performance.now() - start) * RATE_PER_CLIENT) / 1000);
        for (; issued < due; issued++) {
          for (const c of contenders) {
            const inSlowPeriod = slowNow;
            const t0 = performance.now();
            pending.push(
              new Promise<void>((resolve) =>
                c.client.Echo({ message: 'hi' }, { deadline: Date.now() + DEADLINE_MS }, (e) => {
                  if (record) c.outcomes.push({ latency: performance.now() - t0, ok: !e, inSlowPeriod });
                  resolve();
                }),
              ),
            );
          }
        }
        await sleep(5);
      }
      await Promise.all(pending);
    };
    await drive(WARMUP_MS, false);
    const timeline = (async () => {
      await sleep(SLOW_FROM_MS);
      await slow.setDelay(SLOW_DELAY_MS);
      slowNow = true;
      console.log(`${SLOW_FROM_MS / 1000} s: ${slow.id} slow`);
      await sleep(SLOW_UNTIL_MS - SLOW_FROM_MS);
      await slow.setDelay(0);
      slowNow = false;
      console.log(`${SLOW_UNTIL_MS / 1000} s: ${slow.id} fast again`);
    })();
    await drive(RUN_MS, true);
    await timeline;

    const rows: string[][] = [];
    const stats = contenders.map((c) => {
      const lat = Float64Array.from(c.outcomes.map((o) => o.latency)).sort();
      const ok = c.outcomes.filter((o) => o.ok).length;
      const slowPeriod = c.outcomes.filter((o) => o.inSlowPeriod);
      return {
        c,
        calls: c.outcomes.length,
        success: ok / c.outcomes.length,
        slowSuccess: slowPeriod.filter((o) => o.ok).length / slowPeriod.length,
        failed: c.outcomes.length - ok,
        p50: percentile(lat, 50),
        p99: percentile(lat, 99),
        p999: percentile(lat, 99.9),
      };
    });
    const rr = stats.find((s) => s.c.name === 'round_robin')!;
    for (const s of stats) {
      rows.push([
        s.c.name,
        fmtInt(s.calls),
        `${(s.success * 100).toFixed(2)}%`,
        `${(s.slowSuccess * 100).toFixed(2)}%`,
        fmtInt(s.failed),
        fmtMs(s.p50),
        fmtMs(s.p99),
        fmtMs(s.p999),
        ratio(rr.p99, s.p99),
      ]);
    }
    console.log('');
    printTable(['policy', 'calls', 'success', 'success while slow', 'failed', 'p50 ms', 'p99 ms', 'p99.9 ms', 'RR p99 / p99'], rows);
    console.log('');
    const p2c = stats[0];
    console.log(
      `p2c_ewma (coord default): success ${(p2c.success * 100).toFixed(2)}% (goal ≥ 99.5%) ${p2c.success >= 0.995 ? 'met' : 'NOT met'};` +
        ` p99 ${ratio(rr.p99, p2c.p99)} lower than round_robin (goal ≥ 5x) ${rr.p99 / p2c.p99 >= 5 ? 'met' : 'NOT met'}`,
    );
  } finally {
    for (const c of contenders) c.client.close();
    await coord.close();
    await store.close();
    for (const s of servers) await s.stop();
    dog.clear();
  }
}
