// The processes a test helper starts (coord store, Go programs, echo services): each is tracked by
// pid until it exits, killAll() SIGKILLs what is left and waits for it (call it from an after
// hook), and, as a last resort, everything still running is killed when the test process exits.
import type { ChildProcess } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Resolves when `child` has exited (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export class ChildTracker {
  private readonly running = new Set<ChildProcess>();

  /** Tracks `child` until it exits; returns its pid (throws `could not spawn <what>` without one). */
  track(child: ChildProcess, what: string): number {
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${what}`);
    this.running.add(child);
    live.add(child);
    child.once('exit', () => {
      this.running.delete(child);
      live.delete(child);
    });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // 'exit' listeners cannot await: a crashed test run must still leave no process behind.
      process.on('exit', () => {
        for (const c of live) if (c.pid !== undefined) killQuietly(c.pid, 'SIGKILL');
      });
    }
    return pid;
  }

  /** SIGKILLs every tracked process still running and waits for them to go. */
  async killAll(): Promise<void> {
    const all = [...this.running];
    for (const c of all) killQuietly(c.pid!, 'SIGKILL');
    await Promise.all(all.map(exitOf));
  }
}

/** Resolves once `child`'s stdout or stderr has printed a match of `ready`; rejects with the output if it exits first or after `timeoutMs`. */
export function readyLine(child: ChildProcess, ready: RegExp, what: string, timeoutMs: number): Promise<void> {
  let out = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not become ready in ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}:\n${out}`));
    });
  });
}
