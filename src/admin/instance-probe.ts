// The dashboard's live figures per instance: grpc.health.v1 Check against the instance's grpc://
// endpoint, and (when the instance advertises a Prometheus endpoint) RPS, error rate and p99 from
// two successive scrapes. Probes run in the background for instances the Services page asked about
// recently; metrics() only reads the cache, so the API never waits on an instance.
import * as grpc from '@grpc/grpc-js';
import { healthClientClass, type HealthClient } from '../grpc/health-client.ts';
import type { ServiceInstance } from '../registry/instance.ts';
import type { InstanceMetrics, InstanceMetricsSource, TopologyEdge } from './instance-metrics.ts';
import { clientRates, parsePrometheus, rateFigures, type Scrape } from './prometheus-text.ts';

export interface InstanceProbeOptions {
  /** How often each instance is probed. Default 2000 ms. */
  intervalMs?: number;
  /** Per-probe timeout (health check and scrape). Default 1000 ms. */
  timeoutMs?: number;
  /** Stop probing an instance nobody asked about for this long. Default 30000 ms. */
  idleMs?: number;
}

function healthClient(address: string): HealthClient {
  return new (healthClientClass())(address, grpc.credentials.createInsecure());
}

/** The Prometheus endpoint an instance advertises: an http(s) endpoint ending in /metrics, or metadata.metrics. */
export function metricsUrl(i: ServiceInstance): string | undefined {
  const fromMeta = i.metadata?.metrics;
  if (typeof fromMeta === 'string' && /^https?:\/\//.test(fromMeta)) return fromMeta;
  return i.endpoints?.find((e) => /^https?:\/\/.+\/metrics$/.test(e));
}

interface Tracked {
  instance: ServiceInstance;
  lastAsked: number;
  health: InstanceMetrics['health'];
  client?: HealthClient;
  previous?: Scrape;
  figures: Pick<InstanceMetrics, 'requestsPerSecond' | 'errorRate' | 'p99Ms'>;
  calls: ReturnType<typeof clientRates>;
  busy: boolean;
}

const NO_FIGURES = { requestsPerSecond: null, errorRate: null, p99Ms: null };

export class InstanceProbe implements InstanceMetricsSource {
  private readonly tracked = new Map<string, Tracked>();
  /** Runs only while some instance is tracked: an admin server nobody looks at probes nothing. */
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly idleMs: number;

  constructor(options: InstanceProbeOptions = {}) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.idleMs = options.idleMs ?? 30_000;
  }

  metrics(instance: ServiceInstance): InstanceMetrics | undefined {
    const key = `${instance.name}/${instance.id}`;
    let t = this.tracked.get(key);
    if (!t) {
      t = { instance, lastAsked: Date.now(), health: 'unknown', figures: NO_FIGURES, calls: [], busy: false };
      this.tracked.set(key, t);
      if (!this.timer) {
        this.timer = setInterval(() => this.tick(), this.intervalMs);
        this.timer.unref();
      }
      void this.probe(t);
    } else {
      if (JSON.stringify(t.instance.endpoints) !== JSON.stringify(instance.endpoints)) {
        t.client?.close();
        t.client = undefined;
        t.previous = undefined;
      }
      t.instance = instance;
      t.lastAsked = Date.now();
    }
    return { health: t.health, ...t.figures };
  }

  /**
   * Edges summed over the instances probed recently. A target written as `etcd:///name` (or a bare
   * registry name) is the service `name`; any other target is shown as reported.
   */
  topology(): TopologyEdge[] {
    const edges = new Map<string, TopologyEdge & { failed: number }>();
    for (const t of this.tracked.values()) {
      for (const c of t.calls) {
        const to = c.target.replace(/^etcd:\/\/[^/]*\//, '').replace(/\?.*$/, '');
        const key = `${t.instance.name}\u0000${to}`;
        const e = edges.get(key) ?? { from: t.instance.name, to, requestsPerSecond: 0, errorRate: 0, failed: 0 };
        e.requestsPerSecond += c.requestsPerSecond;
        e.failed += c.requestsPerSecond * c.errorRate;
        edges.set(key, e);
      }
    }
    return [...edges.values()]
      .map(({ failed, ...e }) => ({ ...e, errorRate: e.requestsPerSecond > 0 ? failed / e.requestsPerSecond : 0 }))
      .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.tracked.values()) t.client?.close();
    this.tracked.clear();
  }

  private tick(): void {
    const now = Date.now();
    for (const [key, t] of this.tracked) {
      if (now - t.lastAsked > this.idleMs) {
        t.client?.close();
        this.tracked.delete(key);
      } else void this.probe(t);
    }
    if (this.tracked.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async probe(t: Tracked): Promise<void> {
    if (t.busy) return;
    t.busy = true;
    try {
      await Promise.all([this.checkHealth(t), this.scrape(t)]);
    } finally {
      t.busy = false;
    }
  }

  private checkHealth(t: Tracked): Promise<void> {
    const grpcEndpoint = t.instance.endpoints?.find((e) => e.startsWith('grpc://'));
    if (!grpcEndpoint) {
      t.health = 'unknown';
      return Promise.resolve();
    }
    t.client ??= healthClient(grpcEndpoint.slice('grpc://'.length));
    const client = t.client;
    return new Promise((resolve) => {
      client.Check({ service: '' }, { deadline: Date.now() + this.timeoutMs }, (err, reply) => {
        if (!err) t.health = reply?.status === 'SERVING' ? 'serving' : 'not-serving';
        // A server without the health service says nothing against itself.
        else if (err.code === grpc.status.UNIMPLEMENTED) t.health = 'unknown';
        else t.health = 'not-serving';
        resolve();
      });
    });
  }

  private async scrape(t: Tracked): Promise<void> {
    const url = metricsUrl(t.instance);
    if (!url) return;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const now = parsePrometheus(await res.text(), performance.now());
      if (t.previous) {
        t.figures = rateFigures(t.previous, now);
        t.calls = clientRates(t.previous, now);
      }
      t.previous = now;
    } catch {
      t.figures = NO_FIGURES;
      t.calls = [];
      t.previous = undefined;
    }
  }
}
