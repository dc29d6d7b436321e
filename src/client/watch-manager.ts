import type * as grpc from '@grpc/grpc-js';
import { Backoff } from '../core/backoff.ts';
import { CoordError } from '../core/errors.ts';
import { Emitter, type Disposable } from '../core/events.ts';
import type { KeyValueMsg } from '../protocol/etcd-types.ts';
import { prefixEnd, toKeyValue, type KeyValue } from './keys.ts';
import { closeStream } from './stream-close.ts';
import { fromGrpcError, isStaleTokenError } from './errors-grpc.ts';

/** Options for `EtcdClient.watches.watch()`: which keys, from which revision, and what to include. */
export interface WatchOptions {
  /** Exclusive range end; `prefix: true` watches every key under the key. */
  end?: string;
  prefix?: boolean;
  /** First revision to deliver (inclusive). Default: changes after the watch is created. */
  startRevision?: number;
  prevKv?: boolean;
  noPut?: boolean;
  noDelete?: boolean;
}

/** One change a watch delivers: a put or a delete of `kv`, with the previous value when asked for (`prevKv`). */
export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** The events of one etcd watch response, delivered together. */
export interface WatchBatch {
  events: WatchEvent[];
  /** Revision of the last event in the batch. */
  revision: number;
}

/** How often an idle stream is probed with a progress request, and how long an answer may take. */
const PROBE_IDLE_MS = 5_000;
const PROBE_TIMEOUT_MS = 5_000;

/**
 * One watched key range. Events arrive in revision order, each exactly once, across reconnects:
 * after a broken or stalled stream the watch is re-created from the revision after the last one
 * delivered. A watch whose resume point was compacted away ends with a 'compacted' error; the
 * owner re-reads and watches again.
 */
export class Watcher implements Disposable {
  private readonly events = new Emitter<WatchBatch>();
  private readonly errors = new Emitter<CoordError>();
  private readonly states = new Emitter<'connected' | 'disconnected'>();
  /** Next revision to ask for when (re)creating; undefined until the first creation answered. */
  nextRev: number | undefined;
  created = false;
  closed = false;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly options: WatchOptions,
    private readonly manager: WatchManager,
  ) {
    this.nextRev = options.startRevision;
  }

  readonly onEvents = this.events.on;
  /** Fatal errors (compaction past the resume point); the watcher is closed after it fires. */
  readonly onError = this.errors.on;
  /** The stream carrying this watch broke ('disconnected') or was re-established ('connected'). */
  readonly onState = this.states.on;

  deliver(batch: WatchBatch): void {
    this.nextRev = batch.revision + 1;
    this.events.emit(batch);
  }

  fail(err: CoordError): void {
    this.closed = true;
    this.errors.emit(err);
  }

  state(s: 'connected' | 'disconnected'): void {
    this.states.emit(s);
  }

  dispose(): void {
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.manager.remove(this);
  }
}

interface WatchResponse {
  header: { revision: string } | null;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: Array<{ type: number; kv: KeyValueMsg; prev_kv: KeyValueMsg | null }>;
}

/** Multiplexes every watch of a client over one Watch stream, reconnecting with backoff. */
export class WatchManager {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 1;
  private stream: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  private connecting = false;
  private readonly backoff = new Backoff({ initialMs: 100, maxMs: 3000 });
  private probeTimer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private probeSentAt = 0;
  private closed = false;
  /** Why the stream last broke, for diagnostics. */
  lastError: CoordError | undefined;
  /** Watchers whose create request is unanswered, in send order (etcd answers creates in order). */
  private pendingCreates: Watcher[] = [];

  /**
   * @param open opens a Watch stream (with the client's current auth token)
   * @param onStaleToken called when etcd refuses a create because the stream's token expired or
   *   was revoked; returns true when the next `open` will authenticate again (credentials are set)
   */
  constructor(
    private readonly open: () => Promise<grpc.ClientDuplexStream<unknown, unknown>>,
    private readonly onStaleToken: () => boolean = () => false,
  ) {}

  watch(key: string, options: WatchOptions = {}): Watcher {
    if (this.closed) throw new CoordError('closed', 'etcd client is closed');
    const w = new Watcher(this.nextId++, key, options, this);
    this.watchers.set(w.id, w);
    if (this.stream) this.sendCreate(w);
    else this.connect();
    return w;
  }

  remove(w: Watcher): void {
    this.watchers.delete(w.id);
    if (this.stream && w.created) this.stream.write({ cancel_request: { watch_id: w.id } });
    if (this.watchers.size === 0) this.teardown();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.closed = true;
    this.watchers.clear();
    this.teardown();
  }

