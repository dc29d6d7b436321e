// Wire shapes of the etcd v3 messages as the raw client sends and receives them (proto-loader
// with keepCase, int64 as decimal strings, bytes as Buffers, defaults filled in, oneofs named).
import type { status } from '@grpc/grpc-js';

export type Bytes = string | Buffer;
/** int64 on the way in: a number or a decimal string. Responses always carry strings. */
export type Int64 = number | string;

export interface ResponseHeader {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

export interface KeyValue {
  key: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  value: Buffer;
  lease: string;
}

export interface Event {
  type: number;
  kv: KeyValue | null;
  prev_kv: KeyValue | null;
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export const EventType = { PUT: 0, DELETE: 1 } as const;
export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;

export interface RangeRequest {
  key: Bytes;
  range_end?: Bytes;
  limit?: Int64;
  revision?: Int64;
  sort_order?: number;
  sort_target?: number;
  serializable?: boolean;
  keys_only?: boolean;
  count_only?: boolean;
  min_mod_revision?: Int64;
  max_mod_revision?: Int64;
  min_create_revision?: Int64;
  max_create_revision?: Int64;
}
export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: string;
}

export interface PutRequest {
  key: Bytes;
  value?: Bytes;
  lease?: Int64;
  prev_kv?: boolean;
  ignore_value?: boolean;
  ignore_lease?: boolean;
}
export interface PutResponse {
  header: ResponseHeader;
  prev_kv: KeyValue | null;
}

export interface DeleteRangeRequest {
  key: Bytes;
  range_end?: Bytes;
  prev_kv?: boolean;
}
export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: string;
  prev_kvs: KeyValue[];
}

export interface RequestOp {
  request_range?: RangeRequest;
  request_put?: PutRequest;
  request_delete_range?: DeleteRangeRequest;
  request_txn?: TxnRequest;
}
export interface ResponseOp {
  /** Which member of the oneof is set (proto-loader `oneofs: true`). */
  response: 'response_range' | 'response_put' | 'response_delete_range' | 'response_txn';
  response_range?: RangeResponse;
  response_put?: PutResponse;
  response_delete_range?: DeleteRangeResponse;
  response_txn?: TxnResponse;
}

export interface Compare {
  result?: number;
  target?: number;
  key: Bytes;
  range_end?: Bytes;
  version?: Int64;
  create_revision?: Int64;
  mod_revision?: Int64;
  value?: Bytes;
  lease?: Int64;
}
export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}
export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: Int64;
  physical?: boolean;
}
export interface CompactionResponse {
  header: ResponseHeader;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
  error: string;
}
export interface LeaseRevokeResponse {
  header: ResponseHeader;
}
export interface LeaseKeepAliveResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
}
export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  ID: string;
  TTL: string;
  grantedTTL: string;
  keys: Buffer[];
}
export interface LeaseLeasesResponse {
  header: ResponseHeader;
  leases: { ID: string }[];
}

export interface Member {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}
export interface MemberListResponse {
  header: ResponseHeader;
  members: Member[];
}
export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: string;
  leader: string;
  raftIndex: string;
  raftTerm: string;
  raftAppliedIndex: string;
  errors: string[];
  dbSizeInUse: string;
  isLearner: boolean;
}
export interface AlarmResponse {
  header: ResponseHeader;
  alarms: { memberID: string; alarm: number }[];
}

export interface WatchCreateRequest {
  key: Bytes;
  range_end?: Bytes;
  start_revision?: Int64;
  progress_notify?: boolean;
  filters?: number[];
  prev_kv?: boolean;
  watch_id?: Int64;
  fragment?: boolean;
}
export interface WatchResponse {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  fragment: boolean;
  events: Event[];
}

/** `{ code, details }` of a failed call: the parts of a gRPC status a client can rely on. */
export interface CallError {
  code: status;
  details: string;
}
