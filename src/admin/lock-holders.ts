// Who holds each lock and who waits, by instance name. etcd records no owner for a lock key; its
// last segment is the holder's lease (etcd's concurrency layout, docs/keyspace.md), and every
// registry record under <ns>services/ is written under its instance's lease, so a lock taken
// under the same lease as a registration (one shared session, as Go's concurrency.Session and
// registry code share one) belongs to that instance. Otherwise the key's value names the holder
// when the locker stored one (LockOptions.value), else nobody can tell.
import { op, type EtcdClient } from '../client/etcd-client.ts';
import type { KeyValue } from '../client/keys.ts';

/** `name/id` of the registered instances under each lease (decimal lease ID), in key order. */
export function instancesByLease(services: Iterable<KeyValue>, ns: string): Map<string, string[]> {
  const prefix = `${ns}services/`;
  const out = new Map<string, string[]>();
  for (const kv of services) {
    if (kv.lease === '0' || !kv.key.startsWith(prefix)) continue;
    const rel = kv.key.slice(prefix.length);
    // coord's own records only: <name>/<id>, neither containing '/'.
    if (rel.split('/').length !== 2) continue;
    out.set(kv.lease, [...(out.get(kv.lease) ?? []), rel]);
  }
  for (const names of out.values()) names.sort();
  return out;
}

/** Who a queue key belongs to: the instances registered under its lease, else its value, else null. */
export function ownerOf(kv: KeyValue, byLease: Map<string, string[]>): string | null {
  const names = byLease.get(kv.lease);
  if (names) return names.join(',');
  const value = kv.value.toString();
  return value === '' ? null : value;
}

/** One key in a lock's queue. */
export interface LockEntry {
  key: string;
  /** The lease ID in lowercase hex (the key's last segment). */
  lease: string;
  /** The registered instance(s) under the same lease (`name/id`), else the key's value, else null. */
  instance: string | null;
  createRevision: number;
  /** The create revision: the fencing token this entry holds, or will hold once it is its turn. */
  fencingToken: number;
}

/** A lock: its holder (the lowest create revision) and the waiters, in the order they will hold it. */
export interface LockStatus {
  name: string;
  holder: LockEntry;
  waiters: LockEntry[];
}

/**
 * Every lock under `<ns>locks/` (or only `name`), read with the registry in one txn so both are
 * seen at the same revision.
 */
export async function lockStatus(client: EtcdClient, ns: string, name?: string, signal?: AbortSignal): Promise<{ revision: number; locks: LockStatus[] }> {
  const locks = `${ns}locks/${name === undefined ? '' : `${name}/`}`;
  const r = await client.txn({ success: [op.get(locks, { prefix: true }), op.get(`${ns}services/`, { prefix: true })] }, { signal });
  const byLease = instancesByLease(r.responses[1].kvs!, ns);
  const queues = new Map<string, KeyValue[]>();
  for (const kv of r.responses[0].kvs!) {
    const rel = kv.key.slice(`${ns}locks/`.length);
    const slash = rel.lastIndexOf('/');
    if (slash <= 0) continue; // not a queue key
    const lock = rel.slice(0, slash);
    // `coord locks jobs` must not list jobs/nightly: its keys share the prefix jobs/.
    if (name !== undefined && lock !== name) continue;
    queues.set(lock, [...(queues.get(lock) ?? []), kv]);
  }
  const entry = (kv: KeyValue): LockEntry => ({
    key: kv.key,
    lease: kv.key.slice(kv.key.lastIndexOf('/') + 1),
    instance: ownerOf(kv, byLease),
    createRevision: kv.createRevision,
    fencingToken: kv.createRevision,
  });
  const out = [...queues]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([lock, kvs]) => {
      const [first, ...rest] = kvs.sort((a, b) => a.createRevision - b.createRevision).map(entry);
      return { name: lock, holder: first, waiters: rest };
    });
  return { revision: r.revision, locks: out };
}
