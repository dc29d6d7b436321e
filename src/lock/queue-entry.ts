import { CoordError, abortError, isCoordError } from '../core/errors.ts';
import { RepeatLog } from '../core/repeat-log.ts';
import { untilReachable } from '../core/until-reachable.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import type { Session } from '../client/session.ts';
import { sessionPool, type SessionLoan } from './session-pool.ts';
import { watchOwnKey } from './own-key-watch.ts';

/** One participant in an etcd `concurrency` queue: a session and its key `<prefix>/<lease-hex>`. */
export interface QueueEntry {
  session: Session;
  /** `<prefix>/`, the range every participant's key lives under. */
  pfx: string;
  key: string;
  /** Aborts when the caller gives up or the session's lease is lost. */
  signal: AbortSignal;
  /** Deletes the key (if still at `createRevision`, when given) and hands the session back. */
  leave(createRevision?: number): Promise<void>;
  /** Aborts when the session's lease is lost (not when the caller gives up). */
  lost: AbortSignal;
  /** Runs one etcd call, waiting out an unreachable etcd when the entry was asked to (`waitForEtcd`). */
  reach<R>(fn: () => Promise<R>): Promise<R>;
}

/** How a queue entry is made: its lease TTL, the caller's bound, and whether to wait for etcd. */
export interface QueueEntryOptions {
  ttl?: number;
  signal?: AbortSignal;
  /**
   * Wait while etcd is unreachable instead of failing with 'unavailable' (bounded by `signal`), and
   * queue again if the lease expired meanwhile. Off for tryLock, which must answer now.
   */
  waitForEtcd?: boolean;
  /** One line per outage while waiting. Default: none. */
  log?: (line: string) => void;
}

/**
 * Runs `body` with a queue entry on a pooled session (lease TTL `ttl`, default 10 s). If `body`
 * fails the entry's key is removed, and a failure caused by the caller's signal surfaces as an
 * 'aborted' error naming `what`. On success the entry belongs to whatever `body` returned. With
 * `waitForEtcd`, an unreachable etcd is waited out (bounded by `signal`) and a lease that expired
 * during the outage (our place in line went with it) means queueing again with a new one.
 */
export async function withQueueEntry<T>(client: EtcdClient, prefix: string, what: string, options: QueueEntryOptions, body: (entry: QueueEntry) => Promise<T>): Promise<T> {
  const signal = options.signal ?? new AbortController().signal;
  const pfx = `${prefix}/`;
  const outage = new RepeatLog(options.log ?? (() => {}));
  /** Whether etcd was unreachable during this attempt: a lease lost then is the outage's doing. */
  let outageSeen = false;
  const noteOutage = <R>(fn: () => Promise<R>) =>
    fn().catch((e: unknown) => {
      if (isCoordError(e) && e.recoverable) outageSeen = true;
      throw e;
    });
  const reachWith =
    (bound: AbortSignal) =>
    <R>(fn: () => Promise<R>): Promise<R> =>
      options.waitForEtcd ? untilReachable(() => noteOutage(fn), { signal: bound, outage, what }) : fn();
  for (;;) {
    outageSeen = false;
    let loan: SessionLoan;
    try {
      loan = await reachWith(signal)(() => sessionPool(client).borrow(options.ttl ?? 10, pfx, signal));
    } catch (e) {
      if (signal.aborted) throw abortError(signal, what);
      throw e;
    }
    const entrySignal = AbortSignal.any([signal, loan.signal]);
    try {
      if (signal.aborted) throw abortError(signal, what);
      return await body({ session: loan.session, pfx, key: loan.key, signal: entrySignal, leave: loan.done, lost: loan.signal, reach: reachWith(entrySignal) });
    } catch (e) {
      await loan.done();
      if (signal.aborted) throw abortError(signal, what);
      // Requeue only when the lease went with an outage (our calls failed, or the keepalive could not
      // reach etcd before the TTL ran out); a lease revoked by an operator ends the wait, as in Go.
      const outageLoss = isCoordError(e, 'lease-lost') && (outageSeen || /could not be kept alive/.test(e.message));
      if (options.waitForEtcd && isCoordError(e) && (outageLoss || e.recoverable)) {
        outage.failure(`${what}: our place in line was lost while etcd was away (${e.message}); queueing again with a new lease`);
        continue;
      }
      throw e;
    }
  }
}

/** A held lock or permit. Usable with `await using`. */
export interface HeldHandle {
  readonly name: string;
  /** The holder's key (`<prefix>/<lease-id-hex>`). */
  readonly key: string;
  /** The key's create revision: strictly increasing across successive holders. */
  readonly fencingToken: number;
  /** Aborts when the hold is lost (its lease could not be kept alive) or released. */
  readonly signal: AbortSignal;
  /**
   * Whether it is still held, checking the lease deadline now: right after a pause (SIGSTOP, long
   * GC) timers run late and `signal` may not have aborted yet. If not, `signal` aborts at once.
   */
  isHeld(): boolean;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The handle for a won queue entry: releasing it deletes the key and hands the lease back. The key
 * is watched from `heldSince` (a revision at which it was read as ours): a deletion from outside
 * ends the hold at once.
 */
export function heldHandle(client: EtcdClient, name: string, entry: QueueEntry, fencingToken: number, heldSince: number, what: string): HeldHandle {
  const released = new AbortController();
  const deleted = new AbortController();
  const ownKey = watchOwnKey(client, entry.key, fencingToken, heldSince, what, deleted);
  const release = async () => {
    if (released.signal.aborted) return;
    released.abort(new CoordError('lock-not-held', `${what} released`));
    ownKey.close();
    await entry.leave(fencingToken);
  };
  const signal = AbortSignal.any([entry.lost, released.signal, deleted.signal]);
  signal.addEventListener('abort', () => ownKey.close(), { once: true });
  const isHeld = () => !signal.aborted && entry.session.checkAlive();
  return { name, key: entry.key, fencingToken, signal, isHeld, release, [Symbol.asyncDispose]: release };
}
