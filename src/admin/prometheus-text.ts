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

/** Server-side RED metrics written by coord/observability's gRPC server interceptor. */
export const SERVER_REQUESTS = 'coord_grpc_server_requests_total';
export const SERVER_DURATION_BUCKET = 'coord_grpc_server_duration_seconds_bucket';

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
const isInfra = (s: Sample) => (s.labels.service ?? '').startsWith('grpc.');

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
  const failed = total(after, SERVER_REQUESTS, (s) => s.labels.code !== 'OK') - total(before, SERVER_REQUESTS, (s) => s.labels.code !== 'OK');
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
