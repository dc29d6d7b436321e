// Runs `coord store` as its own process with a temp data dir, the way users run it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CoordStoreProcess {
  /** `127.0.0.1:port` it serves the etcd v3 API on. */
  readonly endpoint: string;
  readonly pid: number;
  /** SIGINT (the CLI closes cleanly, flushing e.g. a --cpu-prof profile), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface CoordStoreProcessOptions {
  /** Extra node flags for the store process, e.g. `--cpu-prof`. Default none. */
  nodeArgs?: string[];
  /** How long to wait for the endpoint line on stdout. Default 20 s. */
  startTimeoutMs?: number;
}

const CLI = fileURLToPath(new URL('../../bin/coord.js', import.meta.url));
const running = new Map<number, string>();

// 'exit' listeners cannot await: kill synchronously so no store outlives an interrupted bench.
process.on('exit', () => {
  for (const [pid, dir] of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

export async function startCoordStore(options: CoordStoreProcessOptions = {}): Promise<CoordStoreProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-bench-store-'));
  const args = [...(options.nodeArgs ?? []), CLI, 'store', '--data-dir', dataDir, '--listen', '127.0.0.1:0'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error('could not spawn coord store');
  }
  running.set(pid, dataDir);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(pid);
      rmSync(dataDir, { recursive: true, force: true });
    })());

  const timeoutMs = options.startTimeoutMs ?? 20_000;
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`coord store did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const m = /serving the etcd v3 API on https?:\/\/(\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`coord store exited (${child.exitCode ?? child.signalCode}) before serving:\n${stderr}`));
      });
    });
    return { endpoint, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
