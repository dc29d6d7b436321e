import * as grpc from '@grpc/grpc-js';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, isIP } from 'node:net';
import { etcdProto } from '../protocol/etcd-proto.ts';
import type { DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest, WatchRequest } from '../protocol/etcd-types.ts';
import { Errors, isEtcdError, unmappedAuthError } from './errors.ts';
import { checkDelete, checkPut, checkRange, checkTxn } from './requests.ts';
import { authHandlers } from './auth-service.ts';
import type { AuthInfo } from './auth.ts';
import { Durability } from './durability.ts';
import { WatchHub, type WatchResponseMsg } from './watch-hub.ts';
import { lockDataDir } from './data-dir-lock.ts';
import type { StoreFs } from './store-fs.ts';
import { hashPassword } from './auth-password.ts';
import { GrpcSessions } from './grpc-sessions.ts';
import { DEFAULT_AUTO_COMPACTION, startAutoCompactor, type AutoCompaction } from './auto-compactor.ts';
import { isLoopbackListen } from './listen-address.ts';
import { HashGate, type HashGateOptions } from './auth-hash-gate.ts';

/** Options for {@link startStore}; defaults in each field's doc. */
export interface StoreOptions {
  /** host:port to serve on. Default `127.0.0.1:2379`; port 0 picks a free port. */
  listen?: string;
  /** Directory for the write-ahead log and snapshots. Omit for an in-memory store. */
  dataDir?: string;
  /** TLS: PEM cert and key; with `ca`, clients must present a certificate signed by it. */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** Largest write request accepted, in bytes. Default 1.5 MiB, as etcd. */
  maxRequestBytes?: number;
  /** Most operations in one Txn branch or compare list. Default 128, as etcd. */
  maxTxnOps?: number;
  /** Interval of progress notifications to watchers that asked for them. Default 10 min, as etcd. */
  progressNotifyIntervalMs?: number;
  /** Write a snapshot and drop older log segments once this much log accumulated. Default 64 MiB. */
  snapshotBytes?: number;
  /** One-line operational messages (recovery, torn tail, snapshots). Default: none. */
  log?: (line: string) => void;
  /** Start a new log segment file once the current one passes this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * The file system under `dataDir`. Default node's. Fault-injection tests put a simulated disk
   * here (see test/helpers/power-cut-fs.ts); with one, the data dir is not locked against other
   * processes, since it is not on the real disk.
   */
  fs?: StoreFs;
  /**
   * Idle lifetime of an auth token (etcd's simple tokens): each use restarts it. Default 300 s, as
   * etcd's `--auth-token-ttl`.
   */
  authTokenTtlMs?: number;
  /**
   * Turn auth on at start with a `root` user of this password, when the store has no root user
   * yet (a fresh or auth-less data dir). A store whose data dir already has one keeps it and its
   * password; auth is (re-)enabled. `coord store --auth-root-password-file F`.
   */
  authRootPassword?: string;
  /**
   * Automatic compaction of old history (etcd's `--auto-compaction-mode/-retention`). Default
   * periodic, one hour; `false` keeps all history until a client compacts.
   */
  autoCompaction?: AutoCompaction | false;
  /**
   * Bounds on password hashing, so an Authenticate flood cannot stall the log: hashes at once
   * (default 1), Authenticate calls outstanding per peer (default 8) and waiting in all (default
   * 64); beyond these a call gets `etcdserver: too many requests` (RESOURCE_EXHAUSTED) at once.
   */
  authHashing?: HashGateOptions;
}

