import { CoordError } from '../core/errors.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import type { Watcher } from '../client/watch-manager.ts';

/**
 * Watches a held queue key (a lock's or a permit's) for its deletion from outside — an operator's
 * `etcdctl lease revoke` or `etcdctl del` — and aborts `lost` with a 'lock-not-held' error the
 * moment it is seen, instead of at the session's next keepalive reply. `fromRevision` is a revision
 * at which the key was known to exist with `createRevision`. If the watch cannot resume (its
 * revision was compacted) the key is read once and watched again from there.
 */
export function watchOwnKey(client: EtcdClient, key: string, createRevision: number, fromRevision: number, what: string, lost: AbortController): { close(): void } {
  let watcher: Watcher | undefined;
  let closed = false;
  const gone = () => lost.abort(new CoordError('lock-not-held', `${what} lost: its key ${key} was deleted (lease revoked or key removed from outside)`));
  const start = (from: number) => {
    if (closed || lost.signal.aborted) return;
    const w = client.watches.watch(key, { noPut: true, startRevision: from });
    watcher = w;
    w.onEvents((b) => {
      if (b.events.some((e) => e.type === 'delete')) {
        w.close();
        gone();
      }
    });
    w.onError(() => {
      client.range(key).then(
        (r) => {
          const kv = r.kvs[0];
          if (!kv || kv.createRevision !== createRevision) gone();
          else start(r.revision + 1);
        },
        // Unreachable etcd: the session's keepalive deadline decides whether the hold is lost.
        () => start(from),
      );
    });
  };
  start(fromRevision + 1);
  return {
    close: () => {
      closed = true;
      watcher?.close();
    },
  };
}
