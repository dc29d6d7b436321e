// Stalls of this process's event loop (GC, a starved CPU on a shared machine), and how busy the
// whole machine was: a load generator that stalls delays the calls it starts, so a bench reports
// both beside its results.
import { readFileSync } from 'node:fs';

export interface StallMonitor {
  /** The longest stall, ms, among those that began in [from, to) (ms on the performance clock). */
  maxStallMs(from: number, to: number): number;
  stop(): void;
}

const BEAT_MS = 10;

/** Records every late heartbeat (a stall of more than `minMs`) from now until stop(). */
export function startStallMonitor(minMs = 20): StallMonitor {
  const stalls: Array<{ at: number; ms: number }> = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - BEAT_MS;
    if (late > minMs) stalls.push({ at: last, ms: late });
    last = now;
  }, BEAT_MS);
  return {
    maxStallMs: (from, to) => Math.max(0, ...stalls.filter((s) => s.at >= from && s.at < to).map((s) => s.ms)),
    stop: () => clearInterval(timer),
  };
}

/** Busy and total CPU time of the whole machine so far (all cores, from /proc/stat; Linux only). */
export function machineCpu(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal; guest time is already counted in user.
  const n = fields.slice(0, 8).map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - n[3] - n[4], total };
}

/** Share of the machine's CPU that was busy between two machineCpu() readings. */
export function busyShare(from: { busy: number; total: number }, to: { busy: number; total: number }): number {
  return (to.busy - from.busy) / Math.max(1, to.total - from.total);
}
