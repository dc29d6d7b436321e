// Starts a real single-member etcd on free loopback ports for tests, and decides what a suite
// does when no etcd binary is installed (fail in CI, skip with one line on a laptop).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { TLS_BY_NAME } from './certs.ts';

export const ETCD_MISSING =
  'real etcd not found: apt-get install etcd-server etcd-client to run the etcd half of the conformance suite';

export interface EtcdProcessOptions {
  /** `--experimental-watch-progress-notify-interval` in ms. Default: etcd's own (10 min). */
  watchProgressNotifyIntervalMs?: number;
  /** `--auth-token-ttl` (idle lifetime of simple auth tokens), seconds. Default: etcd's own (300). */
  authTokenTtlSeconds?: number;
  /** `--max-txn-ops`. Default: etcd's own (128). */
  maxTxnOps?: number;
  /** How long to wait for etcd to answer gRPC. Default 15 s. */
  startTimeoutMs?: number;
  /** Serve clients over TLS (`--cert-file`/`--key-file`); `ca` is what the readiness probe trusts. */
  tls?: { cert: Buffer; key: Buffer; ca: Buffer };
}

export interface EtcdProcess {
  /** `127.0.0.1:port` of the client (gRPC) listener. */
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Full path of the `etcd` binary on PATH, or undefined. */
export function etcdBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

export function etcdAvailable(): boolean {
  return etcdBinary() !== undefined;
}

/**
 * The policy for suites that need a real etcd: returns undefined when etcd is installed, the
 * one-line skip reason when it is missing on a developer machine, and throws in CI
 * (`CI=true`), where a silently skipped conformance half would prove nothing.
 */
export function requireEtcd(): string | undefined {
  if (etcdAvailable()) return undefined;
  if (process.env.CI === 'true') throw new Error(`${ETCD_MISSING} (CI=true: the etcd half must run in CI)`);
  return ETCD_MISSING;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Map<number, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous on purpose: 'exit' listeners cannot await. A crashed or interrupted test run
  // must not leave etcd processes or data dirs behind.
  const killAll = (): void => {
    for (const [pid, dir] of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
    running.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

async function waitUntilServing(endpoint: string, child: ChildProcess, timeoutMs: number, log: () => string, ca?: Buffer): Promise<void> {
  // A linearizable Range needs an elected leader, so it proves etcd can serve writes too.
  const { KV } = etcdProto();
  const client = new KV(endpoint, ca ? grpc.credentials.createSsl(ca) : grpc.credentials.createInsecure(), ca ? TLS_BY_NAME : {});
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before serving:\n${log()}`);
      }
      const ok = await new Promise<boolean>((resolve) => {
        client.Range({ key: Buffer.from('health') }, { deadline: Date.now() + 1000 }, (err: grpc.ServiceError | null) =>
          resolve(!err),
        );
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`etcd did not answer a Range within ${timeoutMs} ms:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}

/** Starts a fresh single-member etcd with its own temp data dir and waits until it serves gRPC. */
export async function startEtcd(options: EtcdProcessOptions = {}): Promise<EtcdProcess> {
  const bin = etcdBinary();
  if (!bin) throw new Error(ETCD_MISSING);
  const clientPort = await freePort();
  const peerPort = await freePort();
  const clientUrl = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-etcd-'));
  const args = [
    '--name', 'conformance',
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `conformance=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-level', 'error',
  ];
  if (options.watchProgressNotifyIntervalMs !== undefined) {
    args.push(`--experimental-watch-progress-notify-interval=${options.watchProgressNotifyIntervalMs}ms`);
  }
  if (options.authTokenTtlSeconds !== undefined) args.push(`--auth-token-ttl=${options.authTokenTtlSeconds}`);
  if (options.maxTxnOps !== undefined) args.push(`--max-txn-ops=${options.maxTxnOps}`);
  if (options.tls) {
    writeFileSync(join(dataDir, 'server.pem'), options.tls.cert);
    writeFileSync(join(dataDir, 'server.key'), options.tls.key, { mode: 0o600 });
    args.push('--cert-file', join(dataDir, 'server.pem'), '--key-file', join(dataDir, 'server.key'));
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pid = child.pid;
  if (pid === undefined) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`could not spawn ${bin}`);
  }
  installExitHook();
  running.set(pid, dataDir);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
      running.delete(pid);
      rmSync(dataDir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const endpoint = `127.0.0.1:${clientPort}`;
  try {
    await waitUntilServing(endpoint, child, options.startTimeoutMs ?? 15_000, () => output, options.tls?.ca);
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, pid, stop };
}
