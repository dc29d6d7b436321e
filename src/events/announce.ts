// Where the events engine is, for the tools that only know etcd (the CLI, the dashboard): services
// announce their engine at `<ns>events/engine`, and openAnnouncedEngine() opens what is there.
//
//   <ns>events/engine   {"engine":"etcd"} | {"engine":"nats-jetstream","servers":["127.0.0.1:4222"]}
//                       (`"prefix"` too when the NATS engine's prefix is not `coord`)
import type { Coord } from '../coord.ts';
import { compare, op } from '../client/etcd-client.ts';
import { CoordError } from '../core/errors.ts';
import { etcdEngine } from './engine-etcd.ts';
import { natsEngine, type NatsEventEngine } from './engine-nats.ts';
import type { EventEngine } from './event.ts';

/** What `<ns>events/engine` holds. */
export type EngineAnnouncement = { engine: 'etcd' } | { engine: 'nats-jetstream'; servers: string[]; prefix?: string };

/** The key of the announcement in `coord`'s namespace. */
export const announcementKey = (coord: Coord): string => `${coord.namespace}events/engine`;

/** The announcement that describes `engine`; invalid-argument for an engine other than coord's two. */
export function describeEngine(engine: EventEngine): EngineAnnouncement {
  if (engine.name === 'etcd') return { engine: 'etcd' };
  const nats = engine as Partial<NatsEventEngine>;
  if (engine.name === 'nats-jetstream' && Array.isArray(nats.servers)) {
    return { engine: 'nats-jetstream', servers: [...nats.servers], ...(nats.prefix && nats.prefix !== 'coord' ? { prefix: nats.prefix } : {}) };
  }
  throw new CoordError('invalid-argument', `cannot announce events engine '${engine.name}': only the etcd and NATS JetStream engines can be opened from an announcement`);
}

/**
 * Writes `<ns>events/engine` (not under a lease: the events outlive any one service), so `coord
 * events` and the dashboard find the engine. Writes nothing when the key already says the same.
 */
export async function announceEngine(coord: Coord, engine: EventEngine, options: { signal?: AbortSignal } = {}): Promise<EngineAnnouncement> {
  const a = describeEngine(engine);
  const key = announcementKey(coord);
  const value = JSON.stringify(a);
  // A missing key fails the compare too, and is put.
  await coord.etcd.txn({ compare: [compare.value(key, '=', value)], success: [], failure: [op.put(key, value)] }, { signal: options.signal });
  return a;
}

/** The announcement, or undefined when nothing is announced; invalid-argument when the key holds something else. */
export async function readAnnouncement(coord: Coord, options: { signal?: AbortSignal } = {}): Promise<EngineAnnouncement | undefined> {
  const key = announcementKey(coord);
  const kv = await coord.etcd.get(key, { signal: options.signal });
  if (!kv) return undefined;
  return parseAnnouncement(key, kv.value.toString());
}

function parseAnnouncement(key: string, raw: string): EngineAnnouncement {
  let a: unknown;
  try {
    a = JSON.parse(raw);
  } catch {
    a = undefined;
  }
  const o = (a ?? {}) as Record<string, unknown>;
  if (o.engine === 'etcd') return { engine: 'etcd' };
  if (o.engine === 'nats-jetstream' && Array.isArray(o.servers) && o.servers.length > 0 && o.servers.every((s) => typeof s === 'string')) {
    return { engine: 'nats-jetstream', servers: o.servers as string[], ...(typeof o.prefix === 'string' ? { prefix: o.prefix } : {}) };
  }
  throw new CoordError('invalid-argument', `${key} holds ${JSON.stringify(raw.slice(0, 200))}, not an engine announcement ({"engine":"etcd"} or {"engine":"nats-jetstream","servers":[…]})`);
}

/** Options for {@link openAnnouncedEngine}; defaults in each field's doc. */
export interface OpenAnnouncedOptions {
  /** NATS servers to use instead of the announcement (the NATS engine then, whatever is announced). Default: the announcement's. */
  nats?: string | string[];
  /** NATS stream/subject prefix with `nats`. Default the announcement's, else `coord`. */
  prefix?: string;
  /** For the NATS engine's notable events. Default none. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Opens the engine announced at `<ns>events/engine` (close it when done; the etcd engine is over
 * `coord`, which stays open). Fails with not-found, naming the key and how to announce, when
 * nothing is announced and no `nats` servers are given.
 */
export async function openAnnouncedEngine(coord: Coord, options: OpenAnnouncedOptions = {}): Promise<EventEngine> {
  const announced = await readAnnouncement(coord, { signal: options.signal });
  if (options.nats !== undefined) {
    const prefix = options.prefix ?? (announced?.engine === 'nats-jetstream' ? announced.prefix : undefined);
    return natsEngine({ servers: options.nats, ...(prefix ? { prefix } : {}), log: options.log });
  }
  if (!announced) {
    throw new CoordError(
      'not-found',
      `no events engine is announced at ${announcementKey(coord)}: the services announce theirs with announceEngine(coord, engine) from etcd-coord/events (or give the NATS servers: coord events --nats host:port)`,
    );
  }
  if (announced.engine === 'etcd') return etcdEngine(coord);
  return natsEngine({ servers: announced.servers, ...(announced.prefix ? { prefix: announced.prefix } : {}), log: options.log });
}
