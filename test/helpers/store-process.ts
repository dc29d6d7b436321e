// Runs `coord store` as a real child process for integration tests: start with CLI arguments,
// wait for the "serving" line, kill it by pid (SIGKILL for crashes, SIGTERM for a clean stop).
// Every process started here is killed in stopAllStoreProcesses() (call it from an after hook)
// and, as a last resort, when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildTracker, exitOf, killQuietly, type Exit } from './child-tracker.ts';

const COORD_BIN = new URL('../../bin/coord.js', import.meta.url).pathname;
const SERVING = /coord store serving the etcd v3 API on https?:\/\/([^\s]+):(\d+) /;

export type { Exit };

export interface StoreProcess {
  /** `127.0.0.1:port` the store serves on. */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<Exit>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with stderr so far once it matches `pattern`; rejects after `timeoutMs` or if the process exits first. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGKILL) by pid and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface StoreRun extends Exit {
  stdout: string;
  stderr: string;
}

const stores = new ChildTracker();

function spawnStore(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, [COORD_BIN, 'store', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  stores.track(child, 'coord store');
  return child;
}

/** Starts `coord store ARGS` and resolves once it prints its endpoint; rejects if it exits first. */
export async function startStoreProcess(args: readonly string[], timeoutMs = 15_000): Promise<StoreProcess> {
  const child = spawnStore(args);
  const pid = child.pid as number;
  const exited = exitOf(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const serving = new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coord store did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const m = SERVING.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ host: m[1], port: Number(m[2]) });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`coord store exited (${code ?? signal}) before serving:\n${stderr}`));
    });
  });
  let where: { host: string; port: number };
  try {
    where = await serving;
  } catch (err) {
    killQuietly(pid, 'SIGKILL');
    await exited;
    throw err;
  }
  child.stdout?.resume(); // keep draining so the child never blocks on a full pipe
  return {
    endpoint: `${where.host}:${where.port}`,
    port: where.port,
    pid,
    exited,
    stderr: () => stderr,
    waitForStderr: (pattern, timeoutMs = 10_000) =>
      new Promise<string>((resolve, reject) => {
        if (pattern.test(stderr)) {
          resolve(stderr);
          return;
        }
        const onData = () => {
          if (!pattern.test(stderr)) return;
          done();
          resolve(stderr);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`coord store printed nothing matching ${pattern} within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        const onExit = () => {
          done();
          if (pattern.test(stderr)) resolve(stderr);
          else reject(new Error(`coord store exited before printing ${pattern}:\n${stderr}`));
        };
        const done = () => {
          clearTimeout(timer);
          child.stderr?.off('data', onData);
          child.off('exit', onExit);
        };
        // Registered after the accumulating listener above, so `stderr` already holds the chunk.
        child.stderr?.on('data', onData);
        child.once('exit', onExit);
      }),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) killQuietly(pid, signal);
      return exited;
    },
  };
}

/** Runs `coord store ARGS` expecting it to exit by itself (a start-up failure); kills it after `timeoutMs`. */
export async function runStoreToExit(args: readonly string[], timeoutMs = 15_000): Promise<StoreRun> {
  const child = spawnStore(args);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => killQuietly(child.pid as number, 'SIGKILL'), timeoutMs);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exit = await exitOf(child);
  await closed; // all output read
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/** SIGKILLs every store process still running and waits for them to go. */
export function stopAllStoreProcesses(): Promise<void> {
  return stores.killAll();
}

/** A fresh temp directory; remove it with removeTempDir(). */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Names and contents of the regular files in `dir`, to prove a directory was left untouched. */
export function dirContents(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isFile()) out.set(name, readFileSync(p));
  }
  return out;
}

/** Total bytes of the regular files in `dir`. */
export function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name), { throwIfNoEntry: false });
    if (s?.isFile()) total += s.size;
  }
  return total;
}
