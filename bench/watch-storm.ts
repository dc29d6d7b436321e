// A reconnect storm: N watchers (1k, 10k), each on its own key, re-created at once from an old
// revision (as own-key watches resume after a store restart). Measures the time until every
// watcher has its events, and the worst latency of a put and of a lease keepalive sent
// concurrently every 20 ms during the storm. Servers, each a separate process: real etcd, coord
// store from this checkout ("after"), and coord store from the baseline revision ("before":
// `git merge-base HEAD main`, or WATCH_STORM_BASELINE=<rev>; its sources are extracted with git
// archive and run against this checkout's node_modules).
//   npm run bench -- watch-storm            WATCH_STORM_N=1000,10000  WATCH_STORM_STREAMS=100
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { etcdProto } from '../src/protocol/etcd-proto.ts';
import { etcdBinary, startEtcd } from '../test/helpers/etcd-process.ts';
import { printTable, within } from './lib/harness.ts';

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
interface Server {
  endpoint: string;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SIZES = (process.env.WATCH_STORM_N ?? '1000,10000').split(',').map(Number);
const STREAMS = Number(process.env.WATCH_STORM_STREAMS ?? 100);
const PROBE_MS = 20;
const STORM_TIMEOUT_MS = 10 * 60_000;
const temps: string[] = [];

process.on('exit', () => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Sources of `rev` in a temp dir, with this checkout's node_modules. */
function checkout(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'coord-watch-storm-before-'));
  temps.push(dir);
  execFileSync('sh', ['-c', `git -C '${ROOT}' archive '${rev}' | tar -x -C '${dir}'`]);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

async function startStore(root: string): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-watch-storm-'));
  temps.push(dataDir);
  const child = spawn(process.execPath, [join(root, 'bin/coord.js'), 'store', '--data-dir', dataDir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid as number;
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
  const endpoint = await within(
    30_000,
    `coord store (${root}) start`,
    new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /serving the etcd v3 API on https?:\/\/(\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`coord store exited (${code}):\n${stderr}`)));
    }),
  );
  child.stdout.resume();
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(pid, 'SIGKILL');
      await exited;
    },
  };
}

function unary<T>(c: Client, method: string, req: object): Promise<T> {
  return new Promise((resolve, reject) => c[method](req, { deadline: Date.now() + 60_000 }, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))));
}

interface StormResult {
  syncedMs: number;
  putMaxMs: number;
  keepaliveMaxMs: number;
  putsDuring: number;
  /** Probe puts that hit their 60 s deadline. */
  putFailures: number;
}

