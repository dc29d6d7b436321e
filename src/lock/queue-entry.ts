import { CoordError, abortError } from '../core/errors.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import { Session } from '../client/session.ts';

/** One participant in an etcd `concurrency` queue: a session and its key `<prefix>/<lease-hex>`. */
export interface QueueEntry {
  session: Session;
  /** `<prefix>/`, the range every participant's key lives under. */
  pfx: string;
  key: string;
  /** Aborts when the caller gives up or the session's lease is lost. */
  signal: AbortSignal;
}

/**
 * Runs `body` with a fresh queue entry (lease TTL `ttl`, default 10 s). If `body` fails the entry's
 * lease is revoked, and a failure caused by the caller's signal surfaces as an 'aborted' error
 * naming `what`. On success the session belongs to whatever `body` returned.
 */
export async function withQueueEntry<T>(
  client: EtcdClient,
  prefix: string,
  what: string,
  options: { ttl?: number; signal?: AbortSignal },
  body: (entry: QueueEntry) => Promise<T>,
): Promise<T> {
  const signal = options.signal ?? new AbortController().signal;
  const session = await Session.create(client, { ttl: options.ttl ?? 10, signal });
  const pfx = `${prefix}/`;
  try {
    return await body({ session, pfx, key: `${pfx}${session.leaseHex}`, signal: AbortSignal.any([signal, session.signal]) });
  } catch (e) {
    await session.close();
    if (signal.aborted) throw abortError(signal, what);
    throw e;
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
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The handle for a won queue entry: releasing it revokes the lease, which deletes the key. */
export function heldHandle(name: string, entry: QueueEntry, fencingToken: number, what: string): HeldHandle {
  const released = new AbortController();
  const release = async () => {
    if (released.signal.aborted) return;
    released.abort(new CoordError('lock-not-held', `${what} released`));
    await entry.session.close();
  };
  const signal = AbortSignal.any([entry.session.signal, released.signal]);
  return { name, key: entry.key, fencingToken, signal, release, [Symbol.asyncDispose]: release };
}
