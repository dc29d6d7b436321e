// Config publish → 1,000 subscribers: coord's config center (publish + subscribe, i.e. versioned
// records with history, delivered through ConfigWatch) against the same fan-out with plain etcd3
// npm watches on one key (put + raw watch, no config center), on real etcd and on coord store.
// Subscribers are spread over several clients in this process (coord's subscribers of one key share
// one etcd watch per client; the etcd3 baseline opens one watch per subscriber, as its API does);
// each publish carries its send time
// (performance.now(), same process), taken just before the publish/put call.
import { Etcd3, type Watcher } from 'etcd3';
import { connect, type Coord } from '../src/index.ts';
import { cpuMs, percentile, printTable, sleep, within } from './lib/harness.ts';
import { etcd3Client, fmtMs, onEachBackend, printMachine, ratio, watchdog, type BackendName } from './lib/backends.ts';

const SUBSCRIBERS = 1_000;
const CLIENTS = 10;
const WARMUP_PUBLISHES = 10;
const PUBLISHES = 60;
const PUBLISHES_PER_SEC = 5;
const DELIVERY_WAIT_MS = 10_000;

interface Payload {
  seq: number;
  sent: number;
  warmup: boolean;
}

interface Run {
  /** Every publish → subscriber delivery, ms. */
  p50: number;
  p99: number;
  /** Per publish: until the last of the 1,000 subscribers had it, ms. */
  lastP50: number;
  lastP99: number;
  /** The publish (or put) call itself, ms. */
  publishP50: number;
  publishP99: number;
  delivered: number;
  expected: number;
  /** CPU per measured publish: this process (publisher + every subscriber) and the server. */
  clientCpuMs: number;
  serverCpuMs: number;
}

/** What each variant provides: fan-out set up, a publish, and teardown. */
interface FanOut {
  publish(p: Payload): Promise<void>;
  close(): Promise<void>;
}

type Deliver = (p: Payload, at: number) => void;

export async function run(): Promise<void> {
  const dog = watchdog('config', 5 * 60_000);
  printMachine();
  console.log(`${SUBSCRIBERS} subscribers over ${CLIENTS} clients in this process; ${WARMUP_PUBLISHES} warmup + ${PUBLISHES} measured publishes at ${PUBLISHES_PER_SEC}/s`);
  const results = await onEachBackend(async (server) => ({
    coord: await measure(server.pid, (deliver) => coordFanOut(server.endpoint, deliver)),
    raw: await measure(server.pid, (deliver) => rawFanOut(server.endpoint, deliver)),
  }));
  dog.clear();
  print(results);
}

