// Runs `coord dev --demo` (or `npm start`, which is the same) as a real process tree for the demo
// tests: free ports, its own state directory, its own process group (so SIGINT to the group is a
// Ctrl-C in a terminal). Parses the banner it prints. Everything started here is SIGKILLed by
// pid when the test process exits, however it ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const COORD_BIN = join(ROOT, 'bin/coord.js');

export interface Banner {
  storeEndpoint: string;
  dashboardUrl: string;
  gatewayUrl: string;
  token: string;
  curls: string[];
}

export interface DevProcess {
  readonly pid: number;
  /** The state directory (COORD_DEV_DIR): data/, logs/, dev.json. */
  readonly dir: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the parsed banner once printed; rejects if the process exits first or after `timeoutMs`. */
  banner(timeoutMs?: number): Promise<Banner>;
  /** Pids of the demo service instances, from dev.json. */
  servicePids(): number[];
  /**
   * Sends `signal` to the `coord dev` process (not to npm in front of it: npm re-raises a SIGINT
   * it receives on itself, which would hide coord dev's exit code) and waits for the process
   * started here to exit (the group is SIGKILLed after `timeoutMs`).
   */
  interrupt(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<DevProcess>();
let hooked = false;
function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Kills (SIGKILL) every dev process group and demo service started here. */
export function killAllDev(): void {
  for (const d of started) {
    for (const pid of d.servicePids()) killQuietly(pid, 'SIGKILL');
    killQuietly(-d.pid, 'SIGKILL');
  }
}

export interface DevOptions {
  /** Run `npm start -- <args>` instead of `node bin/coord.js dev --demo <args>`. */
  viaNpm?: boolean;
  /** Extra arguments. Ports default to free ones. */
  args?: string[];
  dir?: string;
  /** Directory to run in (a clean copy of the repository, say). Default this repository. */
  cwd?: string;
}

export function startDev(options: DevOptions = {}): DevProcess {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'coord-dev-'));
  const args = ['--listen', '127.0.0.1:0', '--dashboard-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0', ...(options.args ?? [])];
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COORD_'))), COORD_DEV_DIR: dir };
  const child: ChildProcess = options.viaNpm
    ? spawn('npm', ['start', '--', ...args], { cwd: options.cwd ?? ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [join(options.cwd ?? ROOT, 'bin/coord.js'), 'dev', '--demo', ...args], { cwd: options.cwd ?? ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let out = '';
  let err = '';
  const wake = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c;
    wake.forEach((w) => w());
  });
  child.stderr!.on('data', (c: Buffer) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      wake.forEach((w) => w());
      resolve({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  let pids: number[] = [];
  let devPid: number | undefined;
  const dev: DevProcess = {
    pid,
    dir,
    stdout: () => out,
    stderr: () => err,
    exited,
    servicePids() {
      if (pids.length === 0) {
        try {
          const state = JSON.parse(readFileSync(join(dir, 'dev.json'), 'utf8')) as { pid: number; instances: Array<{ pid: number }> };
          pids = state.instances.map((i) => i.pid);
          devPid = state.pid;
        } catch {
          // not written yet
        }
      }
      return pids;
    },
    banner: (timeoutMs = 180_000) =>
      new Promise<Banner>((resolve, reject) => {
        const check = () => {
          const b = parseBanner(out);
          if (b) finish(() => resolve(b));
          else if (done) finish(() => reject(new Error(`coord dev exited before printing its banner\n--- stdout:\n${out}\n--- stderr:\n${err}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no banner within ${timeoutMs} ms\n--- stdout:\n${out}\n--- stderr:\n${err}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          wake.delete(check);
          f();
        };
        wake.add(check);
        check();
      }),
    async interrupt(signal = 'SIGINT', timeoutMs = 60_000) {
      dev.servicePids();
      if (!done) killQuietly(devPid ?? pid, signal);
      const timer = setTimeout(() => killQuietly(-pid, 'SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  started.add(dev);
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllDev);
  }
  return dev;
}

/** The banner's URLs, token and curl commands, once all of it has been printed. */
export function parseBanner(out: string): Banner | undefined {
  const storeEndpoint = /^ {2}store {7}(\S+)/m.exec(out)?.[1];
  const dashboardUrl = /^ {2}dashboard {3}(http\S+)/m.exec(out)?.[1];
  const gatewayUrl = /^ {2}gateway {5}(http\S+)/m.exec(out)?.[1];
  const token = /creating an order needs it:\n {2}(\S+)/.exec(out)?.[1];
  const curls = [...out.matchAll(/^ {2}(curl .*)$/gm)].map((m) => m[1]);
  if (!storeEndpoint || !dashboardUrl || !gatewayUrl || !token || curls.length < 3 || !/Then watch it/.test(out)) return undefined;
  return { storeEndpoint, dashboardUrl, gatewayUrl, token, curls };
}

/** Splits a shell command line into words: bare words and '…' / "…" quoted ones (what the banner uses). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]);
  return words;
}

/** A curl command line as fetch arguments (-X, -H, -d, -s and the URL). */
export function curlToFetch(line: string): { url: string; init: RequestInit } {
  const words = shellWords(line);
  if (words[0] !== 'curl') throw new Error(`not a curl command: ${line}`);
  const headers: Record<string, string> = {};
  let method: string | undefined;
  let body: string | undefined;
  let url: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w === '-s') continue;
    else if (w === '-X') method = words[++i];
    else if (w === '-H') {
      const h = words[++i];
      const c = h.indexOf(':');
      headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
    } else if (w === '-d') body = words[++i];
    else if (w.startsWith('-')) throw new Error(`curlToFetch: unsupported option ${w}`);
    else url = w;
  }
  if (!url) throw new Error(`no URL in ${line}`);
  return { url, init: { method: method ?? (body === undefined ? 'GET' : 'POST'), headers, body } };
}
