import { abortError } from '../core/errors.ts';
import type { EtcdClient } from '../client/etcd-client.ts';

/**
 * etcd's concurrency recipe for queues: wait until no key under `prefix` has a create revision
 * below `maxCreateRev + 1`. Each round watches only the newest such key (our predecessor) for its
 * deletion, so waiters form a line and a release wakes exactly one of them.
 */
export async function waitDeletes(client: EtcdClient, prefix: string, maxCreateRev: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    if (signal.aborted) throw abortError(signal);
    const r = await client.range(prefix, { prefix: true, maxCreateRevision: maxCreateRev, sort: { target: 'create', order: 'descend' }, limit: 1, signal });
    if (r.kvs.length === 0) return;
    await waitDelete(client, r.kvs[0].key, r.revision, signal);
  }
}

/** Resolves when `key` (or, with `prefix`, any key under it) is deleted at or after `fromRev`. */
export function waitDelete(client: EtcdClient, key: string, fromRev: number, signal: AbortSignal, prefix = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = client.watches.watch(key, { startRevision: fromRev, noPut: true, prefix });
    const done = (f: () => void) => {
      signal.removeEventListener('abort', onAbort);
      w.close();
      f();
    };
    const onAbort = () => done(() => reject(abortError(signal)));
    signal.addEventListener('abort', onAbort, { once: true });
    w.onEvents((b) => {
      if (b.events.some((e) => e.type === 'delete')) done(resolve);
    });
    // A compacted resume point means the key changed long ago; re-check from the top.
    w.onError(() => done(resolve));
  });
}