async function storm(endpoint: string, n: number): Promise<StormResult> {
  const creds = grpc.credentials.createInsecure();
  const { KV, Watch, Lease } = etcdProto();
  // Separate channels (the option makes grpc-js open separate connections), as separate clients.
  const own = (i: number) => ({ 'grpc.channel_id': i }) as grpc.ChannelOptions;
  const kv = new KV(endpoint, creds, own(-1)) as Client;
  const lease = new Lease(endpoint, creds, own(-2)) as Client;
  const watchers = Array.from({ length: STREAMS }, (_, i) => new Watch(endpoint, creds, own(i)) as Client);
  try {
    const key = (i: number) => Buffer.from(`storm/${String(i).padStart(6, '0')}`);
    const first = await unary<{ header: { revision: string } }>(kv, 'Put', { key: key(0), value: Buffer.from('a') });
    const from = Number(first.header.revision);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < n; i += 200) await Promise.all(Array.from({ length: Math.min(200, n - i) }, (_, j) => unary(kv, 'Put', { key: key(i + j), value: Buffer.from(`v${round}`) })));
    }
    // Every key has 2 events at or after `from` (key 0 has 3).
    const expectedEvents = 2 * n + 1;
    const { ID } = await unary<{ ID: string }>(lease, 'LeaseGrant', { TTL: 600 });
    const ka = lease.LeaseKeepAlive() as grpc.ClientDuplexStream<object, unknown>;
    ka.on('error', () => {});
    let kaSent = 0;
    let kaMax = 0;
    ka.on('data', () => {
      kaMax = Math.max(kaMax, performance.now() - kaSent);
      kaSent = 0;
    });
    let putMax = 0;
    let puts = 0;
    let putFailures = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        try {
          await unary(kv, 'Put', { key: Buffer.from('probe'), value: Buffer.from('p') });
          puts++;
        } catch {
          putFailures++; // its 60 s deadline passed: the latency below is that deadline
        }
        putMax = Math.max(putMax, performance.now() - t);
        if (kaSent === 0) {
          kaSent = performance.now();
          ka.write({ ID });
        }
        await new Promise((r) => setTimeout(r, PROBE_MS));
      }
    })();
    const started = performance.now();
    let got = 0;
    let done!: () => void;
    const allIn = new Promise<void>((resolve) => (done = resolve));
    const streams = watchers.map((c) => {
      const s = c.Watch() as grpc.ClientDuplexStream<object, { events: unknown[] }>;
      s.on('error', () => {});
      s.on('data', (r) => {
        got += r.events.length;
        if (got >= expectedEvents) done();
      });
      return s;
    });
    for (let i = 0; i < n; i++) streams[i % STREAMS].write({ create_request: { key: key(i), range_end: Buffer.alloc(0), start_revision: String(from) } });
    await within(STORM_TIMEOUT_MS, `storm of ${n}`, allIn);
    const syncedMs = performance.now() - started;
    probing = false;
    await probe;
    if (kaSent !== 0) kaMax = Math.max(kaMax, performance.now() - kaSent); // unanswered at the end
    for (const s of streams) s.cancel();
    ka.cancel();
    return { syncedMs, putMaxMs: putMax, keepaliveMaxMs: kaMax, putsDuring: puts, putFailures };
  } finally {
    for (const c of [kv, lease, ...watchers]) c.close();
  }
}

export async function run(): Promise<void> {
  const baseline = process.env.WATCH_STORM_BASELINE ?? execFileSync('git', ['-C', ROOT, 'merge-base', 'HEAD', 'main']).toString().trim();
  const before = checkout(baseline);
  console.log(`watch-storm: N watchers on ${STREAMS} streams from an old revision; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (noisy on a shared machine)`);
  console.log(`before = coord store at ${baseline.slice(0, 10)}; after = this checkout`);
  const servers: [string, () => Promise<Server>][] = [
    ['coord store (before)', () => startStore(before)],
    ['coord store (after)', () => startStore(ROOT)],
  ];
  if (etcdBinary()) servers.push(['etcd 3.4', () => startEtcd()]);
  else console.log('etcd not installed: its rows are left out');
  const rows: string[][] = [];
  const synced = new Map<string, number>();
  for (const n of SIZES) {
    for (const [name, start] of servers) {
      const server = await start();
      try {
        const r = await storm(server.endpoint, n);
        synced.set(`${name}/${n}`, r.syncedMs);
        rows.push([String(n), name, r.syncedMs.toFixed(0), r.putMaxMs.toFixed(1), r.keepaliveMaxMs.toFixed(1), `${r.putsDuring}${r.putFailures ? ` (+${r.putFailures} timed out)` : ''}`]);
      } catch (e) {
        rows.push([String(n), name, `failed: ${(e as Error).message}`, '', '', '']);
      } finally {
        await server.stop();
      }
    }
    const b = synced.get(`coord store (before)/${n}`);
    const a = synced.get(`coord store (after)/${n}`);
    const e = synced.get(`etcd 3.4/${n}`);
    if (a && b) rows.push([String(n), 'after / before', (a / b).toFixed(2), '', '', '']);
    if (a && e) rows.push([String(n), 'after / etcd', (a / e).toFixed(2), '', '', '']);
  }
  printTable(['N', 'server', 'all synced ms', 'max put ms', 'max keepalive ms', 'puts during'], rows);
}
