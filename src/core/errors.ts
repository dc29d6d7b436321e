/**
 * coord's typed errors. One class with a `code`, a brand that survives duplicate copies of the
 * package, and `isCoordError(e, code?)` to test for it. `recoverable` marks errors worth retrying
 * (the cluster was unreachable or busy), as opposed to errors in the request itself.
 */
export type CoordErrorCode =
  | 'unavailable' // etcd could not be reached or did not answer in time
  | 'aborted' // the caller's AbortSignal fired
  | 'closed' // the object was closed
  | 'compacted' // the requested revision was compacted away
  | 'history-lost' // etcd's history went backwards (a store restarted empty, restored from an older backup, another cluster): re-read
  | 'future-revision'
  | 'lease-not-found'
  | 'lease-lost' // a session's lease expired or was revoked
  | 'conflict' // an expected version did not match
  | 'not-found'
  | 'invalid-argument'
  | 'permission-denied'
  | 'lock-not-held'
  | 'not-leader'
  | 'validation' // a value failed its schema
  | 'internal';

/** The error every coord API throws or rejects with; `code` says what went wrong (see CoordErrorCode, and `isCoordError()` to test for one). */
export class CoordError extends Error {
  readonly brand = 'coord.CoordError' as const;
  constructor(
    readonly code: CoordErrorCode,
    message: string,
    options?: { cause?: unknown; recoverable?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoordError';
    this.recoverable = options?.recoverable ?? code === 'unavailable';
  }
  readonly recoverable: boolean;
}

/** Whether `e` is a CoordError (with `code`, when given); works across copies of the package, unlike `instanceof`. */
export function isCoordError(e: unknown, code?: CoordErrorCode): e is CoordError {
  return (
    typeof e === 'object' && e !== null && (e as { brand?: unknown }).brand === 'coord.CoordError' && (code === undefined || (e as CoordError).code === code)
  );
}

/** The error an aborted operation rejects with: the signal's reason when it is a CoordError. */
export function abortError(signal: AbortSignal | undefined, what = 'operation'): CoordError {
  const reason: unknown = signal?.reason;
  if (isCoordError(reason)) return reason;
  return new CoordError('aborted', `${what} aborted${reason instanceof Error ? `: ${reason.message}` : ''}`, { cause: reason });
}
