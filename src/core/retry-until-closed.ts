import { Backoff, sleep } from './backoff.ts';
import { CoordError, abortError, isCoordError } from './errors.ts';

/** One failed attempt of a background loop, as reported to its owner. */
export interface LoopFailure {
  error: CoordError;
  /** Failures in a row so far, this one included. */
  failures: number;
  /** How long the loop waits before the next attempt. */
  retryInMs: number;
}

/**
 * The shape of every background loop in coord (re-registration, lease re-acquisition, discovery and
 * config re-reads): run `attempt` until it succeeds, reporting each failure — whatever its kind,
 * a permission error as much as an unreachable etcd — and waiting with backoff before the next.
 * Only `signal` (the owner's close()) stops it; it then rejects with the abort error. A `closed`
 * error (the etcd client under it was closed) also ends it, with that error.
 */
export async function retryUntilClosed<T>(attempt: () => Promise<T>, o: { signal: AbortSignal; backoff?: Backoff; onFailure: (f: LoopFailure) => void }): Promise<T> {
  const backoff = o.backoff ?? new Backoff({ initialMs: 200, maxMs: 10_000 });
  for (let failures = 1; ; failures++) {
    if (o.signal.aborted) throw abortError(o.signal);
    try {
      return await attempt();
    } catch (e) {
      if (o.signal.aborted) throw abortError(o.signal);
      // The client under the loop was closed (its owner forgot this loop): nothing can succeed.
      if (isCoordError(e, 'closed')) throw e;
      const error = isCoordError(e) ? e : new CoordError('internal', e instanceof Error ? e.message : String(e), { cause: e });
      const retryInMs = Math.round(backoff.next());
      o.onFailure({ error, failures, retryInMs });
      await sleep(retryInMs, o.signal);
    }
  }
}
