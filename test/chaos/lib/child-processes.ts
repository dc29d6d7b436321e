// Child processes of a chaos run: TypeScript entry points started with tsx, reporting JSON lines
// on stdout. Every process is killed by pid — SIGCONT first, since a stopped process would only
// die once continued — when its set is closed and, as a last resort, when this process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const TSX = import.meta.resolve('tsx');
const live = new Set<number>();
let exitHookInstalled = false;

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' listeners cannot await: an interrupted run must still leave no process behind.
  process.on('exit', () => {
    for (const pid of live) {
      signalQuietly(pid, 'SIGCONT');
      signalQuietly(pid, 'SIGKILL');
    }
  });
}

export interface Child {
  readonly pid: number;
  /** Resolves with the exit code or signal, however the process ended. */
  readonly exited: Promise<string>;
  /** Last few KB of stderr, for error messages. */
  stderr(): string;
  /** Sends a signal by pid; a no-op once the process is gone. */
  signal(signal: NodeJS.Signals): void;
}

export class ChildSet {
  private readonly children = new Map<number, ChildProcess>();

  /** Starts `node --import tsx <file> ...args`; `onLine` gets each stdout line. */
  start(file: URL, args: string[], onLine: (line: string) => void): Child {
    installExitHook();
    const child = spawn(process.execPath, ['--import', TSX, file.pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${file.pathname}`);
    live.add(pid);
    this.children.set(pid, child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
    createInterface({ input: child.stdout! }).on('line', onLine);
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(pid);
        this.children.delete(pid);
        resolve(signal ?? `exit ${code}`);
      }),
    );
    return {
      pid,
      exited,
      stderr: () => stderr,
      signal: (signal) => {
        if (live.has(pid)) signalQuietly(pid, signal);
      },
    };
  }

  /** SIGCONT then SIGKILL every process of this set, by pid, and waits until all are gone. */
  async close(): Promise<void> {
    const all = [...this.children.values()];
    const gone = all.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
    for (const c of all) {
      signalQuietly(c.pid!, 'SIGCONT');
      signalQuietly(c.pid!, 'SIGKILL');
    }
    await Promise.all(gone);
  }
}