/** A running coord store, as `startStore()` returns it. */
export interface StoreHandle {
  /** `host:port` clients connect to. */
  readonly endpoint: string;
  readonly port: number;
  /** Resolves when the store stops on its own after a fatal disk error (never on close()). */
  readonly failed: Promise<Error>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Version reported by Maintenance.Status: the etcd API level served, marked as coord store. */
export const STORE_VERSION = '3.4.23-coord';
/** etcd's allowance for gRPC framing above the largest request (grpcOverheadBytes). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** How long close() lets calls in flight finish before it cuts every connection. */
const SHUTDOWN_GRACE_MS = 1000;

export class StoreStartError extends Error {
  readonly brand = 'coord.StoreStartError' as const;
}

/** Starts coord store: the etcd v3 gRPC API over an in-memory MVCC store, durable when given a data dir. */
export async function startStore(options: StoreOptions = {}): Promise<StoreHandle> {
  const listen = options.listen ?? '127.0.0.1:2379';
  const maxRequestBytes = options.maxRequestBytes ?? 1.5 * 1024 * 1024;
  const log = options.log ?? (() => {});
  await probeListen(listen);
  const lock = options.dataDir && !options.fs ? await lockDataDir(options.dataDir) : undefined;
  let durability: Durability;
  try {
    durability = await Durability.open({
      dataDir: options.dataDir,
      lock,
      maxTxnOps: options.maxTxnOps ?? 128,
      snapshotBytes: options.snapshotBytes ?? 64 * 1024 * 1024,
      log,
      segmentBytes: options.segmentBytes,
      fs: options.fs,
      authTokenTtlMs: options.authTokenTtlMs,
    });
    if (options.authRootPassword !== undefined) await enableAuthWithRoot(durability, options.authRootPassword, log);
  } catch (e) {
    await lock?.release();
    throw e;
  }
  const state = durability.state;
  const proto = etcdProto();
  const watchService = preEncodedEvents(proto.Watch.service);
  const hub = new WatchHub(state.mvcc, {
    progressIntervalMs: options.progressNotifyIntervalMs ?? 600_000,
    maxResponseBytes: maxRequestBytes,
    encodeEvent: (event) => watchService.Watch.responseSerialize({ events: [event] }),
  });
  durability.onPublish = (events, rev) => (events.length ? hub.publish(events) : hub.advance(rev));

  // IDs kept below 2^53 so they encode as plain numbers: every reply carries them, and parsing a
  // 64-bit decimal string per response showed up in profiles. A memory store is a new cluster each
  // time it starts (as a new etcd cluster is): a fresh id tells clients its history is not the old one.
  const identity = options.dataDir ?? `memory:${randomUUID()}`;
  const memberId = Number(BigInt.asUintN(52, createHash('sha256').update(`coord:${listen}:${identity}`).digest().readBigUInt64BE()));
  const clusterId = Number(BigInt.asUintN(52, BigInt(memberId) * 31n + 7n));
  const header = (revision: number) => ({ cluster_id: clusterId, member_id: memberId, revision, raft_term: 2 });
  // etcd leaves some headers out entirely (Alarm); those stay null.
  const withHeader = <T extends { header: { revision: number } | null }>(res: T) => (res.header ? { ...res, header: header(res.header.revision) } : res);

  type Res = { header: { revision: number } | null };
  /**
   * Runs a request against the state, then answers once everything it may have seen is durable.
   * A handler may be async (auth hashes passwords); the state is still changed synchronously.
   */
  function unary<Req>(fn: (req: Req, size: number, call: grpc.ServerUnaryCall<Req, unknown>) => Res | Promise<Res>) {
    return (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const reply = (res: Res) => {
        if (durability.failure) return cb(toStatus(Errors.stopped()));
        durability.barrier().then(
          () => cb(null, withHeader(res)),
          () => cb(toStatus(Errors.stopped())),
        );
      };
      let out: Res | Promise<Res>;
      try {
        if (durability.failure) throw Errors.stopped();
        out = fn(call.request, (call.request as { [SIZE]?: number })[SIZE] ?? 0, call);
      } catch (e) {
        cb(toStatus(e));
        return;
      }
      if (out instanceof Promise) out.then(reply, (e: unknown) => cb(toStatus(e)));
      else reply(out);
    };
  }
  const auth = state.auth;
  /** The caller named by a call's token (etcd reads `token`, or `authorization` from its HTTP gateway). */
  const clientCertAuth = !!options.tls?.ca;
  const who = (call: { metadata: grpc.Metadata; getAuthContext?: () => { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } }): AuthInfo | undefined => {
    const v = call.metadata.get('token')[0] ?? call.metadata.get('authorization')[0];
    if (v !== undefined) return auth.identify(String(v));
    // etcd's --client-cert-auth: without a token, a verified client certificate's common name is
    // the user (coord store verifies client certificates whenever it is given a CA).
    if (clientCertAuth) {
      const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (name) return { username: name };
    }
    return undefined;
  };
  const leaseKeys = (id: bigint) => state.lessor.get(id)?.keys;
  const checkSize = (size: number) => {
    if (size > maxRequestBytes) throw Errors.requestTooLarge();
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    'grpc.keepalive_permit_without_calls': 1,
    // Per-call channel statistics cost ~5% of a put and nothing reads them here.
    'grpc.enable_channelz': 0,
  });
  // Seen here, not through channelz: a forced stop must reach them all, and a client's GOAWAY must not close one.
  const sessions = new GrpcSessions(server);
  server.addService(measured(proto.KV.service), {
    Range: unary<RangeRequest>((r, _size, call) => {
      checkRange(r);
      auth.checkRead(who(call), r.key, r.range_end);
      return state.range(r);
    }),
    Put: unary<PutRequest>((r, size, call) => {
      checkPut(r);
      const info = who(call);
      checkSize(size);
      auth.checkPut(info, r, leaseKeys);
      return state.put(r);
    }),
    DeleteRange: unary<DeleteRangeRequest>((r, size, call) => {
      checkDelete(r);
      const info = who(call);
      checkSize(size);
      auth.checkWrite(info, r.key, r.range_end);
      if (r.prev_kv) auth.checkRead(info, r.key, r.range_end);
      return state.deleteRange(r);
    }),
    Txn: unary<TxnRequest>((r, size, call) => {
      // With auth on, a malformed txn must still get its validation error before any auth error.
      if (auth.enabled) checkTxn(r, options.maxTxnOps ?? 128);
      const info = who(call);
      checkSize(size);
      auth.checkTxn(info, r, leaseKeys);
      return state.txn(r);
    }),
    Compact: unary<{ revision: string }>((r, _size, call) => {
      who(call);
      return state.compact(Number(r.revision));
    }),
  });
  server.addService(proto.Lease.service, {
    LeaseGrant: unary<{ TTL: string; ID: string }>((r, _size, call) => {
      who(call);
      return state.leaseGrant(Number(r.TTL), BigInt(r.ID));
    }),
    LeaseRevoke: unary<{ ID: string }>((r, _size, call) => {
      const info = who(call);
      if (auth.enabled) auth.checkLeaseKeys(info, state.lessor.get(BigInt(r.ID))?.keys);
      return state.leaseRevoke(BigInt(r.ID));
    }),
    LeaseTimeToLive: unary<{ ID: string; keys: boolean }>((r, _size, call) => {
      const lease = state.lessor.get(BigInt(r.ID));
      // Without keys the call is not checked, as in etcd (its fix of CVE-2023-32082 checks only listings of keys).
      if (r.keys && auth.enabled) auth.checkLeaseRead(who(call), lease?.keys ?? []);
      const revision = state.rev;
      if (!lease) return { header: { revision }, ID: r.ID, TTL: -1, grantedTTL: 0, keys: [] };
      const keys = r.keys ? [...lease.keys].map((k) => Buffer.from(k, 'latin1')) : [];
      return { header: { revision }, ID: r.ID, TTL: state.lessor.remaining(lease), grantedTTL: lease.ttl, keys };
    }),
    LeaseLeases: unary((_r, _size, call) => {
      if (auth.enabled) auth.checkLeaseRead(who(call), [...state.lessor.leases.values()].flatMap((l) => [...l.keys]));
      return { header: { revision: state.rev }, leases: [...state.lessor.leases.keys()].map((id) => ({ ID: id.toString() })) };
    }),
    LeaseKeepAlive: (call: grpc.ServerDuplexStream<{ ID: string }, unknown>) => {
      call.on('data', (r: { ID: string }) => {
        // Like any reply: not after a failed fsync, and not naming a revision that is not yet durable.
        if (durability.failure) return failStream(call);
        const ttl = state.lessor.renew(BigInt(r.ID)) ?? 0;
        const rev = state.rev;
        durability.barrier().then(
          () => call.write({ header: header(rev), ID: r.ID, TTL: ttl }),
          () => failStream(call),
        );
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  server.addService(watchService, {
    Watch: (call: grpc.ServerDuplexStream<WatchRequest, unknown>) => {
      const stream = hub.openStream((r: WatchResponseMsg) => {
        if (!call.cancelled && !call.destroyed) call.write({ ...r, header: header(r.header.revision) });
      });
      call.on('data', (r: WatchRequest) => {
        if (r.request_union === 'create_request' && r.create_request) {
          const c = r.create_request;
          try {
            // etcd checks each create against the stream's token. A from-key watch (range_end
            // "\0") is checked as the open range it is, where etcd 3.4 checks only its first key.
            auth.checkRead(who(call), c.key.length ? c.key : ZERO_BYTE, c.range_end);
          } catch (e) {
            stream.refuse(goStatusText(e));
            return;
          }
          stream.create(c);
        }
        else if (r.request_union === 'cancel_request' && r.cancel_request) stream.cancel(Number(r.cancel_request.watch_id));
        else if (r.request_union === 'progress_request') stream.progress();
      });
      const done = () => stream.close();
      call.on('end', () => {
        done();
        call.end();
      });
      call.on('error', done);
      call.on('cancelled', done);
      call.on('close', done);
    },
  });

  let endpoint = listen;
  const member = () => ({ ID: memberId, name: 'coord', peerURLs: [], clientURLs: [`${options.tls ? 'https' : 'http'}://${endpoint}`], isLearner: false });
  server.addService(proto.Cluster.service, {
    MemberList: unary(() => ({ header: { revision: 0 }, members: [member()] })),
  });
  const adminOnly = (call: { metadata: grpc.Metadata }) => {
    try {
      auth.checkAdmin(who(call));
    } catch (e) {
      throw unmappedAuthError(e);
    }
  };
  server.addService(proto.Maintenance.service, {
    Alarm: unary((_r, _size, call) => {
      who(call);
      return { header: null, alarms: [] };
    }),
    Status: unary(() => ({
      header: { revision: state.rev },
      version: STORE_VERSION,
      dbSize: durability.sizeOnDisk(),
      leader: memberId,
      raftIndex: durability.appliedIndex,
      raftTerm: 2,
      raftAppliedIndex: durability.appliedIndex,
      errors: [],
      dbSizeInUse: durability.sizeOnDisk(),
      isLearner: false,
    })),
    Defragment: unary((_r, _size, call) => {
      adminOnly(call);
      return { header: { revision: state.rev } };
    }),
    HashKV: unary<{ revision: string }>((r, _size, call) => {
      adminOnly(call);
      return state.hashKV(Number(r.revision));
    }),
    Snapshot: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      if (durability.failure) return failStream(call);
      try {
        adminOnly(call);
      } catch (e) {
        return failStream(call, e);
      }
      // The state is taken now, and sent only once everything in it is durable.
      const blob = durability.snapshotBlob();
      const rev = state.rev;
      durability.barrier().then(
        () => {
          const chunk = 64 * 1024;
          for (let off = 0; off < blob.length; off += chunk) {
            const part = blob.subarray(off, off + chunk);
            call.write({ header: header(rev), remaining_bytes: blob.length - off - part.length, blob: part });
          }
          call.end();
        },
        () => failStream(call),
      );
    },
  });

  let tokenIndex = 0;
  server.addService(
    proto.Auth.service,
    authHandlers({
      auth,
      rev: () => state.rev,
      nextIndex: () => durability.appliedIndex + ++tokenIndex,
      who,
      unary: unary as never,
      hashGate: new HashGate(options.authHashing),
      log,
    }),
  );

  const creds = options.tls
    ? grpc.ServerCredentials.createSsl(options.tls.ca ?? null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], !!options.tls.ca)
    : grpc.ServerCredentials.createInsecure();
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => server.bindAsync(listen, creds, (err, p) => (err ? reject(err) : resolve(p))));
  } catch (e) {
    hub.close();
    await durability.close();
    await lock?.release();
    throw listenError(listen, e);
  }
  endpoint = listen.replace(/:\d+$/, `:${port}`);
  lock?.setEndpoint(endpoint);
  // etcd warns about insecure client listeners too; here only where it matters: off this machine, with nothing checked.
  if (!options.tls && !auth.enabled && !isLoopbackListen(listen)) {
    log(`coord store: WARNING: serving ${endpoint} on a non-loopback address with neither TLS nor auth: anyone who can reach it can read and change every key (TLS: --cert/--key; auth: --auth-root-password-file)`);
  }

  const autoCompaction = options.autoCompaction ?? DEFAULT_AUTO_COMPACTION;
  const compactTarget = {
    get rev() {
      return state.rev;
    },
    get compactRev() {
      return state.mvcc.compactRev;
    },
    compact(rev: number) {
      if (durability.failure) throw Errors.stopped();
      state.compact(rev);
    },
  };
  const stopCompactor = autoCompaction ? startAutoCompactor(compactTarget, autoCompaction, log) : () => {};

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopCompactor();
      hub.close();
      // GOAWAY to every client and a wait for calls in flight; streams that never end on their
      // own (watches, keepalives) are cut after SHUTDOWN_GRACE_MS.
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          sessions.destroyAll();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      await durability.close();
      await lock?.release();
    })());
  const failed = durability.failed.then(async (err) => {
    log(`coord store: stopping after a disk error: ${err.message}`);
    // The listener and connections stay: every call, on a new connection too, is answered
    // "server stopped" until close() or exit.
    stopCompactor();
    hub.close();
    await lock?.release();
    return err;
  });
  return { endpoint, port, failed, close, [Symbol.asyncDispose]: close };
}

