import { CoordError, abortError } from '../core/errors.ts';
import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { Session } from '../client/session.ts';
import { waitDeletes } from './wait-deletes.ts';

export interface LockOptions {
  /** TTL of the lease behind the lock, seconds: how long a crashed holder blocks others. Default 10. */
  ttl?: number;
  /** Give up waiting (rejects with an 'aborted' CoordError and leaves the queue). */
  signal?: AbortSignal;
  /** Value stored in the lock key (who holds it); etcd's own recipe stores ''. Default ''. */
  value?: string;
}

/** A held lock. Usable with `await using`. */
export interface LockHandle {
  readonly name: string;
  /** The lock key (`<prefix>/<lease-id-hex>`). */
  readonly key: string;
  /** The key's create revision: strictly increasing across successive holders of this lock. */
  readonly fencingToken: number;
  /** Aborts when the lock is lost (its lease could not be kept alive) or released. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A distributed mutex with exactly etcd's `concurrency.Mutex` layout and protocol, so coord locks,
 * `etcdctl lock` and Go services contend correctly for the same name. Waiters queue FIFO by create
 * revision and each watches only its predecessor.
 */
export async function acquireLock(client: EtcdClient, prefix: string, name: string, options: LockOptions = {}, tryOnly = false): Promise<LockHandle | undefined> {
  const signal = options.signal ?? new AbortController().signal;
  const session = await Session.create(client, { ttl: options.ttl ?? 10, signal });
  const pfx = `${prefix}/`;
  const key = `${pfx}${session.leaseHex}`;
  const both = AbortSignal.any([signal, session.signal]);
  try {
    const r = await client.txn(
      {
        compare: [compare.createRevision(key, '=', 0)],
        success: [op.put(key, options.value ?? '', { lease: session.lease }), op.get(pfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 })],
        failure: [op.get(key), op.get(pfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 })],
      },
      { signal: both },
    );
    const myRev = r.succeeded ? r.revision : r.responses[0].kvs![0].createRevision;
    const owner = r.responses[1].kvs![0];
    if (owner && owner.createRevision !== myRev) {
      if (tryOnly) {
        await session.close();
        return undefined;
      }
      await waitDeletes(client, pfx, myRev - 1, both);
      // Our key may have gone with an expired lease while we waited.
      if (!(await client.get(key, { signal: both }))) throw new CoordError('lease-lost', `lock ${name}: our queue entry vanished (lease expired while waiting)`);
    }
    const released = new AbortController();
    const handleSignal = AbortSignal.any([session.signal, released.signal]);
    const release = async () => {
      if (released.signal.aborted) return;
      released.abort(new CoordError('lock-not-held', `lock ${name} released`));
      await session.close();
    };
    return { name, key, fencingToken: myRev, signal: handleSignal, release, [Symbol.asyncDispose]: release };
  } catch (e) {
    await session.close();
    if (signal.aborted) throw abortError(signal, `lock ${name}`);
    throw e;
  }
}
