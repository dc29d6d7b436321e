// A server (real etcd or coord store) on a fixed free port and its own data dir that can be stopped
// with SIGTERM or SIGKILL and started again on the same port and data, as an operator restarts
// one. Used by the registry-scale test, bench and chaos scenario. Processes are killed by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/index.ts';
import { ChildTracker, exitOf } from './child-tracker.ts';
import { etcdBinary, ETCD_MISSING } from './etcd-process.ts';

const COORD_BIN = new URL('../../bin/coord.js', import.meta.url).pathname;
const tracker = new ChildTracker();

export type ServerKind = 'etcd' | 'coord store';

export interface RestartableServer {
  readonly kind: ServerKind;
  readonly endpoint: string;
  /** pid of the running process; undefined while stopped. */
  readonly pid: number | undefined;
  /** Sends `signal` by pid and waits for the exit; returns how long the exit took (ms). */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number>;
  /** Starts it again on the same port and data dir; resolves once it answers a read. */
  start(): Promise<void>;
  /** Kills it and removes the data dir. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `kind` on a fresh data dir; resolves once it serves. */
export async function startRestartable(kind: ServerKind): Promise<RestartableServer> {
  const dir = mkdtempSync(join(tmpdir(), 'coord-restartable-'));
  const port = await freePort();
  const peerPort = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const spawnOne = (): ChildProcess => {
    if (kind === 'coord store') {
      return spawn(process.execPath, [COORD_BIN, 'store', '--data-dir', join(dir, 'data'), '--listen', endpoint], { stdio: 'ignore' });
    }
    const bin = etcdBinary();
    if (!bin) throw new Error(ETCD_MISSING);
    const peer = `http://127.0.0.1:${peerPort}`;
    const client = `http://${endpoint}`;
    // prettier-ignore
    return spawn(bin, [
      '--name', 'scale', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `scale=${peer}`, '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-level', 'error',
    ], { stdio: 'ignore' });
  };
  const server: RestartableServer = {
    kind,
    endpoint,
    get pid() {
      return child?.pid;
    },
    async stop(signal) {
      const c = child;
      if (!c?.pid) return 0;
      const t0 = performance.now();
      process.kill(c.pid, signal);
      await exitOf(c);
      child = undefined;
      return performance.now() - t0;
    },
    async start() {
      child = spawnOne();
      tracker.track(child, kind);
      const probe = connect({ endpoints: [endpoint], requestTimeoutMs: 2000 });
      const end = Date.now() + 60_000;
      try {
        for (;;) {
          try {
            await probe.etcd.status();
            return;
          } catch (e) {
            if (child.exitCode !== null || Date.now() > end) throw new Error(`${kind} did not serve on ${endpoint}: ${String(e)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await probe.close();
      }
    },
    async close() {
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** SIGKILLs every server this helper started (call from an after hook). */
export function killAllRestartable(): Promise<void> {
  return tracker.killAll();
}
