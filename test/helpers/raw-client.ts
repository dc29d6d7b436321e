// A deliberately thin etcd v3 client for the conformance suite: every call goes straight to the
// wire through grpc-js + etcdProto(), so a test sees exactly what the server sent (int64 as
// decimal strings, bytes as Buffers, zero values filled in). Only convenience: `key`,
// `range_end` and `value` may be given as strings (encoded as UTF-8, never as base64).
import * as grpc from '@grpc/grpc-js';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import type {
  AlarmResponse,
  CallError,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  Int64,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchResponse,
} from './raw-client-types.ts';

export * from './raw-client-types.ts';

const BYTES_FIELDS = new Set(['key', 'range_end', 'value']);

/** Copies a request, turning string `key` / `range_end` / `value` fields into UTF-8 Buffers. */
function encode<T>(message: T): T {
  if (Array.isArray(message)) return message.map(encode) as T;
  if (message === null || typeof message !== 'object' || Buffer.isBuffer(message)) return message;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message)) {
    out[name] = BYTES_FIELDS.has(name) && typeof value === 'string' ? Buffer.from(value, 'utf8') : encode(value);
  }
  return out as T;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

/** Resolves with the error of a call that must fail; rejects if the call succeeds. */
export async function callError(call: Promise<unknown>): Promise<CallError> {
  try {
    const response = await call;
    throw Object.assign(new Error(`expected the call to fail, got ${JSON.stringify(response)}`), { unexpected: true });
  } catch (err) {
    if ((err as { unexpected?: boolean }).unexpected) throw err;
    const { code, details } = err as grpc.ServiceError;
    if (typeof code !== 'number') throw err;
    return { code, details };
  }
}

class Queue<T> {
  readonly #items: T[] = [];
  #waiter: (() => void) | undefined;
  #error: Error | undefined;

  push(item: T): void {
    this.#items.push(item);
    this.#wake();
  }

  fail(err: Error): void {
    this.#error ??= err;
    this.#wake();
  }

  get pending(): number {
    return this.#items.length;
  }

  /** The next item; rejects after `timeoutMs` or when the stream failed with nothing queued. */
  async next(timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#items.length > 0) return this.#items.shift() as T;
      if (this.#error) throw this.#error;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  #wake(): void {
    this.#waiter?.();
  }
}

/** One bidirectional Watch stream; several watchers can be created on it. */
export class WatchStream {
  readonly #call: grpc.ClientDuplexStream<unknown, WatchResponse>;
  readonly #responses = new Queue<WatchResponse>();