  private teardown(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s) closeStream(s);
  }

  private connect(): void {
    if (this.connecting || this.stream || this.closed || this.watchers.size === 0) return;
    this.connecting = true;
    this.open().then(
      (s) => {
        this.connecting = false;
        if (this.closed || this.watchers.size === 0) {
          s.on('error', () => {});
          s.cancel();
          return;
        }
        this.stream = s;
        this.lastHeard = Date.now();
        this.probeSentAt = 0;
        s.on('data', (r: WatchResponse) => this.onResponse(r));
        s.on('error', (e: unknown) => this.broken(s, e));
        s.on('end', () => this.broken(s, new CoordError('unavailable', 'watch stream ended by the server')));
        this.pendingCreates = [];
        for (const w of this.watchers.values()) this.sendCreate(w);
        this.probeTimer = setInterval(() => this.probe(), 1000);
        this.probeTimer.unref();
      },
      (e: unknown) => {
        this.connecting = false;
        this.broken(undefined, e);
      },
    );
  }

  private sendCreate(w: Watcher): void {
    w.created = false;
    this.pendingCreates.push(w);
    const o = w.options;
    const filters: number[] = [];
    if (o.noPut) filters.push(0);
    if (o.noDelete) filters.push(1);
    this.stream!.write({
      create_request: {
        key: Buffer.from(w.key),
        range_end: o.prefix ? prefixEnd(w.key) : o.end !== undefined ? Buffer.from(o.end) : Buffer.alloc(0),
        start_revision: w.nextRev ?? 0,
        prev_kv: !!o.prevKv,
        filters,
        watch_id: w.id,
        progress_notify: false,
      },
    });
  }

  private onResponse(r: WatchResponse): void {
    this.lastHeard = Date.now();
    this.probeSentAt = 0;
    this.backoff.reset();
    const id = Number(r.watch_id);
    if (r.created) {
      if (id === -1) {
        // A create etcd refused (auth) is answered with id -1: it is the oldest unanswered one.
        const refused = this.pendingCreates.shift();
        if (r.canceled) return this.refused(refused, r.cancel_reason);
      } else {
        const i = this.pendingCreates.findIndex((p) => p.id === id);
        if (i >= 0) this.pendingCreates.splice(i, 1);
      }
    }
    if (id === -1) return; // progress answer: liveness only (see probe)
    const w = this.watchers.get(id);
    if (!w) return;
    const headerRev = Number(r.header?.revision ?? 0);
    if (r.created) {
      w.created = true;
      if (w.nextRev === undefined) w.nextRev = headerRev + 1;
      w.state('connected');
    }
    if (r.canceled) {
      this.watchers.delete(id);
      const compactRev = Number(r.compact_revision);
      if (compactRev > 0) {
        w.fail(new CoordError('compacted', `watch on ${w.key} cannot resume at revision ${w.nextRev}: compacted up to ${compactRev}`));
      } else {
        w.fail(new CoordError('internal', `watch on ${w.key} was cancelled by the server${r.cancel_reason ? `: ${r.cancel_reason}` : ''}`));
      }
      return;
    }
    if (r.events.length > 0 && !w.closed) {
      const events = r.events.map((e) => ({
        type: e.type === 0 ? ('put' as const) : ('delete' as const),
        kv: toKeyValue(e.kv),
        prevKv: e.prev_kv ? toKeyValue(e.prev_kv) : undefined,
      }));
      w.deliver({ events, revision: events[events.length - 1].kv.modRevision });
    }
  }

  private refused(w: Watcher | undefined, reason: string): void {
    if (isStaleTokenError(reason) && this.onStaleToken()) {
      // The stream's token expired or was invalidated (or auth was turned on after it opened):
      // reopen it with a fresh token; every watcher is created again from where it was.
      this.broken(this.stream, new CoordError('permission-denied', `watch refused: ${reason}`));
      return;
    }
    if (!w || !this.watchers.has(w.id)) return;
    this.watchers.delete(w.id);
    w.fail(new CoordError('permission-denied', `watch on ${w.key} refused by etcd: ${reason}`));
  }

  /**
   * A stream can go silent without breaking (a blackholed connection, a stuck proxy). When nothing
   * has been heard for a while, ask for progress; no answer in time means the stream is dead.
   */
  private probe(): void {
    const s = this.stream;
    if (!s) return;
    const now = Date.now();
    if (this.probeSentAt > 0) {
      if (now - this.probeSentAt > PROBE_TIMEOUT_MS) this.broken(s, new CoordError('unavailable', 'watch stream stalled: no progress answer'));
      return;
    }
    if (now - this.lastHeard > PROBE_IDLE_MS) {
      this.probeSentAt = now;
      s.write({ progress_request: {} });
    }
  }

  private broken(s: grpc.ClientDuplexStream<unknown, unknown> | undefined, e: unknown): void {
    if (s && s !== this.stream) return;
    if (s) {
      this.stream = undefined;
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      s.cancel();
    }
    if (this.closed || this.watchers.size === 0) return;
    this.lastError = fromGrpcError(e, 'etcd watch');
    for (const w of this.watchers.values()) {
      w.created = false;
      w.state('disconnected');
    }
    setTimeout(() => this.connect(), this.backoff.next()).unref();
  }
}
