// The relays' Prometheus metrics, labelled `outbox`: one set per prom-client Registry, shared by
// every relay of the process that exports to it. Gauges are read from the relays at each scrape;
// several relays of one outbox in a process (tests, a demo in one process) show the leader's view.
import { Counter, Gauge, register as defaultRegistry, type Registry } from 'prom-client';

/** What a relay tells its metrics at a scrape. */
export interface RelayGaugeSource {
  readonly outbox: string;
  leader(): boolean;
  /** The last measurement, or undefined before the first one. */
  measured(): { backlog: number; oldestAgeSeconds: number } | undefined;
}

export interface OutboxMetrics {
  readonly sent: Counter<'outbox'>;
  readonly errors: Counter<'outbox'>;
  readonly statsErrors: Counter<'outbox'>;
  /** Adds a relay to the gauges; the returned function takes it out. */
  watch(source: RelayGaugeSource): () => void;
}

const byRegistry = new WeakMap<Registry, OutboxMetrics>();

/** The outbox metrics in `registry` (prom-client's default registry when left out), created on first use. */
export function outboxMetrics(registry: Registry = defaultRegistry): OutboxMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  const sources = new Set<RelayGaugeSource>();
  /** Per outbox: the leader's measurement if a relay here leads, else any relay's. */
  const views = () => {
    const out = new Map<string, { leader: boolean; measured?: { backlog: number; oldestAgeSeconds: number } }>();
    for (const s of sources) {
      const v = { leader: s.leader(), measured: s.measured() };
      const cur = out.get(s.outbox);
      if (!cur || (v.leader && !cur.leader) || (!cur.leader && !cur.measured && v.measured)) out.set(s.outbox, v);
    }
    return out;
  };
  const registers = [registry];
  new Gauge({
    registers,
    name: 'coord_outbox_backlog',
    help: 'Outbox events not yet published (unsent), as the relay last measured them.',
    labelNames: ['outbox'],
    collect() {
      this.reset();
      for (const [outbox, v] of views()) if (v.measured) this.set({ outbox }, v.measured.backlog);
    },
  });
  new Gauge({
    registers,
    name: 'coord_outbox_oldest_age_seconds',
    help: "Age of the oldest unsent outbox event, seconds (0 when none): the relay's lag.",
    labelNames: ['outbox'],
    collect() {
      this.reset();
      for (const [outbox, v] of views()) if (v.measured) this.set({ outbox }, v.measured.oldestAgeSeconds);
    },
  });
  new Gauge({
    registers,
    name: 'coord_outbox_relay_leader',
    help: 'Whether a relay of this process is the one relaying the outbox (1) or waits as a standby (0).',
    labelNames: ['outbox'],
    collect() {
      this.reset();
      for (const [outbox, v] of views()) this.set({ outbox }, v.leader ? 1 : 0);
    },
  });
  m = {
    sent: new Counter({ registers, name: 'coord_outbox_sent_total', help: 'Outbox events this process published to the engine (and marked sent).', labelNames: ['outbox'] }),
    errors: new Counter({ registers, name: 'coord_outbox_relay_errors_total', help: 'Failed relay rounds (publish or mark sent), each retried.', labelNames: ['outbox'] }),
    statsErrors: new Counter({ registers, name: 'coord_outbox_stats_errors_total', help: 'Failed backlog measurements or stats publications to etcd, each retried.', labelNames: ['outbox'] }),
    watch(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
  byRegistry.set(registry, m);
  return m;
}