function listenError(listen: string, e: unknown): StoreStartError {
  const msg = String((e as Error).message);
  const why = /EADDRINUSE/.test(msg) ? 'address already in use' : /EACCES/.test(msg) ? 'permission denied' : msg;
  return new StoreStartError(`coord store: cannot listen on ${listen}: ${why}`);
}

/**
 * Fails fast when an IP:port to listen on is taken, before the data dir is touched (etcd, too,
 * opens its listeners first) and before grpc-js logs a line of its own beside our error.
 */
async function probeListen(listen: string): Promise<void> {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!m || !isIP(m[1]) || Number(m[2]) === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e) => reject(listenError(listen, e)));
    probe.listen({ host: m[1], port: Number(m[2]), exclusive: true }, () => probe.close(() => resolve()));
  });
}

const SIZE = Symbol('requestSize');
const ZERO_BYTE = Buffer.from([0]);

/** `--auth-root-password-file`: a root user with the root role, and auth on (kept when already there). */
async function enableAuthWithRoot(durability: Durability, password: string, log: (line: string) => void): Promise<void> {
  const auth = durability.state.auth;
  if (!auth.user('root')) {
    auth.userAdd('root', await hashPassword(password), false);
    log('coord store: created user root (from the root password file)');
  } else {
    log('coord store: user root exists; its password is kept (the root password file only seeds a new store)');
  }
  if (!auth.hasRole('root', 'root')) auth.userGrantRole('root', 'root');
  if (!auth.enabled) {
    auth.authEnable();
    log('coord store: auth enabled');
  }
  await durability.barrier();
}

