import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirError, holderText, type DataDirHolder, type DataDirLock } from './data-dir-holder.ts';

/** The lock file in the data dir; it also records the holder (one line of JSON) for refusals. */
export const LOCK_FILE = 'coord-store.lock';
// What flock runs once it holds the lock: say so, then wait for stdin to close. The store holds the
// other end of that pipe, so it closes when the store exits however it exits (kill -9 too).
const HOLD = 'echo locked; exec cat >/dev/null';
/** How long to wait for a holder that is already dead but whose flock has not yet exited. */
const DEAD_HOLDER_WAIT_MS = 5000;

type Attempt = { kind: 'held'; child: ChildProcess } | { kind: 'busy' } | { kind: 'error'; message: string };

/**
 * The data-dir lock: a kernel flock(2) on `coord-store.lock` in the dir, held by util-linux
 * `flock -x -n` (BusyBox's works too) running `sh -c 'echo locked; exec cat'` with a pipe from the
 * store as stdin. The lock belongs to that open file, so it holds across network namespaces, bind
 * mounts and symlinks; a stopped (SIGSTOP) store keeps it; when the store dies its end of the pipe
 * closes, cat and flock exit and the kernel drops the lock. The child runs in its own process
 * group, so a Ctrl-C meant for the store does not take the lock away during a graceful stop.
 */
export async function lockDataDirByFlock(real: string, me: DataDirHolder, tools: { flock: string; sh: string }): Promise<DataDirLock> {
  const file = join(real, LOCK_FILE);
  let attempt = await tryLock(file, tools);
  if (attempt.kind === 'busy') {
    const holder = readHolder(file);
    // A store killed a moment ago: its cat and flock are exiting, and the lock with them.
    if (holder && isDeadHere(holder)) attempt = await retryWhileBusy(file, tools, DEAD_HOLDER_WAIT_MS);
    if (attempt.kind === 'busy') {
      const who = holder ? holderText(holder) : `no holder recorded yet in ${file}`;
      throw new DataDirError(`coord store: data dir ${real} is in use by another coord store (${who})`);
    }
  }
  if (attempt.kind === 'error') throw new DataDirError(`coord store: cannot lock data dir ${real}: ${attempt.message}`);
  const child = attempt.child;
  const record = () => writeFileSync(file, `${JSON.stringify(me)}\n`); // in place: the lock is on this inode
  try {
    record();
  } catch (e) {
    child.stdin?.end();
    throw new DataDirError(`coord store: cannot lock data dir ${real}: ${(e as Error).message}`);
  }
  let released = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lost = new Promise<Error>((resolve) =>
    child.once('exit', (code, signal) => {
      if (released) return;
      resolve(new Error(`coord store: lost the lock on data dir ${real}: its holder process ${child.pid} exited (${signal ?? `code ${code}`}); stopping, since another store may now take the dir`));
    }),
  );
  // Nothing of the store's waits on the child: the process may exit while it holds the lock.
  for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?(): void } | null)?.unref?.();
  child.unref();
  return {
    setEndpoint(endpoint) {
      me.endpoint = endpoint;
      try {
        record();
      } catch {
        // Only the refusal message of a second store is poorer for it; the lock itself holds.
      }
    },
    lost,
    release: async () => {
      if (!released) {
        released = true;
        child.ref(); // so the process waits for the exit below
        child.stdin?.end();
      }
      await exited;
    },
  };
}

function tryLock(file: string, tools: { flock: string; sh: string }): Promise<Attempt> {
  return new Promise((resolve) => {
    // Short options only: BusyBox's flock knows -x and -n, not the long names or a conflict code.
    const child = spawn(tools.flock, ['-x', '-n', file, tools.sh, '-c', HOLD], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    const done = (a: Attempt) => {
      child.stdout.off('data', onOut);
      resolve(a);
    };
    const onOut = (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked\n')) done({ kind: 'held', child });
    };
    child.stdout.on('data', onOut);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Writing to a dead child's stdin would raise EPIPE here; its exit is what reports a lost lock.
    child.stdin.on('error', () => {});
    child.once('error', (e) => done({ kind: 'error', message: `${tools.flock}: ${e.message}` }));
    child.once('close', (code) => {
      // flock -n exits 1 without a word when the lock is taken; anything else is an error.
      if (code === 1 && err.trim() === '') done({ kind: 'busy' });
      else done({ kind: 'error', message: err.trim().split('\n')[0] || `${tools.flock} exited with code ${code}` });
    });
  });
}

async function retryWhileBusy(file: string, tools: { flock: string; sh: string }, forMs: number): Promise<Attempt> {
  const deadline = Date.now() + forMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    const attempt = await tryLock(file, tools);
    if (attempt.kind !== 'busy' || Date.now() >= deadline) return attempt;
  }
}

function readHolder(file: string): DataDirHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<DataDirHolder>;
    if (typeof h.pid !== 'number') return undefined;
    return { pid: h.pid, host: String(h.host ?? ''), endpoint: String(h.endpoint ?? ''), since: String(h.since ?? 'unknown') };
  } catch {
    return undefined; // not written yet (the holder is starting) or from an unknown writer
  }
}

/** The recorded holder ran on this host and its pid is gone (a pid in another namespace may mislead: then we only wait). */
function isDeadHere(h: DataDirHolder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
