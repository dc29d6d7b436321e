import * as grpc from '@grpc/grpc-js';
import { isIP } from 'node:net';
import { Backoff, sleep } from '../core/backoff.ts';
import { CoordError, abortError } from '../core/errors.ts';
import { etcdProto } from '../protocol/etcd-proto.ts';
import type { KeyValueMsg, RequestOp, Compare as CompareMsg } from '../protocol/etcd-types.ts';
import { tracedEvent } from '../core/tracing.ts';
import { fromGrpcError, isStaleTokenError } from './errors-grpc.ts';
import { HistoryGuard, describeHistoryLost } from './history-guard.ts';
import { WatchManager } from './watch-manager.ts';
import { tlsCredentials } from './tls-names.ts';
import { prefixEnd, toKeyValue, type KeyValue } from './keys.ts';

export { prefixEnd, toKeyValue, type KeyValue };

/** Options for {@link EtcdClient}; defaults in each field's doc. */
export interface ClientOptions {
  /** etcd endpoints as `host:port` (an `http://` or `https://` prefix is accepted). Default `127.0.0.1:2379`. */
  endpoints?: string | string[];
  /** TLS: trust `ca` (system roots when omitted); `cert` + `key` for client-certificate auth. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd user credentials (etcd's auth): a token is fetched and renewed as needed. */
  auth?: { username: string; password: string };
  /** Deadline for one request, including retries of reads while etcd is unreachable. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Receives one line per notable event (an outage of the watch stream and its end, history lost). Default: none. */
  log?: (line: string) => void;
}

/** Per-call options every EtcdClient method takes. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's request timeout for this call. */
  timeoutMs?: number;
}

/** Options for `EtcdClient.range()`: which keys, at which revision, how many and in what order. */
export interface RangeOptions extends CallOptions {
  /** Exclusive end of the range; `prefix: true` derives it from the key. */
  end?: string;
  prefix?: boolean;
  revision?: number;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  sort?: { target: 'key' | 'version' | 'create' | 'mod' | 'value'; order: 'ascend' | 'descend' };
  maxCreateRevision?: number;
  minCreateRevision?: number;
}

/** What `EtcdClient.range()` returns: the keys, the total matching `count`, whether `more` exist past the limit, and the revision read at. */
export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  more: boolean;
  revision: number;
}

type Cmp = '=' | '>' | '<' | '!=';
const CMP: Record<Cmp, number> = { '=': 0, '>': 1, '<': 2, '!=': 3 };
const SORT_TARGET = { key: 0, version: 1, create: 2, mod: 3, value: 4 };

/** Builders for Txn compares and operations, in etcd's terms. */
export const compare = {
  version: (key: string, op: Cmp, v: number): CompareMsg => raw({ key: b(key), target: 0, result: CMP[op], version: v }),
  createRevision: (key: string, op: Cmp, v: number): CompareMsg => raw({ key: b(key), target: 1, result: CMP[op], create_revision: v }),
  modRevision: (key: string, op: Cmp, v: number): CompareMsg => raw({ key: b(key), target: 2, result: CMP[op], mod_revision: v }),
  value: (key: string, op: Cmp, v: string | Buffer): CompareMsg => raw({ key: b(key), target: 3, result: CMP[op], value: b(v) }),
  lease: (key: string, op: Cmp, v: string): CompareMsg => raw({ key: b(key), target: 4, result: CMP[op], lease: v }),
};

/** Builders for txn operations (`op.get`, `op.put`, `op.delete`, …) for `EtcdClient.txn()`. */
export const op = {
  get: (key: string, o: Omit<RangeOptions, keyof CallOptions> = {}): RequestOp => ({ request_range: rangeRequest(key, o) }) as RequestOp,
  put: (key: string, value: string | Buffer, o: { lease?: string; prevKv?: boolean } = {}): RequestOp =>
    ({ request_put: { key: b(key), value: b(value), lease: o.lease ?? '0', prev_kv: !!o.prevKv } }) as unknown as RequestOp,
  delete: (key: string, o: { end?: string; prefix?: boolean; prevKv?: boolean } = {}): RequestOp =>
    ({ request_delete_range: { key: b(key), range_end: rangeEnd(key, o), prev_kv: !!o.prevKv } }) as RequestOp,
};

/** What `EtcdClient.txn()` returns: which branch ran (`succeeded`), its revision and one response per operation. */
export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** Per operation: a range's kvs, a put's prev kv, a delete's deleted count. */
  responses: Array<{ kvs?: KeyValue[]; prevKv?: KeyValue; deleted?: number; prevKvs?: KeyValue[] }>;
}