  constructor(call: grpc.ClientDuplexStream<unknown, WatchResponse>) {
    this.#call = call;
    call.on('data', (response: WatchResponse) => this.#responses.push(response));
    call.on('error', (err: Error) => this.#responses.fail(err));
    call.on('end', () => this.#responses.fail(new Error('watch stream ended')));
  }

  create(request: WatchCreateRequest): void {
    this.#call.write({ create_request: encode(request) });
  }

  cancel(watchId: Int64): void {
    this.#call.write({ cancel_request: { watch_id: watchId } });
  }

  progress(): void {
    this.#call.write({ progress_request: {} });
  }

  /** Responses received but not yet taken with next(). */
  get pending(): number {
    return this.#responses.pending;
  }

  next(timeoutMs = 5000): Promise<WatchResponse> {
    return this.#responses.next(timeoutMs, 'WatchResponse');
  }

  /** Creates a watcher and returns its `created` response. */
  async watch(request: WatchCreateRequest, timeoutMs = 5000): Promise<WatchResponse> {
    this.create(request);
    const response = await this.next(timeoutMs);
    if (!response.created) throw new Error(`expected a created response, got ${JSON.stringify(response)}`);
    return response;
  }

  /**
   * Takes responses until `done(all events so far, responses so far)` holds; returns both.
   * Rejects if no further response arrives within `timeoutMs`.
   */
  async collect(
    done: (events: Event[], responses: WatchResponse[]) => boolean,
    timeoutMs = 10_000,
  ): Promise<{ events: Event[]; responses: WatchResponse[] }> {
    const events: Event[] = [];
    const responses: WatchResponse[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!done(events, responses)) {
      const response = await this.next(Math.max(1, deadline - Date.now()));
      responses.push(response);
      events.push(...response.events);
    }
    return { events, responses };
  }

  /** Resolves if nothing arrives for `ms`; rejects with what arrived otherwise. */
  async expectSilence(ms: number): Promise<void> {
    let response: WatchResponse;
    try {
      response = await this.next(ms);
    } catch {
      return;
    }
    throw new Error(`expected no WatchResponse, got ${JSON.stringify(response)}`);
  }

  close(): void {
    this.#call.cancel();
  }
}

/** One bidirectional LeaseKeepAlive stream. */
export class KeepAliveStream {
  readonly #call: grpc.ClientDuplexStream<unknown, LeaseKeepAliveResponse>;
  readonly #responses = new Queue<LeaseKeepAliveResponse>();

  constructor(call: grpc.ClientDuplexStream<unknown, LeaseKeepAliveResponse>) {
    this.#call = call;
    call.on('data', (response: LeaseKeepAliveResponse) => this.#responses.push(response));
    call.on('error', (err: Error) => this.#responses.fail(err));
    call.on('end', () => this.#responses.fail(new Error('keepalive stream ended')));
  }

  send(id: Int64): void {
    this.#call.write({ ID: id });
  }

  next(timeoutMs = 5000): Promise<LeaseKeepAliveResponse> {
    return this.#responses.next(timeoutMs, 'LeaseKeepAliveResponse');
  }

  close(): void {
    this.#call.cancel();
  }
}

export class RawClient {
  readonly #kv: grpc.Client;
  readonly #watch: grpc.Client;
  readonly #lease: grpc.Client;
  readonly #cluster: grpc.Client;
  readonly #maintenance: grpc.Client;
  readonly #auth: grpc.Client;
  /** etcd's auth token, sent as `token` metadata on every call and stream opened while it is set. */
  token: string | undefined;
  readonly #streams = new Set<{ close(): void }>();

  constructor(endpoint: string, creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    const proto = etcdProto();
    this.#kv = new proto.KV(endpoint, creds, options);
    // All services share the KV client's channel: one HTTP/2 connection per RawClient.
    const shared = { channelOverride: this.#kv.getChannel() as grpc.Channel };
    this.#watch = new proto.Watch(endpoint, creds, shared);
    this.#lease = new proto.Lease(endpoint, creds, shared);
    this.#cluster = new proto.Cluster(endpoint, creds, shared);
    this.#maintenance = new proto.Maintenance(endpoint, creds, shared);
    this.#auth = new proto.Auth(endpoint, creds, shared);
  }

  #metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('token', this.token);
    return md;
  }

  /** Any Auth service call (`UserAdd`, `RoleGrantPermission`, …), with the current token. */
  authCall<Res = Record<string, unknown>>(method: string, request: unknown = {}): Promise<Res> {
    return this.#unary(this.#auth, method, request);
  }

  /** Any Maintenance call by name (`Defragment`, `HashKV`, …). */
  maintenanceCall<Res = Record<string, unknown>>(method: string, request: unknown = {}): Promise<Res> {
    return this.#unary(this.#maintenance, method, request);
  }

  #unary<Res>(client: grpc.Client, method: string, request: unknown, timeoutMs = 10_000): Promise<Res> {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    return new Promise((resolve, reject) => {
      fn.call(client, encode(request), this.#metadata(), { deadline: Date.now() + timeoutMs }, (err, response) =>
        err ? reject(err) : resolve(response as Res),
      );
    });
  }

  range(request: RangeRequest): Promise<RangeResponse> {
    return this.#unary(this.#kv, 'Range', request);
  }
  put(request: PutRequest): Promise<PutResponse> {
    return this.#unary(this.#kv, 'Put', request);
  }
  deleteRange(request: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    return this.#unary(this.#kv, 'DeleteRange', request);
  }
  txn(request: TxnRequest): Promise<TxnResponse> {
    return this.#unary(this.#kv, 'Txn', request);
  }
  compact(request: CompactionRequest): Promise<CompactionResponse> {
    return this.#unary(this.#kv, 'Compact', request);
  }
  leaseGrant(request: { TTL: Int64; ID?: Int64 }): Promise<LeaseGrantResponse> {
    return this.#unary(this.#lease, 'LeaseGrant', request);
  }
  leaseRevoke(request: { ID: Int64 }): Promise<LeaseRevokeResponse> {
    return this.#unary(this.#lease, 'LeaseRevoke', request);
  }
  leaseTimeToLive(request: { ID: Int64; keys?: boolean }): Promise<LeaseTimeToLiveResponse> {
    return this.#unary(this.#lease, 'LeaseTimeToLive', request);
  }
  leaseLeases(): Promise<LeaseLeasesResponse> {
    return this.#unary(this.#lease, 'LeaseLeases', {});
  }
  memberList(): Promise<MemberListResponse> {
    return this.#unary(this.#cluster, 'MemberList', {});
  }
  status(): Promise<StatusResponse> {
    return this.#unary(this.#maintenance, 'Status', {});
  }
  alarm(request: { action: number; memberID?: Int64; alarm?: number }): Promise<AlarmResponse> {
    return this.#unary(this.#maintenance, 'Alarm', request);
  }

  /** The store's current revision, read with a Range on a key nobody writes. */
  async revision(): Promise<number> {
    return Number((await this.range({ key: '\u0000revision-probe' })).header.revision);
  }

  watchStream(): WatchStream {
    const call = (this.#watch as unknown as { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, WatchResponse> }).Watch(this.#metadata());
    const stream = new WatchStream(call);
    this.#streams.add(stream);
    return stream;
  }

  keepAliveStream(): KeepAliveStream {
    const call = (this.#lease as unknown as {
      LeaseKeepAlive(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, LeaseKeepAliveResponse>;
    }).LeaseKeepAlive(this.#metadata());
    const stream = new KeepAliveStream(call);
    this.#streams.add(stream);
    return stream;
  }

  close(): void {
    for (const stream of this.#streams) stream.close();
    this.#streams.clear();
    for (const client of [this.#watch, this.#lease, this.#cluster, this.#maintenance, this.#auth, this.#kv]) client.close();
  }
}
