// Drives the real `etcdctl` (v3 API) against one endpoint: one-shot commands with a bounded run
// time, and long-running ones (watch, lock, elect) as children that are killed by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const ETCDCTL_MISSING = 'etcdctl not found: apt-get install etcd-client to run the etcdctl tests';

/** Full path of `etcdctl` on PATH, or undefined. */
export function etcdctlBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'etcdctl'), constants.X_OK);
      return join(dir, 'etcdctl');
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/** Same policy as requireEtcd(): a skip reason on a laptop without etcdctl, an error in CI. */
export function requireEtcdctl(): string | undefined {
  if (etcdctlBinary()) return undefined;
  if (process.env.CI === 'true') throw new Error(`${ETCDCTL_MISSING} (CI=true: these tests must run in CI)`);
  return ETCDCTL_MISSING;
}

export interface EtcdctlResult {
  code: number | null;
  stdout: string;
  /** stderr without the client library's JSON log lines (they carry timestamps and random ids). */
  stderr: string;
}

export interface EtcdctlChild {
  readonly pid: number;
  /** Everything printed on stdout so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** True once the process has exited. */
  readonly done: boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout satisfies `check`, or after `timeoutMs` (the caller's assertion then shows what was printed). */
  printed(check: (stdout: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Waits for the process to exit on its own; rejects after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` by pid (if still running) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<number>();
let exitHookInstalled = false;

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function track(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous on purpose: a crashed test run must not leave etcdctl processes behind.
  process.on('exit', () => {
    for (const p of running) killQuietly(p, 'SIGKILL');
  });
}

const CLIENT_LOG_LINE = /^\{"level":.*\n?/gm;

/** An etcdctl bound to one endpoint. `--command-timeout` bounds each request; `timeoutMs` bounds the whole process. */
export class Etcdctl {
  readonly #children = new Set<EtcdctlChild>();

  constructor(
    readonly endpoint: string,
    private readonly commandTimeout = '5s',
  ) {}

  #spawn(args: readonly string[]): ChildProcess {
    const bin = etcdctlBinary();
    if (!bin) throw new Error(ETCDCTL_MISSING);
    // Only ETCDCTL_API=3 from the environment's etcdctl settings: anything else could change the output.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCDCTL_')));
    const child = spawn(bin, [`--endpoints=${this.endpoint}`, `--command-timeout=${this.commandTimeout}`, '--dial-timeout=2s', ...args], {
      env: { ...env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) throw new Error(`could not spawn ${bin}`);
    track(child.pid);
    const pid = child.pid;
    child.once('exit', () => running.delete(pid));
    return child;
  }

  /** Runs `etcdctl ARGS` to completion, feeding `input` on stdin; SIGKILLs it after `timeoutMs`. */
  async run(args: readonly string[], { input = '', timeoutMs = 15_000 } = {}): Promise<EtcdctlResult> {
    const child = this.#spawn(args);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // etcdctl may exit before reading its input (EPIPE); its exit status tells what happened.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
    const timer = setTimeout(() => killQuietly(child.pid as number, 'SIGKILL'), timeoutMs);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('close', (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    if (signal === 'SIGKILL') throw new Error(`etcdctl ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stdout}${stderr}`);
    return { code, stdout, stderr: stderr.replace(CLIENT_LOG_LINE, '') };
  }

  /** Runs and returns stdout, failing with the whole output unless etcdctl exits 0. */
  async ok(...args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** The store's current revision (from a Range response header). */
  async revision(): Promise<number> {
    const out = await this.ok('get', 'coord-etcdctl-test-revision-probe', '-w', 'json');
    return Number(/"revision":(\d+)/.exec(out)?.[1]);
  }

  /** Starts a long-running `etcdctl ARGS` (watch, lock, elect); killAll() ends it. */
  start(args: readonly string[]): EtcdctlChild {
    const child = this.#spawn(args);
    const pid = child.pid as number;
    child.stdin?.end();
    let stdout = '';
    let stderr = '';
    let done = false;
    let wake = (): void => {};
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      wake();
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => {
        done = true;
        wake();
        resolve({ code, signal });
      }),
    );
    const handle: EtcdctlChild = {
      pid,
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr.replace(CLIENT_LOG_LINE, '');
      },
      get done() {
        return done;
      },
      exited,
      printed: async (check, timeoutMs = 10_000) => {
        const deadline = Date.now() + timeoutMs;
        while (!check(stdout) && !done && Date.now() < deadline) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(200, deadline - Date.now()));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        return stdout;
      },
      exit: async (timeoutMs = 10_000) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`etcdctl ${args.join(' ')} still running after ${timeoutMs} ms:\n${stdout}${stderr}`)), timeoutMs);
        });
        try {
          return await Promise.race([exited, late]);
        } finally {
          clearTimeout(timer);
        }
      },
      stop: (signal = 'SIGTERM') => {
        if (!done) killQuietly(pid, signal);
        return exited;
      },
    };
    this.#children.add(handle);
    void exited.then(() => this.#children.delete(handle));
    return handle;
  }

  /** SIGKILLs every child started with start() that is still running, and waits for them. */
  async killAll(): Promise<void> {
    await Promise.all([...this.#children].map((c) => c.stop('SIGKILL')));
  }
}
