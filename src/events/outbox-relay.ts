// The relay: one per outbox across every instance (an election, `outbox-relay/<name>`), publishing
// unsent events in outbox order and then marking them sent. A relay killed between the two
// publishes the same events again when it (or another instance) takes over; the engine drops them
// by id within its dedupe window, and idempotent consumers drop whatever gets past that.
//
// Every instance also measures the outbox's backlog every `statsIntervalMs` and publishes it, for
// the CLI and the dashboard, under the client's lease (gone when the process is):
//
//   <ns>events/outbox/<outbox>/<instance>   {"outbox","instance","leader","backlog","oldestAgeSeconds","sent","errors","updated"}
//
// and as Prometheus metrics labelled `outbox` (outbox-metrics.ts).
import type { Registry } from 'prom-client';
import { pause } from '../core/backoff.ts';
import { CoordError } from '../core/errors.ts';
import type { Coord } from '../coord.ts';
import { retryDelay, type EventEngine } from './event.ts';
import type { OutboxSource } from './outbox.ts';
import { outboxMetrics } from './outbox-metrics.ts';

/** Options for {@link startRelay}; defaults in each field's doc. */
export interface RelayOptions {
  coord: Coord;
  outbox: OutboxSource;
  engine: EventEngine;
  /** The outbox's name: one relay per name runs at a time. Required. */
  name: string;
  /** This instance, as the election value (who relays). Default `<hostname>-<pid>`. */
  instance?: string;
  /** Events per publish. Default 100. */
  batch?: number;
  /**
   * How often an idle relay looks for new events, ms. Right after a round that found events it
   * looks again sooner (a tenth of this, doubling on each empty look up to this), so events that
   * follow each other wait less than a full interval. Default 50.
   */
  pollMs?: number;
  /** One line per notable event (elected, lost, a failed publish). Default none. */
  log?: (line: string) => void;
  /** How often the backlog is measured and published to etcd, ms. Default 5000. */
  statsIntervalMs?: number;
  /**
   * The prom-client registry for the relay's metrics (`coord_outbox_*`, labelled `outbox`): pass
   * `obs.registry` of createObservability(); false for none. Default prom-client's default registry.
   */
  registry?: Registry | false;
}

/** What a relay publishes at `<ns>events/outbox/<outbox>/<instance>`. */
export interface RelayReport {
  outbox: string;
  instance: string;
  /** Whether this instance was relaying. */
  leader: boolean;
  /** Unsent events when measured. */
  backlog: number;
  /** Age of the oldest unsent event when measured, seconds (0 when none). */
  oldestAgeSeconds: number;
  /** Events this instance published since it started. */
  sent: number;
  /** Failed relay rounds of this instance, each retried. */
  errors: number;
  /** When measured (ISO 8601). */
  updated: string;
}

/** The etcd key a relay's report is published under. */
export const relayReportKey = (namespace: string, outbox: string, instance: string): string => `${namespace}events/outbox/${encodeURIComponent(outbox)}/${encodeURIComponent(instance)}`;

export interface RelayStats {
  /** Whether this instance is the relay now. */
  leader: boolean;
  /** Events this instance published. */
  published: number;
  /** Age of the oldest unsent event at the last look, ms (0 when none). */
  lagMs: number;
  /** Unsent events at the last look. */
  backlog: number;
  /** Failed rounds (publish or mark), each retried. */
  errors: number;
}

