import { status } from '@grpc/grpc-js';

/**
 * An error the store returns to clients. `code` and `message` are exactly etcd's, so a client
 * that matches on etcd's strings (etcdctl, the etcd3 npm client, Go's rpctypes) behaves the same.
 */
export class EtcdError extends Error {
  readonly brand = 'coord.EtcdError' as const;
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

export function isEtcdError(e: unknown): e is EtcdError {
  return typeof e === 'object' && e !== null && (e as { brand?: unknown }).brand === 'coord.EtcdError';
}

const make = (code: status, message: string) => () => new EtcdError(code, message);

export const Errors = {
  emptyKey: make(status.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: make(status.INVALID_ARGUMENT, 'etcdserver: key not found'),
  valueProvided: make(status.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: make(status.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: make(status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: make(status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  requestTooLarge: make(status.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  compacted: make(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: make(status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  leaseNotFound: make(status.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExists: make(status.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  leaseTTLTooLarge: make(status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  stopped: make(status.UNAVAILABLE, 'etcdserver: server stopped'),
  notCapable: make(status.UNAVAILABLE, 'etcdserver: not capable'),
  // Auth, as etcd's rpctypes (api/v3rpc/rpctypes/error.go).
  rootUserNotExist: make(status.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  rootRoleNotExist: make(status.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'),
  userAlreadyExist: make(status.FAILED_PRECONDITION, 'etcdserver: user name already exists'),
  userEmpty: make(status.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  userNotFound: make(status.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  roleAlreadyExist: make(status.FAILED_PRECONDITION, 'etcdserver: role name already exists'),
  roleNotFound: make(status.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  roleEmpty: make(status.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  authFailed: make(status.INVALID_ARGUMENT, 'etcdserver: authentication failed, invalid user ID or password'),
  permissionDenied: make(status.PERMISSION_DENIED, 'etcdserver: permission denied'),
  roleNotGranted: make(status.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'),
  permissionNotGranted: make(status.FAILED_PRECONDITION, 'etcdserver: permission is not granted to the role'),
  authNotEnabled: make(status.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  invalidAuthToken: make(status.UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  invalidAuthMgmt: make(status.INVALID_ARGUMENT, 'etcdserver: invalid auth management'),
  // etcd 3.4 does not map this one, so it reaches clients as Unknown with the auth package's text.
  noPasswordUser: make(status.UNKNOWN, 'auth: authentication failed, password was given for no password user'),
  // etcd's ErrGRPCRequestTooManyRequests; coord store also answers it to Authenticate floods (auth-hash-gate.ts).
  tooManyRequests: make(status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'),
  // etcd 3.5's (3.4 has no check and would store an empty permission).
  permissionNotGiven: make(status.INVALID_ARGUMENT, 'etcdserver: permission not given'),
};

/** The auth package's own texts, which etcd 3.4's Maintenance service returns unmapped (as Unknown). */
const RAW_AUTH: Record<string, string> = {
  'etcdserver: user name is empty': 'auth: user name is empty',
  'etcdserver: permission denied': 'auth: permission denied',
  'etcdserver: user name not found': 'auth: user not found',
  'etcdserver: invalid auth token': 'auth: invalid auth token',
};

/** An auth failure as etcd 3.4's Maintenance calls (Defragment, HashKV, Snapshot) report it. */
export function unmappedAuthError(e: unknown): unknown {
  if (!isEtcdError(e) || !(e.message in RAW_AUTH)) return e;
  return new EtcdError(status.UNKNOWN, RAW_AUTH[e.message]);
}
