import { status, type ServiceError } from '@grpc/grpc-js';
import { CoordError, isCoordError } from '../core/errors.ts';

/**
 * The one place a gRPC failure from etcd becomes a CoordError. etcd's messages are stable API
 * (clients match on them), so they pick the specific codes.
 */
export function fromGrpcError(e: unknown, what: string): CoordError {
  if (isCoordError(e)) return e;
  const err = e as Partial<ServiceError>;
  const details = err.details ?? err.message ?? String(e);
  const msg = `${what}: ${details}`;
  switch (err.code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
      if (err.code === status.RESOURCE_EXHAUSTED && /larger than max/i.test(details)) return new CoordError('invalid-argument', `${what}: request too large (${details})`, { cause: e });
      return new CoordError('unavailable', msg, { cause: e });
    case status.CANCELLED:
      return new CoordError('aborted', msg, { cause: e });
    case status.OUT_OF_RANGE:
      if (details.includes('compacted')) return new CoordError('compacted', msg, { cause: e });
      if (details.includes('future revision')) return new CoordError('future-revision', msg, { cause: e });
      return new CoordError('invalid-argument', msg, { cause: e });
    case status.NOT_FOUND:
      return new CoordError(details.includes('lease') ? 'lease-not-found' : 'not-found', msg, { cause: e });
    case status.INVALID_ARGUMENT:
    case status.FAILED_PRECONDITION:
      return new CoordError('invalid-argument', msg, { cause: e });
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return new CoordError('permission-denied', msg, { cause: e });
    default:
      // etcd answers "leader changed"/"timed out" style errors as UNKNOWN; they are transient. So are
      // a server-side "context deadline exceeded" (a LeaseGrant during a leader failover) and raft's
      // "proposal dropped" (proposed while the member knows no leader).
      if (/leader|timed out|stopped|too many requests|deadline exceeded|proposal dropped/i.test(details)) return new CoordError('unavailable', msg, { cause: e });
      return new CoordError('internal', msg, { cause: e });
  }
}

/**
 * etcd refused a call or a watch for its token: expired or invalidated (`invalid auth token`), or
 * none sent while auth was off (`user name is empty`). Authenticating again may cure it.
 */
export function isStaleTokenError(message: string): boolean {
  return /etcdserver: invalid auth token|etcdserver: user name is empty/.test(message);
}
