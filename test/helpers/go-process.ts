// Runs a Go program built by go-program.ts that prints one JSON object per line on stdout, and
// follows those lines. Every process started here is killed by pid in stopGoProcesses() (call it
// from an after hook) and, as a last resort, when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ChildTracker, exitOf, killQuietly, type Exit } from './child-tracker.ts';

export type { Exit };

export type GoLine = Record<string, unknown>;

export interface GoProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every JSON line printed so far, in order. */
  readonly lines: GoLine[];
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<Exit>;
  stderr(): string;
  /** The first line (already printed or still to come) `match` accepts; rejects after `ms` or if the process exits first. */
  waitFor(match: (line: GoLine) => boolean, what: string, ms?: number): Promise<GoLine>;
  /** Sends `signal` (default SIGKILL) by pid unless the process is gone; resolves on exit. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
}

const goProcesses = new ChildTracker();

export function startGoProcess(bin: string, args: string[]): GoProcess {
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = goProcesses.track(child, bin);
  const exited = exitOf(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines: GoLine[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as GoLine);
    } catch {
      lines.push({ unparsed: line });
    }
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const waitFor = (match: (line: GoLine) => boolean, what: string, ms = 30_000): Promise<GoLine> =>
    new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < lines.length; seen++) {
          if (!match(lines[seen]!)) continue;
          done();
          resolve(lines[seen]!);
          return;
        }
      };
      const fail = (why: string) => {
        done();
        reject(new Error(`${bin.split('/').pop()} (pid ${pid}): ${why} waiting for ${what}; last line: ${JSON.stringify(lines.at(-1))}; stderr: ${stderr.slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`nothing after ${ms} ms`), ms);
      // Lines still in the pipe are read before 'close'.
      void closed.then(() => {
        check();
        if (waiters.has(check)) fail('exited');
      });
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    pid,
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitFor,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) killQuietly(pid, signal);
      return exited;
    },
  };
}

/** SIGKILLs every Go process still running (by pid) and waits for them to go. */
export function stopGoProcesses(): Promise<void> {
  return goProcesses.killAll();
}