export interface Relay {
  stats(): RelayStats;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function startRelay(options: RelayOptions): Relay {
  // Defaults apply to options left out or given as undefined (a spread would let undefined win).
  const o = {
    ...options,
    batch: options.batch ?? 100,
    pollMs: options.pollMs ?? 50,
    log: options.log ?? (() => {}),
    instance: options.instance ?? `${process.env.HOSTNAME ?? 'host'}-${process.pid}`,
    statsIntervalMs: options.statsIntervalMs ?? 5000,
  };
  if (!Number.isInteger(o.batch) || o.batch < 1 || o.batch > 10_000) throw new CoordError('invalid-argument', `outbox relay ${o.name}: batch must be an integer from 1 to 10000 (got ${o.batch})`);
  const stop = new AbortController();
  const stats: RelayStats = { leader: false, published: 0, lagMs: 0, backlog: 0, errors: 0 };
  let measured = false;
  const metrics = o.registry === false ? undefined : outboxMetrics(o.registry);
  const unwatch = metrics?.watch({
    outbox: o.name,
    leader: () => stats.leader,
    measured: () => (measured ? { backlog: stats.backlog, oldestAgeSeconds: stats.lagMs / 1000 } : undefined),
  });

  const relayWhileLeader = async (signal: AbortSignal) => {
    // Empty looks since the last round that found events: the next wait doubles from pollMs/10.
    let idle = 0;
    for (let failures = 0; !signal.aborted; ) {
      try {
        const entries = await o.outbox.pending(o.batch);
        if (entries.length === 0) {
          // Nothing unsent: that is the backlog too, without a second query.
          stats.backlog = 0;
          stats.lagMs = 0;
          measured = true;
          await pause(Math.min(o.pollMs, (o.pollMs / 10) * 2 ** idle++), signal);
          continue;
        }
        idle = 0;
        stats.lagMs = Math.max(0, Date.now() - new Date(entries[0].event.time).getTime());
        await o.engine.publish(entries.map((e) => e.event), { signal });
        await o.outbox.markSent(entries.map((e) => e.ref));
        stats.published += entries.length;
        metrics?.sent.inc({ outbox: o.name }, entries.length);
        failures = 0;
      } catch (e) {
        if (signal.aborted) return;
        stats.errors++;
        metrics?.errors.inc({ outbox: o.name });
        failures++;
        o.log(`outbox relay ${o.name}: ${(e as Error).message}; again in ${retryDelay(failures, 100)} ms`);
        await pause(retryDelay(failures, 100), signal);
      }
    }
  };

  const run = async () => {
    for (let failures = 0; !stop.signal.aborted; ) {
      try {
        const leadership = await o.coord.campaign(`outbox-relay/${o.name}`, o.instance, { signal: stop.signal });
        stats.leader = true;
        failures = 0;
        o.log(`outbox relay ${o.name}: relaying (leader ${o.instance})`);
        try {
          await relayWhileLeader(AbortSignal.any([stop.signal, leadership.signal]));
        } finally {
          stats.leader = false;
          if (stop.signal.aborted) await leadership.resign().catch((e: unknown) => o.log(`outbox relay ${o.name}: resign failed (${(e as Error).message}); the lease ends it`));
          else o.log(`outbox relay ${o.name}: leadership lost; campaigning again`);
        }
      } catch (e) {
        if (stop.signal.aborted) break;
        failures++;
        o.log(`outbox relay ${o.name}: campaign failed (${(e as Error).message}); again in ${retryDelay(failures, 200)} ms`);
        await pause(retryDelay(failures, 200), stop.signal);
      }
    }
  };
  const reportKey = relayReportKey(o.coord.namespace, o.name, o.instance);
  /** Measures the backlog and publishes the report under the client's shared lease (the one its elections use). */
  const report = async () => {
    const b = await o.outbox.backlog();
    stats.backlog = b.count;
    stats.lagMs = b.oldestAgeMs;
    measured = true;
    const r: RelayReport = { outbox: o.name, instance: o.instance, leader: stats.leader, backlog: b.count, oldestAgeSeconds: b.oldestAgeMs / 1000, sent: stats.published, errors: stats.errors, updated: new Date().toISOString() };
    const session = await o.coord.sessions.supervisor(10).session(stop.signal);
    await o.coord.etcd.put(reportKey, JSON.stringify(r), { lease: session.lease, signal: stop.signal });
  };
  const reportLoop = async () => {
    for (let failures = 0; !stop.signal.aborted; ) {
      try {
        await report();
        failures = 0;
        await pause(o.statsIntervalMs, stop.signal);
      } catch (e) {
        if (stop.signal.aborted) break;
        failures++;
        metrics?.statsErrors.inc({ outbox: o.name });
        const wait = Math.min(o.statsIntervalMs, retryDelay(failures, 200));
        o.log(`outbox relay ${o.name}: stats not published (${(e as Error).message}); again in ${wait} ms`);
        await pause(wait, stop.signal);
      }
    }
  };
  const running = run();
  const reporting = reportLoop();
  const relay: Relay = {
    stats: () => ({ ...stats }),
    async close() {
      stop.abort();
      await Promise.all([running, reporting]);
      unwatch?.();
      // The lease would remove it too, but only when the process ends (the lease is shared).
      await o.coord.etcd.delete(reportKey).catch((e: unknown) => o.log(`outbox relay ${o.name}: its stats key ${reportKey} was not removed (${(e as Error).message}); the lease removes it when this client closes`));
    },
    [Symbol.asyncDispose]: () => relay.close(),
  };
  return relay;
}
