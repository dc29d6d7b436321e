import { CoordError, isCoordError } from '../core/errors.ts';
import type { LockHandle, LockOptions } from './lock.ts';

/** Options for `Coord.withLock()`: those of `lock()`; `signal` bounds the wait and is passed on to `fn`. */
export type WithLockOptions = LockOptions;

/**
 * Takes the lock, runs `fn` with a signal that aborts when the lock is lost (lease expired, key
 * deleted from outside) or the caller's `signal` fires, and releases the lock when `fn` settles,
 * however it settles. Resolves with `fn`'s result; rejects with `fn`'s error, or — when `fn`
 * resolved after the lock was lost under it — with the loss ('lock-not-held' or 'lease-lost'), since
 * the work may have overlapped another holder's. `fn` must stop soon after its signal aborts.
 */
export async function withLock<T>(lock: (options: LockOptions) => Promise<LockHandle>, fn: (signal: AbortSignal, lock: LockHandle) => Promise<T>, options: WithLockOptions = {}): Promise<T> {
  const held = await lock(options);
  const signal = options.signal ? AbortSignal.any([held.signal, options.signal]) : held.signal;
  try {
    const result = await fn(signal, held);
    if (held.signal.aborted && !options.signal?.aborted) {
      const reason: unknown = held.signal.reason;
      throw isCoordError(reason) ? reason : new CoordError('lock-not-held', `lock ${held.name} was lost while its work ran`, { cause: reason });
    }
    return result;
  } finally {
    await held.release();
  }
}
