import { CoordError, abortError } from '../core/errors.ts';
import { compare, op, type EtcdClient } from '../client/etcd-client.ts';

/**
 * etcd's concurrency recipe for queues: wait until no key under `prefix` has a create revision
 * below our own key's (`ownRev`). Each round watches only the newest such key (our predecessor)
 * for its deletion, so waiters form a line and a release wakes exactly one of them. Every read
 * also checks, in the same request, that our own key is still there: it goes with an expired
 * lease, and then the wait is over — lost, not won.
 */
export async function waitDeletes(
  client: EtcdClient,
  prefix: string,
  ownKey: string,
  ownRev: number,
  what: string,
  signal: AbortSignal,
  reach: <R>(fn: () => Promise<R>) => Promise<R> = (fn) => fn(),
): Promise<void> {
  for (;;) {
    if (signal.aborted) throw abortError(signal);
    // A read (compare and get): safe to send again while etcd is away.
    const r = await reach(() =>
      client.txn(
        {
          compare: [compare.createRevision(ownKey, '=', ownRev)],
          success: [op.get(prefix, { prefix: true, maxCreateRevision: ownRev - 1, sort: { target: 'create', order: 'descend' }, limit: 2 })],
        },
        { signal },
      ),
    );
    if (!r.succeeded) throw new CoordError('lease-lost', `${what}: our queue entry vanished (lease expired while waiting)`);
    const [predecessor, another] = r.responses[0].kvs!;
    if (!predecessor) return;
    const gone = await waitGone(client, predecessor.key, predecessor.createRevision, signal);
    // Keys created before ours can only go away, never appear: with no other one left when we
    // read, the predecessor's going means we are first — no need for another read. (Losing our own
    // lease meanwhile aborts `signal` through the session.)
    if (gone && !another) return;
  }
}

/**
 * Resolves true once the key created at `createRevision` is seen gone, or false when that could not
 * be told: the caller reads again. (A queue key's name is reused when its lease is, so "gone" means
 * no key with that create revision.)
 */
function waitGone(client: EtcdClient, key: string, createRevision: number, signal: AbortSignal): Promise<boolean> {
  return watchForDelete(client, key, false, signal, async () => {
    const kv = await client.get(key, { signal });
    return !kv || kv.createRevision !== createRevision;
  });
}

/**
 * Watches `key` (with `prefix`, every key under it) for a deletion. Resolves true on one, or when
 * `settled()` — run once, as soon as the watch exists — says the wait is already over; false when
 * that could not be told (the watch was compacted, the check failed): the caller reads again.
 *
 * The watch starts at the server's current revision, not at the revision of the caller's last
 * read: etcd streams a watch that starts now from its live event feed at once, but one that starts
 * in the past waits for a catch-up pass that runs every 100 ms — on a busy lock the revision moves
 * on before the watch is created, and hand-offs would stall. `settled()` closes the gap between the
 * caller's read and the watch.
 */
export function watchForDelete(client: EtcdClient, key: string, prefix: boolean, signal: AbortSignal, settled: () => Promise<boolean>): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const w = client.watches.watch(key, { noPut: true, prefix });
    let over = false;
    const done = (f: () => void) => {
      if (over) return;
      over = true;
      signal.removeEventListener('abort', onAbort);
      w.close();
      f();
    };
    const onAbort = () => done(() => reject(abortError(signal)));
    signal.addEventListener('abort', onAbort, { once: true });
    w.onEvents((b) => {
      if (b.events.some((e) => e.type === 'delete')) done(() => resolve(true));
    });
    w.onError(() => done(() => resolve(false)));
    const checkOnce = w.onState((state) => {
      if (state !== 'connected') return;
      checkOnce.dispose();
      settled().then(
        (yes) => yes && done(() => resolve(true)),
        () => done(() => resolve(false)),
      );
    });
  });
}
