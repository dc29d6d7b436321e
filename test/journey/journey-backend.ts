// The etcd a journey runs against, on one fixed address for the whole test so clients reconnect to
// it: real etcd, or coord store run from the installed package as a user runs it. `kill()` is a
// crash (SIGKILL); `startFresh()` brings up a NEW cluster at the same address — a new data dir for
// etcd, a new `--memory` store — which has none of the old history.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../../src/client/etcd-client.ts';
import { etcdBinary } from '../helpers/etcd-process.ts';
import { start, type JourneyProcess } from './journey-process.ts';

export interface JourneyBackend {
  readonly name: 'etcd' | 'coord store';
  readonly endpoint: string;
  startFresh(): Promise<void>;
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      server.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Waits until a linearizable read answers at `endpoint`. */
async function serving(endpoint: string, p: JourneyProcess): Promise<void> {
  const client = new EtcdClient({ endpoints: endpoint, requestTimeoutMs: 1000 });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (p.child.exitCode !== null) throw new Error(`backend exited before serving\n${p.output()}`);
      try {
        await client.range('health');
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.close();
  }
}

export async function journeyBackend(name: 'etcd' | 'coord store', app: string): Promise<JourneyBackend> {
  const port = await freePort();
  const peerPort = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  let proc: JourneyProcess | undefined;
  let dataDir: string | undefined;
  const kill = async () => {
    if (!proc) return;
    proc.signal('SIGKILL');
    await proc.exited;
    proc = undefined;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  };
  const startFresh = async () => {
    await kill();
    if (name === 'coord store') {
      proc = start(process.execPath, [join(app, 'node_modules/etcd-coord/bin/coord.js'), 'store', '--listen', endpoint, '--memory'], app);
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'coord-journey-etcd-'));
      const peer = `http://127.0.0.1:${peerPort}`;
      proc = start(etcdBinary()!, ['--name', 'journey', '--data-dir', dataDir, '--listen-client-urls', `http://${endpoint}`, '--advertise-client-urls', `http://${endpoint}`, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `journey=${peer}`, '--initial-cluster-token', `journey-${process.pid}-${Date.now()}`, '--log-level', 'error', '--logger', 'zap'], app);
    }
    await serving(endpoint, proc);
  };
  return { name, endpoint, startFresh, kill };
}