const b = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
const raw = <T>(v: object) => v as T;

/**
 * The `range_end` field, or undefined to leave it out for a single key. It must be left out, not
 * sent empty: etcd keeps a present-but-empty range_end as a non-nil empty slice, which its index
 * reads as "every key >= key" — a Get of a missing key would return the next key, and a Delete of
 * one key would delete everything after it.
 */
function rangeEnd(key: string, o: { end?: string; prefix?: boolean }): Buffer | undefined {
  if (o.prefix) return prefixEnd(key);
  return o.end === undefined || o.end === '' ? undefined : b(o.end);
}

function rangeRequest(key: string, o: Omit<RangeOptions, keyof CallOptions>) {
  return {
    key: b(key),
    range_end: rangeEnd(key, o),
    limit: o.limit ?? 0,
    revision: o.revision ?? 0,
    sort_order: o.sort ? (o.sort.order === 'ascend' ? 1 : 2) : 0,
    sort_target: o.sort ? SORT_TARGET[o.sort.target] : 0,
    keys_only: !!o.keysOnly,
    count_only: !!o.countOnly,
    min_create_revision: o.minCreateRevision ?? 0,
    max_create_revision: o.maxCreateRevision ?? 0,
  };
}

/**
 * Turns a list of `host:port` endpoints into one grpc-js target. Several endpoints must be IP
 * literals of one family: grpc-js lists them under an `ipv4:` or `ipv6:` scheme, and each scheme
 * refuses the other family's addresses.
 */
