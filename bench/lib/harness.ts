// Measurement helpers shared by benchmarks: closed-loop load, percentiles, process RSS, tables.
import { readFileSync } from 'node:fs';

export interface LoadOptions {
  /** Workers, each running `op` back to back. */
  concurrency: number;
  /** Untimed run before measuring, so connections, JITs and caches are warm. */
  warmupMs: number;
  durationMs: number;
  /** One operation; `worker` is 0..concurrency-1, `i` counts that worker's calls. */
  op: (worker: number, i: number) => Promise<void>;
  /** A process (the server) whose CPU time over the measured phase is reported per op. */
  cpuOfPid?: number;
}

export interface LoadResult {
  ops: number;
  opsPerSec: number;
  /** Latencies in milliseconds. */
  p50: number;
  p99: number;
  /** CPU time (user + system) of `cpuOfPid` per measured op, in µs; NaN without a pid. */
  cpuUsPerOp: number;
}

/** Closed-loop load: `concurrency` workers issue `op` back to back, timing each call. */
export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const counters = Array.from({ length: options.concurrency }, () => 0);
  const phase = async (ms: number, latencies: number[] | undefined) => {
    const end = performance.now() + ms;
    const worker = async (w: number) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await options.op(w, counters[w]++);
        latencies?.push(performance.now() - t0);
      }
    };
    const started = performance.now();
    await Promise.all(counters.map((_, w) => worker(w)));
    return performance.now() - started;
  };
  await phase(options.warmupMs, undefined);
  const latencies: number[] = [];
  const pid = options.cpuOfPid;
  const cpuBefore = pid === undefined ? NaN : cpuMs(pid);
  const elapsed = await phase(options.durationMs, latencies);
  const cpu = pid === undefined ? NaN : cpuMs(pid) - cpuBefore;
  const sorted = Float64Array.from(latencies).sort();
  return {
    ops: sorted.length,
    opsPerSec: (sorted.length * 1000) / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuUsPerOp: (cpu * 1000) / sorted.length,
  };
}

/** Nearest-rank percentile of ascending `sorted`; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Resident set size of a process, in bytes (VmRSS from /proc; Linux only). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU time (user + system, all threads) a process has used, in ms (from /proc; Linux only). */
export function cpuMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th, in ticks.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

// USER_HZ: 100 on every Linux build Node supports (getconf CLK_TCK); not exposed by Node.
const CLOCK_TICKS = 100;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects with `what` timed out when `promise` takes longer than `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Prints rows as a left-aligned text table with a header rule. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line(r));
}
