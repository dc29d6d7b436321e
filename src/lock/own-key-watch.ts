import { Backoff } from '../core/backoff.ts';
import { CoordError } from '../core/errors.ts';
import { tracedEvent } from '../core/tracing.ts';
import { retryUntilClosed } from '../core/retry-until-closed.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import type { Watcher } from '../client/watch-manager.ts';

/**
 * Watches a held queue key (a lock's or a permit's) for its deletion from outside — an operator's
 * `etcdctl lease revoke` or `etcdctl del` — and aborts `lost` with a 'lock-not-held' error the
 * moment it is seen, instead of at the session's next keepalive reply. `fromRevision` is a revision
 * at which the key was known to exist with `createRevision`. If the watch ends (its revision was
 * compacted, or etcd refused it) the key is read again and watched from the read's revision; a
 * failing read is retried with backoff, a log line and a `coord.lock.watch_error` event each time,
 * until the hold ends.
 */
export function watchOwnKey(
  client: EtcdClient,
  key: string,
  createRevision: number,
  fromRevision: number,
  what: string,
  lost: AbortController,
  log: (line: string) => void = () => {},
): { close(): void } {
  let watcher: Watcher | undefined;
  const closer = new AbortController();
  const stop = AbortSignal.any([closer.signal, lost.signal]);
  const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
  const gone = () => lost.abort(new CoordError('lock-not-held', `${what} lost: its key ${key} was deleted (lease revoked or key removed from outside)`));
  const start = (from: number) => {
    if (stop.aborted) return;
    const w = client.watches.watch(key, { noPut: true, startRevision: from });
    watcher = w;
    w.onEvents((b) => {
      if (b.events.some((e) => e.type === 'delete')) {
        w.close();
        gone();
      }
    });
    w.onError((err) => {
      log(`${what}: watch on ${key} ended (${err.message}); reading the key again`);
      void reread();
    });
  };
  const reread = () =>
    retryUntilClosed(() => client.range(key, { signal: stop }), {
      signal: stop,
      backoff,
      onFailure: (f) => {
        log(`${what}: reading ${key} failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`);
        tracedEvent('coord.lock.watch_error', { 'coord.lock.key': key, 'coord.lock.failures': f.failures }, undefined, f.error.message);
      },
    }).then(
      (r) => {
        const kv = r.kvs[0];
        if (!kv || kv.createRevision !== createRevision) gone();
        else {
          // A watch that keeps ending right after a good read (refused, compacted at once) waits too.
          setTimeout(() => start(r.revision + 1), backoff.next()).unref();
        }
      },
      // Only the hold's end (release, loss) or a closed client stops the loop: nothing left to watch.
      () => {},
    );
  start(fromRevision + 1);
  return {
    close: () => {
      closer.abort();
      watcher?.close();
    },
  };
}
