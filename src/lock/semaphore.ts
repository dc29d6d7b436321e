import { CoordError, abortError } from '../core/errors.ts';
import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { Session } from '../client/session.ts';
import { waitDelete } from './wait-deletes.ts';

export interface SemaphoreOptions {
  /** TTL of the lease behind a permit, seconds. Default 10. */
  ttl?: number;
  signal?: AbortSignal;
}

/** A held permit. Usable with `await using`. */
export interface Permit {
  readonly name: string;
  readonly key: string;
  /** The permit key's create revision: strictly increasing across acquisitions. */
  readonly fencingToken: number;
  /** Aborts when the permit is lost (lease not kept alive) or released. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A counting semaphore: at most `permits` holders, granted FIFO by create revision (the first
 * `permits` keys under `<prefix>/` hold it). A waiter re-checks its rank when any key under the
 * prefix is deleted — with several permits no single predecessor decides the turn, so unlike the
 * lock every waiter wakes on a release (one count-only read each).
 */
export async function acquirePermit(client: EtcdClient, prefix: string, name: string, permits: number, options: SemaphoreOptions = {}): Promise<Permit> {
  if (!Number.isInteger(permits) || permits < 1) throw new CoordError('invalid-argument', `semaphore ${name}: permits must be a positive integer, got ${permits}`);
  const signal = options.signal ?? new AbortController().signal;
  const session = await Session.create(client, { ttl: options.ttl ?? 10, signal });
  const pfx = `${prefix}/`;
  const key = `${pfx}${session.leaseHex}`;
  const both = AbortSignal.any([signal, session.signal]);
  try {
    const r = await client.txn({ compare: [compare.createRevision(key, '=', 0)], success: [op.put(key, String(permits), { lease: session.lease })] }, { signal: both });
    const myRev = r.revision;
    for (;;) {
      // etcd's count ignores the create-revision filter, so count the returned keys instead.
      const ahead = await client.range(pfx, { prefix: true, maxCreateRevision: myRev - 1, keysOnly: true, limit: permits, signal: both });
      if (ahead.kvs.length < permits) break;
      await waitDelete(client, pfx, ahead.revision + 1, both, true);
    }
    const released = new AbortController();
    const release = async () => {
      if (released.signal.aborted) return;
      released.abort(new CoordError('lock-not-held', `semaphore ${name} permit released`));
      await session.close();
    };
    return { name, key, fencingToken: myRev, signal: AbortSignal.any([session.signal, released.signal]), release, [Symbol.asyncDispose]: release };
  } catch (e) {
    await session.close();
    if (signal.aborted) throw abortError(signal, `semaphore ${name}`);
    throw e;
  }
}
