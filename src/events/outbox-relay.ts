// The relay: one per outbox across every instance (an election, `outbox-relay/<name>`), publishing
// unsent events in outbox order and then marking them sent. A relay killed between the two
// publishes the same events again when it (or another instance) takes over; the engine drops them
// by id within its dedupe window, and idempotent consumers drop whatever gets past that.
import { pause } from '../core/backoff.ts';
import type { Coord } from '../coord.ts';
import { retryDelay, type EventEngine } from './event.ts';
import type { OutboxSource } from './outbox.ts';

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
  /** How often an idle relay looks for new events, ms. Default 50. */
  pollMs?: number;
  /** One line per notable event (elected, lost, a failed publish). Default none. */
  log?: (line: string) => void;
}

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
  const o = { batch: 100, pollMs: 50, log: () => {}, instance: `${process.env.HOSTNAME ?? 'host'}-${process.pid}`, ...options };
  const stop = new AbortController();
  const stats: RelayStats = { leader: false, published: 0, lagMs: 0, backlog: 0, errors: 0 };

  const relayWhileLeader = async (signal: AbortSignal) => {
    for (let failures = 0; !signal.aborted; ) {
      try {
        const entries = await o.outbox.pending(o.batch);
        if (entries.length === 0) {
          const b = await o.outbox.backlog();
          stats.backlog = b.count;
          stats.lagMs = b.oldestAgeMs;
          await pause(o.pollMs, signal);
          continue;
        }
        stats.lagMs = Math.max(0, Date.now() - new Date(entries[0].event.time).getTime());
        await o.engine.publish(entries.map((e) => e.event), { signal });
        await o.outbox.markSent(entries.map((e) => e.ref));
        stats.published += entries.length;
        failures = 0;
      } catch (e) {
        if (signal.aborted) return;
        stats.errors++;
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
  const running = run();
  const relay: Relay = {
    stats: () => ({ ...stats }),
    async close() {
      stop.abort();
      await running;
    },
    [Symbol.asyncDispose]: () => relay.close(),
  };
  return relay;
}
