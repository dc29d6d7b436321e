// One data dir, one store: a second `coord store` on a dir in use refuses to start with one line
// naming the holder and leaves its data alone — also from another network namespace (another
// container on the same volume) and through a bind mount of the dir; once the holder is killed
// (-9, no clean-up), a new store takes the dir at once. The lock is a flock(2) on a file in the dir.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startStore } from '../../src/store/index.ts';
import { ChildTracker, exitOf, killQuietly } from '../helpers/child-tracker.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { makeTempDir, removeTempDir, runStoreToExit, startStoreProcess, stopAllStoreProcesses, type StoreRun } from '../helpers/store-process.ts';

const COORD_BIN = new URL('../../bin/coord.js', import.meta.url).pathname;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const wrapped = new ChildTracker();
// Generous: a loaded machine can take many seconds to start node; only a failing run waits this long.
const EXIT_TIMEOUT_MS = 90_000;

/** Runs `coord store ARGS` under `wrapper` (a command that ends by exec'ing its arguments) until it exits. */
async function runWrappedStoreToExit(wrapper: string[], args: string[], timeoutMs = EXIT_TIMEOUT_MS): Promise<StoreRun> {
  const child = spawn(wrapper[0], [...wrapper.slice(1), process.execPath, COORD_BIN, 'store', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = wrapped.track(child, wrapper[0]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), timeoutMs);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exit = await exitOf(child);
  await closed;
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/** The pids of `parent`'s children named `comm`, from /proc. */
function childrenNamed(parent: number, comm: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid ...
    const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (m && m[1] === comm && Number(m[2]) === parent) out.push(Number(name));
  }
  return out;
}

describe('coord store data-dir lock', () => {
  const root = makeTempDir('coord-dir-lock-');
  after(async () => {
    await stopAllStoreProcesses();
    await wrapped.killAll();
    removeTempDir(root);
  });

  function refusedBy(run: StoreRun, dir: string, holder: { pid: number; endpoint: string }): void {
    assert.equal(run.code, 1, `expected exit 1, got ${run.code ?? run.signal}; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const lines = run.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(
      lines[0],
      new RegExp(`^coord store: data dir ${escape(dir)} is in use by another coord store \\(pid ${holder.pid} on ${escape(hostname())} serving ${escape(holder.endpoint)}, since \\S+\\)$`),
    );
  }

  it('a second store on the same dir exits 1 with one line naming the holder, also while the holder is stopped; the first keeps its data', async () => {
    const dir = join(root, 'shared');
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const client = new RawClient(first.endpoint);
    try {
      await client.put({ key: 'k', value: 'v1' });
      refusedBy(await runStoreToExit(['--data-dir', dir, '--listen', '127.0.0.1:0'], EXIT_TIMEOUT_MS), dir, first);
      process.kill(first.pid, 'SIGSTOP');
      try {
        refusedBy(await runStoreToExit(['--data-dir', dir, '--listen', '127.0.0.1:0'], EXIT_TIMEOUT_MS), dir, first);
      } finally {
        process.kill(first.pid, 'SIGCONT');
      }
      await client.put({ key: 'k', value: 'v2' });
      assert.equal((await client.range({ key: 'k' })).kvs[0].value.toString(), 'v2');
    } finally {
      client.close();
    }
    await first.kill('SIGKILL');
    const next = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const again = new RawClient(next.endpoint);
    try {
      assert.equal((await again.range({ key: 'k' })).kvs[0].value.toString(), 'v2', 'the killed store left no stale lock and no lost write');
    } finally {
      again.close();
      await next.kill('SIGTERM');
    }
  });

  it('a store in another network namespace (unshare -rn) on the same dir is refused', async () => {
    const dir = join(root, 'netns');
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    // A fresh network namespace has its loopback down: bring it up so the store can listen.
    const inNetns = ['unshare', '-rn', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'];
    refusedBy(await runWrappedStoreToExit(inNetns, ['--data-dir', dir, '--listen', '127.0.0.1:0']), dir, first);
    await first.kill('SIGKILL');
  });

  it('a store reaching the dir through a bind mount is refused', async () => {
    const dir = join(root, 'bound');
    const mountPoint = join(root, 'mount-point');
    mkdirSync(mountPoint);
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    // The bind mount lives in a private mount namespace, gone when the store in it exits.
    const throughBind = ['unshare', '-m', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', dir, mountPoint];
    refusedBy(await runWrappedStoreToExit(throughBind, ['--data-dir', mountPoint, '--listen', '127.0.0.1:0']), mountPoint, first);
    await first.kill('SIGKILL');
  });

  it('without flock(1) on PATH a store warns and still refuses a dir a store on this host holds', async () => {
    const dir = join(root, 'no-flock');
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const run = await runWrappedStoreToExit(['env', 'PATH=/nonexistent'], ['--data-dir', dir, '--listen', '127.0.0.1:0']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /Warning: coord store: flock\(1\) \(util-linux\) not found on PATH; data dir .* is locked with a Unix socket instead/);
    refusedBy({ ...run, stderr: run.stderr.trimEnd().split('\n').at(-1)! }, dir, first);
    await first.kill('SIGKILL');
  });

  it('a store whose lock holder process is killed stops with one line; the next store takes the dir', async () => {
    const dir = join(root, 'helper-killed');
    const first = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const [flock] = childrenNamed(first.pid, 'flock');
    assert.ok(flock, 'the store runs flock(1) as its lock holder');
    process.kill(flock, 'SIGKILL');
    const exit = await first.exited;
    assert.equal(exit.code, 1);
    assert.match(first.stderr(), new RegExp(`^coord store: fatal: coord store: lost the lock on data dir ${escape(dir)}: its holder process ${flock} exited \\(SIGKILL\\)`, 'm'));
    const next = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    await next.kill('SIGTERM');
  });

  it('in one process too: startStore refuses a dir another store holds and takes it after close()', async () => {
    const dir = join(root, 'in-process');
    const a = await startStore({ listen: '127.0.0.1:0', dataDir: dir });
    await assert.rejects(startStore({ listen: '127.0.0.1:0', dataDir: dir }), (e: Error) => e.message.includes(`is in use by another coord store (pid ${process.pid} on ${hostname()} serving ${a.endpoint}`));
    await a.close();
    const b = await startStore({ listen: '127.0.0.1:0', dataDir: dir });
    await b.close();
  });
});
