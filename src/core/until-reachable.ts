import { Backoff, sleep } from './backoff.ts';
import { abortError, isCoordError } from './errors.ts';
import type { RepeatLog } from './repeat-log.ts';

/** Options for {@link untilReachable}. */
export interface UntilReachableOptions {
  /** The caller's bound: the only thing that ends the wait (besides success or a non-transient error). */
  signal: AbortSignal;
  /** Where the retries are reported: one line per outage (see RepeatLog). Default: none. */
  outage?: RepeatLog;
  /** Names the waiting operation in the log line (`lock jobs`). */
  what: string;
  /** Default 100 ms growing to 3 s. */
  backoff?: Backoff;
}

/**
 * Runs `fn` until it does not fail with a recoverable error (etcd unreachable or busy), waiting
 * with backoff in between — as etcd's Go `Mutex.Lock(ctx)` waits on its context rather than
 * failing when the cluster is briefly away. Only `signal` bounds it; other errors pass through.
 */
export async function untilReachable<T>(fn: () => Promise<T>, o: UntilReachableOptions): Promise<T> {
  const backoff = o.backoff ?? new Backoff({ initialMs: 100, maxMs: 3000 });
  for (;;) {
    if (o.signal.aborted) throw abortError(o.signal, o.what);
    try {
      const result = await fn();
      o.outage?.recovered(`${o.what}: etcd answers again`);
      return result;
    } catch (e) {
      if (o.signal.aborted) throw abortError(o.signal, o.what);
      if (!isCoordError(e) || !e.recoverable) throw e;
      o.outage?.failure(`${o.what}: ${e.message}; waiting and retrying (at most every 3 s) until etcd answers or the wait is given up`, e.message);
      await sleep(backoff.next(), o.signal).catch(() => {
        throw abortError(o.signal, o.what);
      });
    }
  }
}
