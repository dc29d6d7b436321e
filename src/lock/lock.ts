import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { CoordError } from '../core/errors.ts';
import { traced } from '../core/tracing.ts';
import { heldHandle, withQueueEntry, type HeldHandle } from './queue-entry.ts';
import { waitDeletes } from './wait-deletes.ts';

/** Options for `Coord.lock()` and `Coord.tryLock()`; defaults in each field's doc. */
export interface LockOptions {
  /** TTL of the lease behind the lock, seconds: how long a crashed holder blocks others. Default 10. */
  ttl?: number;
  /** Give up waiting (rejects with an 'aborted' CoordError and leaves the queue). */
  signal?: AbortSignal;
  /** Value stored in the lock key (who holds it); etcd's own recipe stores ''. Default ''. */
  value?: string;
}

/** Internal: how `Coord` calls acquireLock (its log for outages while waiting). */
export interface AcquireContext {
  log?: (line: string) => void;
}

/** A held lock. Usable with `await using`. */
export type LockHandle = HeldHandle;

/**
 * A distributed mutex with exactly etcd's `concurrency.Mutex` layout and protocol, so coord locks,
 * `etcdctl lock` and Go services contend correctly for the same name. Waiters queue FIFO by create
 * revision and each watches only its predecessor.
 */
export function acquireLock(client: EtcdClient, prefix: string, name: string, options: LockOptions = {}, tryOnly = false, ctx: AcquireContext = {}): Promise<LockHandle | undefined> {
  const startedAt = performance.now();
  return traced('coord.lock.acquire', { 'coord.lock.name': name, 'coord.lock.try': tryOnly }, async (span) => {
    const held = await queueForLock(client, prefix, name, options, tryOnly, ctx);
    span.setAttribute('coord.lock.acquired', held !== undefined);
    if (!held) return undefined;
    span.setAttributes({ 'coord.lock.fencing_token': held.fencingToken, 'coord.lock.wait_ms': performance.now() - startedAt });
    return withTracedRelease(held);
  });
}

function queueForLock(client: EtcdClient, prefix: string, name: string, options: LockOptions, tryOnly: boolean, ctx: AcquireContext): Promise<HeldHandle | undefined> {
  // lock() waits out an unreachable etcd (bounded by its signal); tryLock() answers now.
  return withQueueEntry(client, prefix, `lock ${name}`, { ...options, waitForEtcd: !tryOnly, log: ctx.log }, async (entry) => {
    const { session, pfx, key, signal, reach } = entry;
    const first = op.get(pfx, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
    // Put-if-absent (else read it): sending it again after a lost reply changes nothing.
    const r = await reach(() =>
      client.txn(
        {
          compare: [compare.createRevision(key, '=', 0)],
          success: [op.put(key, options.value ?? '', { lease: session.lease }), first],
          failure: [op.get(key), first],
        },
        { signal },
      ),
    );
    const myRev = r.succeeded ? r.revision : r.responses[0].kvs![0].createRevision;
    const owner = r.responses[1].kvs![0];
    let heldSince = r.revision;
    if (owner && owner.createRevision !== myRev) {
      if (tryOnly) {
        await entry.leave(myRev);
        return undefined;
      }
      await waitDeletes(client, pfx, key, myRev, `lock ${name}`, signal, reach);
      // As etcd's Mutex.Lock: read our own key once the wait is over. A lease revoked meanwhile (an
      // operator's `etcdctl lease revoke`) took the key, and the keepalive would tell only later.
      const mine = await reach(() => client.range(key, { signal }));
      if (mine.kvs[0]?.createRevision !== myRev) {
        throw new CoordError('lease-lost', `lock ${name}: our queue key ${key} vanished while waiting (lease revoked or expired)`);
      }
      heldSince = mine.revision;
    }
    return heldHandle(client, name, entry, myRev, heldSince, `lock ${name}`);
  });
}

/**
 * The handle with release() recorded as a `coord.lock.release` span (how long it was held). Only
 * the first call is: a second one (`await using` after an explicit release) is a no-op of
 * held.release() and must not count the hold again in coord_lock_held_seconds.
 */
function withTracedRelease(held: HeldHandle): LockHandle {
  const acquiredAt = performance.now();
  const attributes = { 'coord.lock.name': held.name, 'coord.lock.fencing_token': held.fencingToken };
  let traceNext = true;
  const release = () => {
    if (!traceNext) return held.release();
    traceNext = false;
    return traced('coord.lock.release', attributes, (span) => {
      span.setAttribute('coord.lock.held_ms', performance.now() - acquiredAt);
      return held.release();
    });
  };
  return { ...held, release, [Symbol.asyncDispose]: release };
}
