import { CoordError } from '../core/errors.ts';
import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { heldHandle, withQueueEntry, type HeldHandle } from './queue-entry.ts';
import { watchForDelete } from './wait-deletes.ts';

/** Options for `Coord.semaphore()`; defaults in each field's doc. */
export interface SemaphoreOptions {
  /** TTL of the lease behind a permit, seconds. Default 10. */
  ttl?: number;
  signal?: AbortSignal;
}

/** A held permit. Usable with `await using`. */
export type Permit = HeldHandle;

/**
 * A counting semaphore: at most `permits` holders, granted FIFO by create revision (the first
 * `permits` keys under `<prefix>/` hold it). A waiter re-checks its rank when any key under the
 * prefix is deleted — with several permits no single predecessor decides the turn, so unlike the
 * lock every waiter wakes on a release (one count-only read each).
 */
export async function acquirePermit(client: EtcdClient, prefix: string, name: string, permits: number, options: SemaphoreOptions = {}): Promise<Permit> {
  if (!Number.isInteger(permits) || permits < 1) throw new CoordError('invalid-argument', `semaphore ${name}: permits must be a positive integer, got ${permits}`);
  return withQueueEntry(client, prefix, `semaphore ${name}`, options, async (entry) => {
    const { session, pfx, key, signal } = entry;
    const r = await client.txn(
      { compare: [compare.createRevision(key, '=', 0)], success: [op.put(key, String(permits), { lease: session.lease })], failure: [op.get(key)] },
      { signal },
    );
    // The key can already exist (put by someone else with our lease): then our place is its create revision.
    const myRev = r.succeeded ? r.revision : r.responses[0].kvs![0].createRevision;
    // etcd's count ignores the create-revision filter, so count the returned keys instead.
    const free = async () => (await client.range(pfx, { prefix: true, maxCreateRevision: myRev - 1, keysOnly: true, limit: permits, signal })).kvs.length < permits;
    if (await free()) return heldHandle(client, name, entry, myRev, r.revision, `semaphore ${name} permit`);
    do await watchForDelete(client, pfx, true, signal, free);
    while (!(await free()));
    // As the lock: our key may have gone with a revoked lease while we waited.
    const mine = await client.range(key, { signal });
    if (mine.kvs[0]?.createRevision !== myRev) {
      throw new CoordError('lease-lost', `semaphore ${name}: our queue key ${key} vanished while waiting (lease revoked or expired)`);
    }
    return heldHandle(client, name, entry, myRev, mine.revision, `semaphore ${name} permit`);
  });
}
