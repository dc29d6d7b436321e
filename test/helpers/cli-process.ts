// Runs `node bin/coord.js ARGS` as child processes for integration tests: one-shot commands with
// a bounded run time, and long-running ones (watch, elect, lock) that are interrupted by pid.
// Every process started here is SIGKILLed by killAllCli() (call it from an after hook) and, as a
// last resort, when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { patience } from './patience.ts';

const COORD_BIN = new URL('../../bin/coord.js', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliChild {
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with stdout once `check(stdout)` holds; rejects (showing the output) after `timeoutMs` (stretched on a loaded machine: patience.ts) or if the process exits first. */
  printed(check: (stdout: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Waits for the process to exit by itself; SIGKILLs it and rejects after `timeoutMs` (stretched on a loaded machine). */
  exit(timeoutMs?: number): Promise<CliResult>;
  /** Sends `signal` (default SIGINT) by pid, then waits as exit() does. */
  interrupt(signal?: NodeJS.Signals, timeoutMs?: number): Promise<CliResult>;
  /** SIGKILLs it by pid if still running, and waits for it to go. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

// Only what the test passes decides the endpoints and namespace.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COORD_')));

/** Starts `coord ARGS` (with `extraEnv` added); the result is for long-running commands, runCli() for one-shot ones. */
export function startCli(args: readonly string[], extraEnv: Record<string, string> = {}): CliChild {
  const child = spawn(process.execPath, [COORD_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...extraEnv } });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn coord');
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Synchronous on purpose: a crashed test run must not leave coord processes behind.
    process.on('exit', () => {
      for (const c of running) killQuietly(c.pid, 'SIGKILL');
    });
  }
  let stdout = '';
  let stderr = '';
  const wakers = new Set<() => void>();
  const wake = () => wakers.forEach((w) => w());
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' rather than 'exit': all output has been read by then.
  const closed = new Promise<CliResult>((resolve) =>
    child.once('close', (code, signal) => {
      running.delete(child);
      wake();
      resolve({ code, signal, stdout, stderr });
    }),
  );
  let done = false;
  void closed.then(() => (done = true));
  const what = `coord ${args.join(' ')}`;
  const show = () => `\n--- stdout:\n${stdout}--- stderr:\n${stderr}`;

  const exit = async (deadlineMs = 30_000): Promise<CliResult> => {
    const timeoutMs = patience(deadlineMs);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        killQuietly(pid, 'SIGKILL');
        reject(new Error(`${what} still running after ${timeoutMs} ms${show()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([closed, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    pid,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    printed: (check, deadlineMs = 20_000) =>
      new Promise<string>((resolve, reject) => {
        const timeoutMs = patience(deadlineMs);
        const test = () => {
          if (check(stdout)) finish(() => resolve(stdout));
          else if (done) finish(() => reject(new Error(`${what} exited before printing what was expected${show()}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${what} did not print what was expected within ${timeoutMs} ms${show()}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          wakers.delete(test);
          f();
        };
        wakers.add(test);
        test();
      }),
    exit,
    interrupt: (signal = 'SIGINT', timeoutMs) => {
      if (!done) killQuietly(pid, signal);
      return exit(timeoutMs);
    },
    kill: async () => {
      if (!done) killQuietly(pid, 'SIGKILL');
      await closed;
    },
  };
}

/** Runs `coord ARGS` to completion; SIGKILLs it and rejects after `timeoutMs`. */
export function runCli(args: readonly string[], timeoutMs = 30_000, extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, extraEnv).exit(timeoutMs);
}

/** SIGKILLs every coord process started here that is still running, and waits for them. */
export async function killAllCli(): Promise<void> {
  // Still in `running` means 'close' has not been emitted yet, so the listener cannot miss it.
  await Promise.all(
    [...running].map((c) => {
      const gone = new Promise<void>((resolve) => c.once('close', () => resolve()));
      killQuietly(c.pid, 'SIGKILL');
      return gone;
    }),
  );
}
