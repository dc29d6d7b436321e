import { status, type ServiceError } from '@grpc/grpc-js';
import { CoordError, isCoordError } from '../core/errors.ts';

/** What coord was doing, per etcd method, in words a person reads in a log line. */
const DOING: Record<string, string> = {
  Range: 'reading keys',
  Put: 'writing a key',
  DeleteRange: 'deleting keys',
  Txn: 'running a transaction',
  Compact: 'compacting',
  LeaseGrant: 'granting a lease',
  LeaseRevoke: 'revoking a lease',
  LeaseTimeToLive: 'checking a lease',
  LeaseLeases: 'listing leases',
  LeaseKeepAlive: 'keeping a lease alive',
  Watch: 'watching',
  Status: 'asking for status',
  MemberList: 'listing members',
  Authenticate: 'authenticating',
};

/** Socket error codes as a person would say them. */
const CAUSES: Array<[RegExp, string]> = [
  [/ECONNREFUSED/, 'connection refused'],
  [/ECONNRESET|Connection dropped|socket hang up/i, 'connection reset'],
  [/ETIMEDOUT/, 'connection timed out'],
  [/ENOTFOUND|EAI_AGAIN|DNS resolution failed/i, 'host name not found'],
  [/EHOSTUNREACH|ENETUNREACH/, 'host unreachable'],
  [/Deadline exceeded|deadline/i, 'no answer in time'],
];

/**
 * The cause of an unreachable etcd in a few words (`connection refused`), from grpc-js's details
 * (`No connection established. Last error: … connect ECONNREFUSED 127.0.0.1:2379. Resolution note: `).
 */
export function unreachableCause(details: string): string {
  const last = details.replace(/\s*Resolution note:.*$/s, '').replace(/^(No connection established\. Last error: )+/, '').replace(/\.$/, '');
  // A TLS failure keeps its reason: which name the certificate lacks, or which CA it is not signed by.
  if (/ssl|tls|certificate|handshake|altnames/i.test(details)) {
    const reason = last.replace(/^(\w*Error(?: \[[A-Z_]+\])?: )/, '');
    return reason && reason !== details ? `TLS handshake failed: ${reason}` : 'TLS handshake failed';
  }
  for (const [re, words] of CAUSES) if (re.test(details)) return words;
  return last || 'no connection';
}

/**
 * The one place a gRPC failure from etcd becomes a CoordError. etcd's messages are stable API
 * (clients match on them), so they pick the specific codes. `what` names the call (`etcd Range`);
 * with `endpoints`, an unreachable etcd reads as one sentence: where, why, what coord was doing —
 * `etcd LeaseGrant: cannot reach etcd at 127.0.0.1:2379 (connection refused) while granting a lease`.
 */
export function fromGrpcError(e: unknown, what: string, endpoints?: readonly string[]): CoordError {
  if (isCoordError(e)) return e;
  const err = e as Partial<ServiceError>;
  const details = err.details ?? err.message ?? String(e);
  const msg = `${what}: ${details}`;
  switch (err.code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
      if (err.code === status.RESOURCE_EXHAUSTED && /larger than max/i.test(details)) return new CoordError('invalid-argument', `${what}: request too large (${details})`, { cause: e });
      if (endpoints && err.code !== status.RESOURCE_EXHAUSTED) return new CoordError('unavailable', unreachableMessage(what, endpoints, details), { cause: e });
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

/** `etcd Range: cannot reach etcd at a:2379, b:2379 (connection refused) while reading keys`. */
function unreachableMessage(what: string, endpoints: readonly string[], details: string): string {
  const method = /^etcd (\w+)/.exec(what)?.[1];
  const doing = method && DOING[method] ? ` while ${DOING[method]}` : '';
  const where = endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(', ');
  return `${what}: cannot reach etcd at ${where} (${unreachableCause(details)})${doing}`;
}

/**
 * etcd refused a call or a watch for its token: expired or invalidated (`invalid auth token`), or
 * none sent while auth was off (`user name is empty`). Authenticating again may cure it.
 */
export function isStaleTokenError(message: string): boolean {
  return /etcdserver: invalid auth token|etcdserver: user name is empty/.test(message);
}
