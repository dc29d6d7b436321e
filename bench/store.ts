// coord store against real etcd, both as separate fsyncing processes with on-disk data dirs,
// measured one after the other through the same etcd3 npm client from this process.
// COORD_STORE_NODE_ARGS adds node flags to the store process, e.g.
//   COORD_STORE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench -- store
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { Etcd3, type Watcher } from 'etcd3';
import { etcdBinary, startEtcd } from '../test/helpers/etcd-process.ts';
import { startCoordStore } from './lib/coord-process.ts';
import { closedLoop, percentile, printTable, rssBytes, sleep, within, type LoadResult } from './lib/harness.ts';

const WARMUP_MS = 1_000;
const DURATION_MS = 5_000;
const VALUE = Buffer.alloc(100, 'v');
const MEM_KEYS = 100_000;
const MEM_WATCHERS = 10_000;
const LATENCY_WATCHERS = 1_000;
const WATCH_CLIENTS = 8;
const WATCH_PUTS_PER_SEC = 10;
const WHOLE_BENCH_MS = 5 * 60_000;

interface Server {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

interface Results {
  rssBaseline: number;
  rssKeys: number;
  rssWatchers: number;
  putSeq: LoadResult;
  put64: LoadResult;
  range: LoadResult;
  txn: LoadResult;
  watch: { p50: number; p99: number; delivered: number; expected: number };
}

const memKey = (i: number) => `bench/mem/${String(i).padStart(6, '0')}`;

function connect(endpoint: string): Etcd3 {
  return new Etcd3({
    hosts: `http://${endpoint}`,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
  });
}

export async function run(): Promise<void> {
  // Exiting runs the process 'exit' hooks of both starters, which SIGKILL the servers.
  const watchdog = setTimeout(() => {
    console.error(`bench store: gave up after ${WHOLE_BENCH_MS / 1000} s`);
    process.exit(1);
  }, WHOLE_BENCH_MS);
  watchdog.unref();
  printMachine();

  const nodeArgs = (process.env.COORD_STORE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const starters: Array<[string, () => Promise<Server>]> = [
    ['etcd', () => startEtcd()],
    ['coord store', () => startCoordStore({ nodeArgs })],
  ];
  const results: Results[] = [];
  for (const [name, start] of starters) {
    const server = await start();
    console.log(`measuring ${name} (pid ${server.pid}, ${server.endpoint})...`);
    try {
      results.push(await measure(server));
    } finally {
      await server.stop();
    }
  }
  clearTimeout(watchdog);
  printResults(results[0], results[1]);
}

function printMachine(): void {
  const etcd = etcdBinary();
  const etcdVersion = etcd ? execFileSync(etcd, ['--version'], { encoding: 'utf8' }).split('\n')[0] : 'etcd not found';
  let fs = '?';
  try {
    fs = execFileSync('stat', ['-f', '-c', '%T', tmpdir()], { encoding: 'utf8' }).trim();
  } catch {
    // not fatal: only shown for context
  }
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${loadavg()[0].toFixed(2)}`);
  console.log(`node ${process.version}, ${etcdVersion}, data dirs in ${tmpdir()} (${fs}), both servers fsync every commit`);
  console.log(`throughput rows: ${WARMUP_MS / 1000} s warmup + ${DURATION_MS / 1000} s measured, closed loop, one etcd3 client in this process (sharing the cores with the server)`);
}

async function measure(server: Server): Promise<Results> {
  const client = connect(server.endpoint);
  try {
    for (let i = 0; i < 50; i++) await client.put('bench/warm').value(VALUE).exec();
    await sleep(1_000);
    const rssBaseline = rssBytes(server.pid);

    await within(60_000, `loading ${MEM_KEYS} keys`, loadKeys(client));
    await sleep(1_000);
    const rssKeys = rssBytes(server.pid);

    const watcherClients = Array.from({ length: 10 }, () => connect(server.endpoint));
    let rssWatchers: number;
    let watchers: Watcher[] = [];
    try {
      watchers = await within(60_000, `creating ${MEM_WATCHERS} watchers`, Promise.all(
        Array.from({ length: MEM_WATCHERS }, (_, i) => watcherClients[i % watcherClients.length].watch().key(memKey(i)).create()),
      ));
      await sleep(1_000);
      rssWatchers = rssBytes(server.pid);
    } finally {
      await closeWatching(watcherClients, watchers);
    }

    const putSeq = await closedLoop({
      concurrency: 1, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
      op: async (_, i) => void (await client.put(`bench/put/seq/${i % 1000}`).value(VALUE).exec()),
    });
    const put64 = await closedLoop({
      concurrency: 64, warmupMs: WARMUP_MS, durationMs: DURATION_MS, cpuOfPid: server.pid,
      op: async (w, i) => void (await client.put(`bench/put/c${w}/${i % 100}`).value(VALUE).exec()),
    });
    const range = await closedLoop({
      concurrency: 16, warmupMs: WARMUP_MS, durationMs: DURATION_MS, cpuOfPid: server.pid,
      op: async () => {
        const key = memKey(Math.floor(Math.random() * MEM_KEYS));
        if ((await client.get(key).buffer()) === null) throw new Error(`${key} missing`);
      },
    });
    const txnKey = (w: number) => `bench/txn/${w}`;
    for (let w = 0; w < 16; w++) await client.put(txnKey(w)).value('0').exec();
    const txn = await closedLoop({
      concurrency: 16, warmupMs: WARMUP_MS, durationMs: DURATION_MS,
      // Compare-and-swap on the worker's own key: always succeeds unless the store is wrong.
      op: async (w, i) => {
        const key = txnKey(w);
        const res = await client.if(key, 'Value', '==', String(i)).then(client.put(key).value(String(i + 1))).commit();
        if (!res.succeeded) throw new Error(`txn compare on ${key} failed at ${i}`);
      },
    });
    const watch = await watchLatency(server.endpoint, client);
    return { rssBaseline, rssKeys, rssWatchers, putSeq, put64, range, txn, watch };
  } finally {
    client.close();
  }
}

/** 100k keys of ~100 bytes, written 100 puts per txn so loading takes seconds, not minutes. */
async function loadKeys(client: Etcd3): Promise<void> {
  const perTxn = 100;
  let next = 0;
  const worker = async () => {
    while (next < MEM_KEYS) {
      const from = next;
      next = Math.min(MEM_KEYS, next + perTxn);
      const success = [];
      for (let i = from; i < next; i++) success.push({ request_put: { key: Buffer.from(memKey(i)), value: VALUE } });
      await client.kv.txn({ success });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * 1,000 watchers on one key over several clients; a writer puts its send time (performance.now(),
 * same process) a few times a second and every watcher records put→event latency.
 */
async function watchLatency(endpoint: string, writer: Etcd3): Promise<Results['watch']> {
  const key = 'bench/watch/hot';
  const clients = Array.from({ length: WATCH_CLIENTS }, () => connect(endpoint));
  let watchers: Watcher[] = [];
  try {
    watchers = await within(60_000, `creating ${LATENCY_WATCHERS} watchers`, Promise.all(
      Array.from({ length: LATENCY_WATCHERS }, (_, i) => clients[i % WATCH_CLIENTS].watch().key(key).create()),
    ));
    const latencies: number[] = [];
    let allDelivered: () => void = () => {};
    let expected = Infinity;
    for (const w of watchers) {
      w.on('put', (kv) => {
        const [phase, sent] = kv.value.toString().split(':');
        if (phase !== 'm') return;
        latencies.push(performance.now() - Number(sent));
        if (latencies.length >= expected) allDelivered();
      });
    }
    const writeFor = async (ms: number, phase: string) => {
      const start = performance.now();
      let puts = 0;
      for (let due = start; due < start + ms; due += 1000 / WATCH_PUTS_PER_SEC) {
        await sleep(Math.max(0, due - performance.now()));
        await writer.put(key).value(`${phase}:${performance.now()}`).exec();
        puts++;
      }
      return puts;
    };
    await writeFor(WARMUP_MS, 'w');
    const delivered = new Promise<void>((resolve) => (allDelivered = resolve));
    expected = (await writeFor(DURATION_MS, 'm')) * LATENCY_WATCHERS;
    if (latencies.length >= expected) allDelivered();
    await Promise.race([delivered, sleep(10_000)]);
    const sorted = Float64Array.from(latencies).sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), delivered: sorted.length, expected };
  } finally {
    await closeWatching(clients, watchers);
  }
}

/** Cancels watchers before closing their clients: a closed client's live watchers retry forever. */
async function closeWatching(clients: Etcd3[], watchers: Watcher[]): Promise<void> {
  await within(30_000, 'cancelling watchers', Promise.all(watchers.map((w) => w.cancel()))).catch((err: Error) => {
    console.error(`bench store: ${err.message}`);
  });
  clients.forEach((c) => c.close());
}

function printResults(etcd: Results, coord: Results): void {
  const higher = 'higher';
  const lower = 'lower';
  const ops = (n: number) => Math.round(n).toLocaleString('en-US');
  const ms = (n: number) => n.toFixed(2);
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const rows: Array<[string, (r: Results) => number, (n: number) => string, string]> = [
    ['put, 1 client sequential: ops/s', (r) => r.putSeq.opsPerSec, ops, higher],
    ['put, 1 client sequential: p50 ms', (r) => r.putSeq.p50, ms, lower],
    ['put, 1 client sequential: p99 ms', (r) => r.putSeq.p99, ms, lower],
    ['put, 64 concurrent: ops/s', (r) => r.put64.opsPerSec, ops, higher],
    ['put, 64 concurrent: p50 ms', (r) => r.put64.p50, ms, lower],
    ['put, 64 concurrent: p99 ms', (r) => r.put64.p99, ms, lower],
    ['put, 64 concurrent: server CPU µs/op', (r) => r.put64.cpuUsPerOp, ops, lower],
    ['range 1 key, 16 concurrent: ops/s', (r) => r.range.opsPerSec, ops, higher],
    ['range 1 key, 16 concurrent: p99 ms', (r) => r.range.p99, ms, lower],
    ['range 1 key, 16 concurrent: server CPU µs/op', (r) => r.range.cpuUsPerOp, ops, lower],
    ['txn compare+put, 16 concurrent: ops/s', (r) => r.txn.opsPerSec, ops, higher],
    ['txn compare+put, 16 concurrent: p99 ms', (r) => r.txn.p99, ms, lower],
    [`watch put→event, ${LATENCY_WATCHERS} watchers: p50 ms`, (r) => r.watch.p50, ms, lower],
    [`watch put→event, ${LATENCY_WATCHERS} watchers: p99 ms`, (r) => r.watch.p99, ms, lower],
    ['RSS at start: MiB', (r) => r.rssBaseline, mib, lower],
    [`RSS for ${MEM_KEYS / 1000}k keys of 100 B: +MiB`, (r) => r.rssKeys - r.rssBaseline, mib, lower],
    [`RSS for ${MEM_WATCHERS / 1000}k watchers: +MiB`, (r) => r.rssWatchers - r.rssKeys, mib, lower],
  ];
  console.log('');
  printTable(
    ['metric', 'etcd', 'coord store', 'coord/etcd', 'better'],
    rows.map(([name, get, fmt, better]) => [name, fmt(get(etcd)), fmt(get(coord)), `${(get(coord) / get(etcd)).toFixed(2)}x`, better]),
  );
  for (const [name, r] of [['etcd', etcd], ['coord store', coord]] as const) {
    if (r.watch.delivered < r.watch.expected) console.log(`note: ${name} delivered ${r.watch.delivered} of ${r.watch.expected} watch events within 10 s`);
  }
}
