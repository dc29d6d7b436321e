// `coord demo load`: a fixed request rate (open loop: a slow answer does not slow the sender, as
// with real users), one line per second with that second's ok/failed counts and p99 latency, and a
// summary with the failure reasons at the end.

export interface LoadOptions {
  rps: number;
  durationS: number;
  /** One request; rejects (with a message worth showing) when it failed. */
  send(): Promise<void>;
  print(line: string): void;
}

export interface LoadResult {
  ok: number;
  failed: number;
  p99Ms: number | undefined;
  reasons: Map<string, number>;
}

class Window {
  ok = 0;
  failed = 0;
  latencies: number[] = [];
  add(ms: number, ok: boolean): void {
    if (ok) this.ok++;
    else this.failed++;
    this.latencies.push(ms);
  }
}

function p99(latencies: number[]): number | undefined {
  if (latencies.length === 0) return undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : `${Math.round(ms)} ms`);

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const total = new Window();
  const reasons = new Map<string, number>();
  let second = new Window();
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const fire = () => {
    const t0 = performance.now();
    inFlight++;
    const p = o.send().then(
      () => record(t0, true),
      (e: Error) => {
        const reason = String(e?.message ?? e).slice(0, 200);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        record(t0, false);
      },
    );
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const record = (t0: number, ok: boolean) => {
    inFlight--;
    const ms = performance.now() - t0;
    second.add(ms, ok);
    total.add(ms, ok);
  };
  o.print(`sending ${o.rps} orders/s for ${o.durationS} s`);
  let sent = 0;
  let tick = 1;
  const end = start + o.durationS * 1000;
  while (performance.now() < end) {
    // Catch up to where the schedule says we should be (timers are late on a busy machine).
    const due = Math.floor(((performance.now() - start) / 1000) * o.rps);
    for (; sent < due; sent++) fire();
    if (performance.now() >= start + tick * 1000) {
      o.print(`${String(tick).padStart(4)}s   ok ${String(second.ok).padStart(4)}   failed ${String(second.failed).padStart(3)}   p99 ${fmt(p99(second.latencies))}   in flight ${inFlight}`);
      second = new Window();
      tick++;
    }
    await new Promise((r) => setTimeout(r, Math.min(10, 1000 / o.rps)));
  }
  await Promise.all(pending);
  const result = { ok: total.ok, failed: total.failed, p99Ms: p99(total.latencies), reasons };
  o.print(`total   ok ${result.ok}   failed ${result.failed}   p99 ${fmt(result.p99Ms)}`);
  for (const [reason, n] of reasons) o.print(`  ${n} x ${reason}`);
  return result;
}