async function coordFanOut(endpoint: string, deliver: Deliver): Promise<FanOut> {
  const clients: Coord[] = Array.from({ length: CLIENTS }, () => connect({ endpoints: endpoint }));
  const publisher = connect({ endpoints: endpoint });
  const close = async () => [...clients, publisher].forEach((c) => c.close());
  try {
    const watches = Array.from({ length: SUBSCRIBERS }, (_, i) =>
      clients[i % CLIENTS].config.subscribe('bench', 'hot.json', (v) => {
        if (v) deliver(v.value as Payload, performance.now());
      }),
    );
    await within(60_000, `${SUBSCRIBERS} config subscribers ready`, Promise.all(watches.map((w) => w.ready)));
    return { publish: async (p) => void (await publisher.config.publish('bench', 'hot.json', p)), close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function rawFanOut(endpoint: string, deliver: Deliver): Promise<FanOut> {
  const key = 'bench/raw/hot.json';
  const clients: Etcd3[] = Array.from({ length: CLIENTS }, () => etcd3Client(endpoint));
  const publisher = etcd3Client(endpoint);
  let watchers: Watcher[] = [];
  const close = async () => {
    // A closed client's live watchers retry forever: cancel them first.
    await within(30_000, 'cancelling watchers', Promise.all(watchers.map((w) => w.cancel()))).catch((e: Error) => console.error(`bench config: ${e.message}`));
    [...clients, publisher].forEach((c) => c.close());
  };
  try {
    watchers = await within(60_000, `${SUBSCRIBERS} raw watchers`, Promise.all(
      Array.from({ length: SUBSCRIBERS }, (_, i) => clients[i % CLIENTS].watch().key(key).create()),
    ));
    for (const w of watchers) w.on('put', (kv) => deliver(JSON.parse(kv.value.toString()) as Payload, performance.now()));
    return { publish: async (p) => void (await publisher.put(key).value(JSON.stringify(p)).exec()), close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function measure(serverPid: number, setUp: (deliver: Deliver) => Promise<FanOut>): Promise<Run> {
  const latencies: number[] = [];
  const perPublish = new Map<number, { count: number; last: number }>();
  let allDelivered = () => {};
  const expected = PUBLISHES * SUBSCRIBERS;
  const deliver: Deliver = (p, at) => {
    if (p.warmup) return;
    const ms = at - p.sent;
    latencies.push(ms);
    const s = perPublish.get(p.seq) ?? { count: 0, last: 0 };
    s.count++;
    s.last = Math.max(s.last, ms);
    perPublish.set(p.seq, s);
    if (latencies.length >= expected) allDelivered();
  };
  const fanOut = await setUp(deliver);
  try {
    const publishTimes: number[] = [];
    const delivered = new Promise<void>((resolve) => (allDelivered = resolve));
    const start = performance.now();
    let cpuBefore = { client: 0, server: 0 };
    for (let seq = 0; seq < WARMUP_PUBLISHES + PUBLISHES; seq++) {
      await sleep(Math.max(0, start + (seq * 1000) / PUBLISHES_PER_SEC - performance.now()));
      if (seq === WARMUP_PUBLISHES) cpuBefore = { client: processCpuMs(), server: cpuMs(serverPid) };
      const sent = performance.now();
      await fanOut.publish({ seq, sent, warmup: seq < WARMUP_PUBLISHES });
      if (seq >= WARMUP_PUBLISHES) publishTimes.push(performance.now() - sent);
    }
    await Promise.race([delivered, sleep(DELIVERY_WAIT_MS)]);
    const clientCpuMs = (processCpuMs() - cpuBefore.client) / PUBLISHES;
    const serverCpuMs = (cpuMs(serverPid) - cpuBefore.server) / PUBLISHES;
    const all = Float64Array.from(latencies).sort();
    const last = Float64Array.from([...perPublish.values()].filter((s) => s.count === SUBSCRIBERS).map((s) => s.last)).sort();
    const pub = Float64Array.from(publishTimes).sort();
    return {
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      lastP50: percentile(last, 50),
      lastP99: percentile(last, 99),
      publishP50: percentile(pub, 50),
      publishP99: percentile(pub, 99),
      delivered: all.length,
      expected,
      clientCpuMs,
      serverCpuMs,
    };
  } finally {
    await fanOut.close();
  }
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function print(results: Map<BackendName, { coord: Run; raw: Run }>): void {
  const names = [...results.keys()];
  const rows: Array<[string, (r: Run) => number, (n: number) => string]> = [
    ['publish → subscriber p50 ms', (r) => r.p50, fmtMs],
    ['publish → subscriber p99 ms', (r) => r.p99, fmtMs],
    [`publish → all ${SUBSCRIBERS} have it p50 ms`, (r) => r.lastP50, fmtMs],
    [`publish → all ${SUBSCRIBERS} have it p99 ms`, (r) => r.lastP99, fmtMs],
    ['publish call itself p50 ms', (r) => r.publishP50, fmtMs],
    ['publish call itself p99 ms', (r) => r.publishP99, fmtMs],
    ['CPU per publish, this process (publisher + subscribers) ms', (r) => r.clientCpuMs, fmtMs],
    ['CPU per publish, server ms', (r) => r.serverCpuMs, fmtMs],
    ['deliveries', (r) => r.delivered, (n) => String(n)],
  ];
  const header = ['metric'];
  for (const n of names) header.push(`${n}: coord config`, `${n}: raw etcd3 watch`, `${n}: coord/raw`);
  console.log('');
  printTable(
    header,
    rows.map(([label, get, fmt]) => {
      const cells = [label];
      for (const n of names) {
        const { coord, raw } = results.get(n)!;
        cells.push(fmt(get(coord)), fmt(get(raw)), ratio(get(coord), get(raw)));
      }
      return cells;
    }),
  );
  console.log('');
  for (const n of names) {
    const { coord, raw } = results.get(n)!;
    for (const [what, r] of [['coord config', coord], ['raw watch', raw]] as const) {
      if (r.delivered < r.expected) console.log(`note: ${n} ${what} delivered ${r.delivered} of ${r.expected} within ${DELIVERY_WAIT_MS / 1000} s of the last publish`);
    }
  }
  const store = results.get('coord store')?.coord;
  if (store) console.log(`coord store, coord config: p99 ${fmtMs(store.p99)} ms vs goal ≤ 50 ms: ${store.p99 <= 50 ? 'met' : 'NOT met'}`);
}