export function endpointsTarget(endpoints: string[]): string {
  const hosts = endpoints.map((e) => e.replace(/^[a-z]+:\/\//, '').replace(/\/$/, ''));
  if (hosts.length === 1) return hosts[0];
  const families = new Set<number>();
  const addrs = hosts.map((h) => {
    const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(h);
    const host = m?.[1].replace(/^\[|\]$/g, '') ?? '';
    if (host === 'localhost') {
      families.add(4);
      return `127.0.0.1:${m![2]}`;
    }
    const family = m ? isIP(host) : 0;
    if (family === 0) {
      throw new CoordError('invalid-argument', `several endpoints must be IP addresses with a port, IPv6 in brackets (got ${h}); give one DNS name or a list of IPs`);
    }
    families.add(family);
    return family === 6 ? `[${host}]:${m![2]}` : h;
  });
  if (families.size > 1) throw new CoordError('invalid-argument', `endpoints mix IPv4 and IPv6 addresses (${hosts.join(', ')}); list one family`);
  return `${families.has(6) ? 'ipv6' : 'ipv4'}:${addrs.join(',')}`;
}

/**
 * A thin etcd v3 client over @grpc/grpc-js: one channel (round robin over the endpoints, HTTP/2
 * keepalive to notice dead connections), deadlines on every call, reads retried with backoff while
 * etcd is unreachable (writes are not: a write whose reply was lost may have been applied), and
 * every failure mapped to a CoordError in one place.
 */
export class EtcdClient {
  readonly endpoints: string[];
  readonly watches: WatchManager;
  private readonly kv: grpc.Client;
  private readonly lease: grpc.Client;
  private readonly watchClient: grpc.Client;
  private readonly maintenance: grpc.Client;
  private readonly cluster: grpc.Client;
  private readonly auth: grpc.Client;
  /** The deadline of one request (see {@link ClientOptions.requestTimeoutMs}). */
  readonly requestTimeoutMs: number;
  private token: Promise<string> | undefined;
  private closed = false;
  /**
   * Every answer's header is checked here for history going backwards (a `--memory` store
   * restarted, a data dir restored from an older backup, another cluster behind the address). On a
   * loss it logs, records a `coord.etcd.history_lost` event, and fails every watch with
   * 'history-lost' so its owner re-reads from scratch; subscribe to `history.onLost` to react too.
   */
  readonly history = new HistoryGuard();

  constructor(private readonly options: ClientOptions = {}) {
    const list = options.endpoints ?? '127.0.0.1:2379';
    this.endpoints = (Array.isArray(list) ? list : list.split(',')).map((s) => s.trim()).filter(Boolean);
    if (this.endpoints.length === 0) throw new CoordError('invalid-argument', 'no etcd endpoints given');
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    const secure = options.tls || this.endpoints.some((e) => e.startsWith('https://'));
    const tls = secure ? tlsCredentials(this.endpoints, options.tls) : undefined;
    const creds = tls?.creds ?? grpc.credentials.createInsecure();
    const proto = etcdProto();
    const channelOptions: grpc.ChannelOptions = {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      ...tls?.options,
    };
    const t = endpointsTarget(this.endpoints);
    this.kv = new proto.KV(t, creds, channelOptions);
    const shared = { ...channelOptions, channelOverride: this.kv.getChannel() as grpc.Channel };
    this.lease = new proto.Lease(t, creds, shared);
    this.watchClient = new proto.Watch(t, creds, shared);
    this.maintenance = new proto.Maintenance(t, creds, shared);
    this.cluster = new proto.Cluster(t, creds, shared);
    this.auth = new proto.Auth(t, creds, shared);
    const log = options.log ?? (() => {});
    this.history.onLost((h) => {
      const line = describeHistoryLost(h);
      log(line);
      tracedEvent('coord.etcd.history_lost', { 'coord.etcd.reason': h.reason, 'coord.etcd.previous_revision': h.previousRevision, 'coord.etcd.revision': h.revision }, undefined, line);
    });
    this.watches = new WatchManager(() => this.stream('Watch'), {
      onStaleToken: () => {
        this.token = undefined;
        return !!this.options.auth;
      },
      history: this.history,
      endpoints: this.endpoints,
      log,
    });
  }

  // --- plumbing ---

  /** Metadata for a call (etcd's auth token when credentials are configured). */
  async metadata(): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (this.options.auth) {
      const token = await this.authToken();
      if (token) md.set('token', token);
    }
    return md;
  }

  /**
   * The auth token, fetched once and shared by concurrent calls. etcd's simple tokens expire when
   * unused for `--auth-token-ttl` and die with AuthDisable, a password change or the user's
   * deletion; a call refused for its token drops it (see `unary`) and the next call authenticates
   * again. With auth off on the server, calls go without a token (as Go's clientv3 does).
   */
  private authToken(): Promise<string> {
    const { username, password } = this.options.auth!;
    this.token ??= this.unaryOnce<{ token: string }>(this.auth, 'Authenticate', { name: username, password }, {}, false).then(
      (r) => r.token,
      (e: CoordError) => {
        this.token = undefined;
        if (/authentication is not enabled/.test(e.message)) return '';
        const code = /authentication failed/.test(e.message) ? 'permission-denied' : e.code;
        throw new CoordError(code, `etcd authentication as '${username}' failed: ${e.message.replace(/^etcd Authenticate: /, '')}`, { cause: e });
      },
    );
    return this.token;
  }

  /**
   * Checks the configured credentials now (an Authenticate call), rather than on the first request.
   * Rejects with `permission-denied` on a wrong user or password; a server with auth off passes.
   */
  async authenticate(): Promise<void> {
    this.assertOpen();
    if (this.options.auth) await this.authToken();
  }

  /** Opens a bidi stream (watch or keepalive) on the shared channel. */
  async stream(kind: 'Watch' | 'LeaseKeepAlive', signal?: AbortSignal): Promise<grpc.ClientDuplexStream<unknown, unknown>> {
    this.assertOpen();
    const md = await this.metadata();
    const client = kind === 'Watch' ? this.watchClient : this.lease;
    const fn = (client as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, unknown>>)[kind];
    const call = fn.call(client, md, {});
    signal?.addEventListener('abort', () => call.cancel(), { once: true });
    return call;
  }

  private unaryOnce<Res>(client: grpc.Client, method: string, req: unknown, o: CallOptions, withAuth = true): Promise<Res> {
    this.assertOpen();
    const { signal } = o;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const deadline = Date.now() + (o.timeoutMs ?? this.requestTimeoutMs);
    // Status and MemberList may be answered by a lagging member: only their cluster id is checked.
    const floor = client === this.kv || client === this.lease ? this.history.floor() : 0;
    return (withAuth ? this.metadata() : Promise.resolve(new grpc.Metadata())).then(
      (md) =>
        new Promise<Res>((resolve, reject) => {
          const fn = (client as unknown as Record<string, Function>)[method];
          const call = fn.call(client, req, md, { deadline, waitForReady: true }, (err: grpc.ServiceError | null, res: Res) => {
            signal?.removeEventListener('abort', onAbort);
            if (err && signal?.aborted) return reject(abortError(signal));
            if (err?.code === grpc.status.DEADLINE_EXCEEDED) return void this.whyNoAnswer(err).then((e) => reject(fromGrpcError(e, `etcd ${method}`, this.endpoints)));
            if (err) return reject(fromGrpcError(err, `etcd ${method}`, this.endpoints));
            this.history.observe((res as { header?: { revision?: string; cluster_id?: string } } | undefined)?.header, floor);
            resolve(res);
          }) as grpc.ClientUnaryCall;
          const onAbort = () => call.cancel();
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
    );
  }

  /**
   * A call that waited for a connection (waitForReady) until its deadline ran out says only
   * "deadline exceeded", though the channel knows why it could not connect (a refused port, a TLS
   * certificate naming another host). When the channel is failing or connecting, a read that does
   * not wait for a connection fails with that reason as soon as the channel fails (it is never
   * sent: there is no connection), and the reason is what the caller gets. Were the channel to
   * connect meanwhile, the probe is an ordinary one-key read.
   */
  private whyNoAnswer(err: grpc.ServiceError): Promise<grpc.ServiceError> {
    const channel = this.kv.getChannel();
    // Connected: the server itself did not answer in time. Connecting: the probe waits for the attempt's outcome (up to 1 s).
    const state = channel.getConnectivityState(false);
    if (state !== grpc.connectivityState.TRANSIENT_FAILURE && state !== grpc.connectivityState.CONNECTING) return Promise.resolve(err);
    return new Promise((resolve) => {
      const probe = this.kv as unknown as { Range: (req: unknown, md: grpc.Metadata, o: { deadline: number; waitForReady: boolean }, cb: (e: grpc.ServiceError | null) => void) => void };
      probe.Range({ key: Buffer.from([0]), limit: 1 }, new grpc.Metadata(), { deadline: Date.now() + 1000, waitForReady: false }, (e) => {
        resolve(e?.code === grpc.status.UNAVAILABLE && /No connection established/.test(e.details) ? e : err);
      });
    });
  }

  /** A unary call; `retry` repeats it on transient failures until the deadline (reads only). */
  private async unary<Res>(client: grpc.Client, method: string, req: unknown, o: CallOptions, retry: boolean): Promise<Res> {
    const deadline = Date.now() + (o.timeoutMs ?? this.requestTimeoutMs);
    const backoff = new Backoff({ initialMs: 50, maxMs: 1000 });
    let reauthenticated = false;
    for (;;) {
      const token = this.token;
      try {
        return await this.unaryOnce<Res>(client, method, req, { ...o, timeoutMs: Math.max(1, deadline - Date.now()) });
      } catch (e) {
        const err = e as CoordError;
        // etcd refused the token before doing anything, so even a write is safe to send again.
        if (this.options.auth && !reauthenticated && isStaleTokenError(err.message)) {
          if (this.token === token) this.token = undefined;
          reauthenticated = true;
          continue;
        }
        if (!retry || !err.recoverable || Date.now() + 50 >= deadline) throw err;
        await sleep(Math.min(backoff.next(), deadline - Date.now()), o.signal);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new CoordError('closed', 'etcd client is closed');
  }

  // --- KV ---

  async range(key: string, o: RangeOptions = {}): Promise<RangeResult> {
    const r = await this.unary<{ kvs: KeyValueMsg[]; count: string; more: boolean; header: { revision: string } }>(this.kv, 'Range', rangeRequest(key, o), o, true);
    return { kvs: r.kvs.map(toKeyValue), count: Number(r.count), more: r.more, revision: Number(r.header.revision) };
  }

  async get(key: string, o: CallOptions & { revision?: number } = {}): Promise<KeyValue | undefined> {
    return (await this.range(key, o)).kvs[0];
  }

  async put(key: string, value: string | Buffer, o: CallOptions & { lease?: string; prevKv?: boolean } = {}): Promise<{ revision: number; prevKv?: KeyValue }> {
    const r = await this.unary<{ header: { revision: string }; prev_kv: KeyValueMsg | null }>(
      this.kv,
      'Put',
      { key: b(key), value: b(value), lease: o.lease ?? '0', prev_kv: !!o.prevKv },
      o,
      false,
    );
    return { revision: Number(r.header.revision), prevKv: r.prev_kv ? toKeyValue(r.prev_kv) : undefined };
  }

  async delete(key: string, o: CallOptions & { end?: string; prefix?: boolean; prevKv?: boolean } = {}): Promise<{ revision: number; deleted: number; prevKvs: KeyValue[] }> {
    const r = await this.unary<{ header: { revision: string }; deleted: string; prev_kvs: KeyValueMsg[] }>(
      this.kv,
      'DeleteRange',
      { key: b(key), range_end: rangeEnd(key, o), prev_kv: !!o.prevKv },
      o,
      false,
    );
    return { revision: Number(r.header.revision), deleted: Number(r.deleted), prevKvs: r.prev_kvs.map(toKeyValue) };
  }

  async txn(t: { compare?: CompareMsg[]; success?: RequestOp[]; failure?: RequestOp[] }, o: CallOptions = {}): Promise<TxnResult> {
    type ResOp = { response_range?: { kvs: KeyValueMsg[] }; response_put?: { prev_kv: KeyValueMsg | null }; response_delete_range?: { deleted: string; prev_kvs: KeyValueMsg[] } };
    const r = await this.unary<{ header: { revision: string }; succeeded: boolean; responses: ResOp[] }>(
      this.kv,
      'Txn',
      { compare: t.compare ?? [], success: t.success ?? [], failure: t.failure ?? [] },
      o,
      false,
    );
    return {
      succeeded: r.succeeded,
      revision: Number(r.header.revision),
      responses: r.responses.map((x) => {
        if (x.response_range) return { kvs: x.response_range.kvs.map(toKeyValue) };
        if (x.response_put) return { prevKv: x.response_put.prev_kv ? toKeyValue(x.response_put.prev_kv) : undefined };
        if (x.response_delete_range) return { deleted: Number(x.response_delete_range.deleted), prevKvs: x.response_delete_range.prev_kvs.map(toKeyValue) };
        return {};
      }),
    };
  }

  async compact(revision: number, o: CallOptions = {}): Promise<void> {
    await this.unary(this.kv, 'Compact', { revision, physical: false }, o, false);
  }

  // --- leases ---

  async leaseGrant(ttlSeconds: number, o: CallOptions & { id?: string } = {}): Promise<{ id: string; ttl: number }> {
    const r = await this.unary<{ ID: string; TTL: string }>(this.lease, 'LeaseGrant', { TTL: ttlSeconds, ID: o.id ?? '0' }, o, false);
    return { id: r.ID, ttl: Number(r.TTL) };
  }

  async leaseRevoke(id: string, o: CallOptions = {}): Promise<void> {
    await this.unary(this.lease, 'LeaseRevoke', { ID: id }, o, false);
  }

  async leaseTimeToLive(id: string, o: CallOptions & { keys?: boolean } = {}): Promise<{ ttl: number; grantedTtl: number; keys: string[] }> {
    const r = await this.unary<{ TTL: string; grantedTTL: string; keys: Buffer[] }>(this.lease, 'LeaseTimeToLive', { ID: id, keys: !!o.keys }, o, true);
    return { ttl: Number(r.TTL), grantedTtl: Number(r.grantedTTL), keys: r.keys.map((k) => k.toString()) };
  }

  /** Every lease the cluster has granted and not yet expired or revoked (all namespaces). */
  async leaseLeases(o: CallOptions = {}): Promise<string[]> {
    const r = await this.unary<{ leases: Array<{ ID: string }> }>(this.lease, 'LeaseLeases', {}, o, true);
    return r.leases.map((l) => l.ID);
  }

  // --- maintenance ---

  async status(o: CallOptions = {}): Promise<{ version: string; dbSize: number; leader: string; raftTerm: number; revision: number; memberId: string }> {
    const r = await this.unary<{ version: string; dbSize: string; leader: string; raftTerm: string; header: { revision: string; member_id: string } }>(
      this.maintenance,
      'Status',
      {},
      o,
      true,
    );
    return { version: r.version, dbSize: Number(r.dbSize), leader: r.leader, raftTerm: Number(r.raftTerm), revision: Number(r.header.revision), memberId: r.header.member_id };
  }

  /** The cluster's members, as etcd's MemberList reports them. */
  async memberList(o: CallOptions = {}): Promise<Array<{ id: string; name: string; peerUrls: string[]; clientUrls: string[]; isLearner: boolean }>> {
    const r = await this.unary<{ members: Array<{ ID: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }> }>(this.cluster, 'MemberList', {}, o, true);
    return r.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner }));
  }

  close(): void {
    if (this.closed) return;
    this.watches.close();
    this.closed = true;
    this.kv.close();
  }
}
