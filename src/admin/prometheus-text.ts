// Just enough of the Prometheus text exposition format to turn two scrapes of a coord service's
// /metrics into requests per second, error rate and p99 (from the server-side RED metrics).

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** performance.now() when the scrape was taken. */
  at: number;
  samples: Map<string, Sample[]>;
}

/** Server-side RED metrics written by etcd-coord/observability's gRPC server interceptor (src/observability/metrics.ts). */
export const SERVER_REQUESTS = 'grpc_server_handled_total';
export const SERVER_DURATION_BUCKET = 'grpc_server_handling_seconds_bucket';
/** Client-side calls by target: who this instance calls (the topology's edges). */
export const CLIENT_REQUESTS = 'grpc_client_handled_total';

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string, at: number): Scrape {
  const samples = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') continue;
    let list = samples.get(m[1]!);
    if (!list) samples.set(m[1]!, (list = []));
    list.push({ labels, value });
  }
  return { at, samples };
}

/** Infrastructure calls (health checks, reflection) are not the service's traffic. */
const isInfra = (s: Sample) => (s.labels.grpc_service ?? '').startsWith('grpc.');

function total(scrape: Scrape, name: string, filter: (s: Sample) => boolean): number {
  let sum = 0;
  for (const s of scrape.samples.get(name) ?? []) if (!isInfra(s) && filter(s)) sum += s.value;
  return sum;
}

/**
 * Figures over the interval between two scrapes. A counter that went down means the process
 * restarted: the figures are then unknown (null) rather than negative.
 */
export function rateFigures(before: Scrape, after: Scrape): { requestsPerSecond: number | null; errorRate: number | null; p99Ms: number | null } {
  const seconds = (after.at - before.at) / 1000;
  if (!after.samples.has(SERVER_REQUESTS) || seconds <= 0) return { requestsPerSecond: null, errorRate: null, p99Ms: null };
  const all = total(after, SERVER_REQUESTS, () => true) - total(before, SERVER_REQUESTS, () => true);
  const failed = total(after, SERVER_REQUESTS, (s) => s.labels.grpc_code !== 'OK') - total(before, SERVER_REQUESTS, (s) => s.labels.grpc_code !== 'OK');
  if (all < 0 || failed < 0) return { requestsPerSecond: null, errorRate: null, p99Ms: null };
  return { requestsPerSecond: all / seconds, errorRate: all === 0 ? 0 : failed / all, p99Ms: all === 0 ? null : p99(before, after) };
}

/** p99 from the cumulative duration buckets accumulated between the scrapes, interpolated in the bucket. */
function p99(before: Scrape, after: Scrape): number | null {
  const perLe = new Map<number, number>();
  const add = (scrape: Scrape, sign: number) => {
    for (const s of scrape.samples.get(SERVER_DURATION_BUCKET) ?? []) {
      if (isInfra(s)) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      perLe.set(le, (perLe.get(le) ?? 0) + sign * s.value);
    }
  };
  add(after, 1);
  add(before, -1);
  const bounds = [...perLe.keys()].sort((a, b) => a - b);
  const count = perLe.get(Infinity) ?? 0;
  if (count <= 0) return null;
  const rank = 0.99 * count;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const c = perLe.get(le)!;
    if (c >= rank) {
      if (le === Infinity) return prevLe * 1000;
      const within = c - prevCount;
      const frac = within > 0 ? (rank - prevCount) / within : 1;
      return (prevLe + (le - prevLe) * frac) * 1000;
    }
    prevLe = le;
    prevCount = c;
  }
  return null;
}

/** Calls per second this instance made to each target between the scrapes (restarted counters: none). */
export function clientRates(before: Scrape, after: Scrape): Array<{ target: string; requestsPerSecond: number; errorRate: number }> {
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return [];
  const sum = (scrape: Scrape) => {
    const m = new Map<string, { all: number; failed: number }>();
    for (const s of scrape.samples.get(CLIENT_REQUESTS) ?? []) {
      if (isInfra(s) || !s.labels.target) continue;
      const e = m.get(s.labels.target) ?? { all: 0, failed: 0 };
      e.all += s.value;
      if (s.labels.grpc_code !== 'OK') e.failed += s.value;
      m.set(s.labels.target, e);
    }
    return m;
  };
  const [b, a] = [sum(before), sum(after)];
  const out: Array<{ target: string; requestsPerSecond: number; errorRate: number }> = [];
  for (const [target, now] of a) {
    const was = b.get(target) ?? { all: 0, failed: 0 };
    const all = now.all - was.all;
    const failed = now.failed - was.failed;
    if (all < 0 || failed < 0) continue;
    out.push({ target, requestsPerSecond: all / seconds, errorRate: all === 0 ? 0 : failed / all });
  }
  return out.sort((x, y) => x.target.localeCompare(y.target));
}