/**
 * The Watch service with a serializer that also accepts pre-encoded events: a WatchResponse's
 * repeated `events` field is just its entries concatenated, so the hub encodes each event once and
 * every watcher's response is its own small header plus those shared bytes.
 */
function preEncodedEvents(def: grpc.ServiceDefinition): grpc.ServiceDefinition & { Watch: grpc.MethodDefinition<unknown, unknown> } {
  const m = def.Watch as grpc.MethodDefinition<unknown, unknown>;
  const serialize = (res: unknown): Buffer => {
    const { encodedEvents, ...rest } = res as { encodedEvents?: Buffer[] };
    const head = m.responseSerialize(rest);
    return encodedEvents && encodedEvents.length > 0 ? Buffer.concat([head, ...encodedEvents]) : head;
  };
  return { ...def, Watch: { ...m, responseSerialize: serialize } } as grpc.ServiceDefinition & { Watch: grpc.MethodDefinition<unknown, unknown> };
}

/** Wraps each method's deserializer to remember the encoded size, for etcd's request size limit. */
function measured(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      ...m,
      requestDeserialize: (buf: Buffer) => {
        const obj = m.requestDeserialize(buf) as Record<symbol, number>;
        obj[SIZE] = buf.length;
        return obj;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

/** Ends a streaming call with `err` (default etcd's "server stopped", after a failed fsync), once. */
function failStream(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>, err: unknown = Errors.stopped()): void {
  if (call.writableEnded || call.destroyed) return;
  const status = toStatus(err);
  // grpc-js turns an 'error' event carrying code/details into the call's status.
  call.emit('error', Object.assign(new Error(status.details), status));
}

const GO_CODE_NAMES: Partial<Record<number, string>> = {
  [grpc.status.INVALID_ARGUMENT]: 'InvalidArgument',
  [grpc.status.PERMISSION_DENIED]: 'PermissionDenied',
  [grpc.status.UNAUTHENTICATED]: 'Unauthenticated',
};

/** A gRPC error as Go prints it (`status.Error(...).Error()`), which is what etcd puts in a watch's cancel_reason. */
function goStatusText(e: unknown): string {
  if (!isEtcdError(e)) return String((e as Error)?.message ?? e);
  return `rpc error: code = ${GO_CODE_NAMES[e.code] ?? 'Unknown'} desc = ${e.message}`;
}

function toStatus(e: unknown): Partial<grpc.StatusObject> {
  if (isEtcdError(e)) return { code: e.code, details: e.message };
  return { code: grpc.status.UNKNOWN, details: String((e as Error)?.message ?? e) };
}
