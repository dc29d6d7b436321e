// Processes of the journey suite: programs run by plain node inside the project that installed the
// packed tarball, read line by line; the test waits for whole lines, never for a fixed time.
import { spawn, type ChildProcess } from 'node:child_process';
import { cleanEnv } from '../helpers/package-install.ts';
import { ChildTracker, exitOf, type Exit } from '../helpers/child-tracker.ts';

const tracker = new ChildTracker();

export interface JourneyProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** stdout lines so far. */
  readonly lines: string[];
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** Resolves with the first stdout line (from `from` on) matching `re`; rejects if the process exits first or after `timeoutMs`. */
  line(re: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<{ line: string; index: number; at: number }>;
  readonly exited: Promise<Exit>;
  signal(signal: NodeJS.Signals): void;
}

/** Runs `args` with `cmd` in `cwd` (a process group of its own, so a test can stop all of it). */
export function start(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): JourneyProcess {
  const child = spawn(cmd, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = tracker.track(child, `${cmd} ${args.join(' ')}`);
  const lines: string[] = [];
  const times: number[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    partial += c.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      lines.push(p);
      times.push(performance.now());
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = exitOf(child);
  void exited.then(() => {
    for (const w of waiters) w();
  });
  const output = () => `--- stdout\n${out}\n--- stderr\n${err}`;
  const line = (re: RegExp, o: { from?: number; timeoutMs?: number } = {}) =>
    new Promise<{ line: string; index: number; at: number }>((resolve, reject) => {
      const timer = setTimeout(() => finish(() => reject(new Error(`no line matching ${re} within ${o.timeoutMs ?? 60_000} ms\n${output()}`))), o.timeoutMs ?? 60_000);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      const check = () => {
        for (let i = o.from ?? 0; i < lines.length; i++) {
          if (re.test(lines[i])) return finish(() => resolve({ line: lines[i], index: i, at: times[i] }));
        }
        if (child.exitCode !== null || child.signalCode !== null) finish(() => reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before a line matching ${re}\n${output()}`)));
      };
      waiters.add(check);
      check();
    });
  return {
    pid,
    child,
    lines,
    output,
    line,
    exited,
    signal: (s) => {
      try {
        process.kill(pid, s);
      } catch {
        // gone already
      }
    },
  };
}

/** SIGKILLs every process (group) still running. */
export async function killAll(): Promise<void> {
  await tracker.killAll();
}
