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
    const r = await client.txn({ compare: [compare.createRevision(key, '=', 0)], success: [op.put(key, String(permits), { lease: session.lease })] }, { signal });
    const myRev = r.revision;
    // etcd's count ignores the create-revision filter, so count the returned keys instead.
    const free = async () => (await client.range(pfx, { prefix: true, maxCreateRevision: myRev - 1, keysOnly: true, limit: permits, signal })).kvs.length < permits;
    while (!(await free())) await watchForDelete(client, pfx, true, signal, free);
    return heldHandle(name, entry, myRev, `semaphore ${name} permit`);
  });
}
