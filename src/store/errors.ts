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
};
