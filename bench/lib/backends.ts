// The two servers every coordination benchmark runs against (real etcd and coord store, each a
// separate fsyncing process), an etcd3 npm client for baselines, and a bench-wide watchdog.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { Etcd3 } from 'etcd3';
import { etcdBinary, startEtcd } from '../../test/helpers/etcd-process.ts';
import { startCoordStore } from './coord-process.ts';

export interface Server {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export type BackendName = 'etcd' | 'coord store';

/** Starters in the order benchmarks measure them. COORD_STORE_NODE_ARGS adds node flags to the store. */
export function backends(): Array<[BackendName, () => Promise<Server>]> {
  const nodeArgs = (process.env.COORD_STORE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return [
    ['etcd', () => startEtcd()],
    ['coord store', () => startCoordStore({ nodeArgs })],
  ];
}

/** Starts each backend in turn, runs `measure` on it and always stops it, even on error. */
export async function onEachBackend<R>(measure: (server: Server, name: BackendName) => Promise<R>): Promise<Map<BackendName, R>> {
  const results = new Map<BackendName, R>();
  for (const [name, start] of backends()) {
    const server = await start();
    console.log(`measuring ${name} (pid ${server.pid}, ${server.endpoint})...`);
    try {
      results.set(name, await measure(server, name));
    } finally {
      await server.stop();
    }
  }
  return results;
}

/** An etcd3 npm client with a 10 s deadline on unary calls, as a Node user would configure it. */
export function etcd3Client(endpoint: string): Etcd3 {
  return new Etcd3({
    hosts: `http://${endpoint}`,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
  });
}

/** Exits (running the starters' exit hooks, which SIGKILL every server) if the bench overruns. */
export function watchdog(bench: string, ms: number): { clear(): void } {
  const timer = setTimeout(() => {
    console.error(`bench ${bench}: gave up after ${ms / 1000} s`);
    process.exit(1);
  }, ms);
  timer.unref();
  return { clear: () => clearTimeout(timer) };
}

export function printMachine(): void {
  const etcd = etcdBinary();
  const etcdVersion = etcd ? execFileSync(etcd, ['--version'], { encoding: 'utf8' }).split('\n')[0] : 'etcd not found';
  const [one, five, fifteen] = loadavg().map((l) => l.toFixed(2));
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load average ${one} ${five} ${fifteen}`);
  console.log(`node ${process.version}, ${etcdVersion}; both servers fsync every commit`);
}

export const fmtMs = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '-');
export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
export const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-');
