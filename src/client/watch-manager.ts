import type * as grpc from '@grpc/grpc-js';
import { Backoff } from '../core/backoff.ts';
import { CoordError } from '../core/errors.ts';
import { Emitter, type Disposable } from '../core/events.ts';
import type { KeyValueMsg } from '../protocol/etcd-types.ts';
import { prefixEnd, toKeyValue, type KeyValue } from './keys.ts';
import { closeStream } from './stream-close.ts';
import { RepeatLog } from '../core/repeat-log.ts';
import { fromGrpcError, isStaleTokenError } from './errors-grpc.ts';
import type { HistoryGuard } from './history-guard.ts';

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

  /** Nothing of this watch changed up to `revision`: a resume may start after it. */
  progressed(revision: number): void {
    if (this.nextRev === undefined || revision + 1 > this.nextRev) this.nextRev = revision + 1;
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
  header: { revision: string; cluster_id?: string } | null;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: Array<{ type: number; kv: KeyValueMsg; prev_kv: KeyValueMsg | null }>;
}

/** What a WatchManager needs of its client besides the stream itself. */
export interface WatchManagerOptions {
  /** Called when etcd refuses a create because the stream's token expired or was revoked; returns true when the next `open` will authenticate again. */
  onStaleToken?: () => boolean;
  /** Checks every answer for history going backwards; on a loss every watcher fails with 'history-lost'. */
  history?: HistoryGuard;
  /** The client's endpoints, for readable errors. */
  endpoints?: readonly string[];
  /** One line per outage and per recovery. Default: none. */
  log?: (line: string) => void;
}

/**
 * Multiplexes every watch of a client over one Watch stream, reconnecting with backoff. While any
 * watcher is open the process is kept alive (a ref'd timer): a program whose only work is watching
 * must not exit because etcd went away and nothing else was pending while it reconnects.
 */
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
  /** Keeps the event loop alive while any watcher is open (see the class doc). */
  private hold: NodeJS.Timeout | undefined;
  /** The highest revision seen before the current stream was opened: no answer on it may be lower. */
  private streamFloor = 0;
  private readonly outage: RepeatLog;
  private readonly connection = new Emitter<'connected' | 'disconnected'>();
  /** The shared stream broke ('disconnected': every watcher's data is stale) or works again. */
  readonly onConnection = this.connection.on;
  private readonly onStaleToken: () => boolean;

  /**
   * @param open opens a Watch stream (with the client's current auth token)
   */
  constructor(
    private readonly open: () => Promise<grpc.ClientDuplexStream<unknown, unknown>>,
    private readonly o: WatchManagerOptions = {},
  ) {
    this.onStaleToken = o.onStaleToken ?? (() => false);
    this.outage = new RepeatLog(o.log ?? (() => {}));
    o.history?.onLost((h) => this.historyLost(`${h.reason === 'cluster-id' ? `cluster id changed (${h.previousClusterId} → ${h.clusterId})` : `revision went back (${h.previousRevision} → ${h.revision})`}`));
  }

  watch(key: string, options: WatchOptions = {}): Watcher {
    if (this.closed) throw new CoordError('closed', 'etcd client is closed');
    const w = new Watcher(this.nextId++, key, options, this);
    this.watchers.set(w.id, w);
    // Ref'd on purpose (the one timer here that is): it is what keeps a watching process alive.
    this.hold ??= setInterval(() => {}, 1 << 30);
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

  /** Whether the shared stream is up (false while reconnecting, or with no watcher open). */
  get connected(): boolean {
    return this.stream !== undefined;
  }

  /**
   * etcd lost the history these watchers resume from (see HistoryGuard): every watcher fails with
   * 'history-lost' and its owner re-reads from scratch (as after a compaction).
   */
  private historyLost(why: string): void {
    const failed = [...this.watchers.values()];
    if (failed.length === 0) return;
    for (const w of failed) {
      this.watchers.delete(w.id);
      if (this.stream && w.created) this.stream.write({ cancel_request: { watch_id: w.id } });
    }
    this.pendingCreates = this.pendingCreates.filter((p) => !failed.includes(p));
    for (const w of failed) w.fail(new CoordError('history-lost', `watch on ${w.key} cannot resume: etcd's history went backwards (${why}); re-read`));
    if (this.watchers.size === 0) this.teardown();
  }

  private teardown(): void {
    if (this.watchers.size === 0 || this.closed) {
      clearInterval(this.hold);
      this.hold = undefined;
    }
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
        this.streamFloor = this.o.history?.floor() ?? 0;
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
        // The server then tells a caught-up watch the current revision now and then (etcd: every
        // 10 min by default), so a resume after a reconnect starts there instead of replaying
        // (or losing to compaction) every change since the watch's last event.
        progress_notify: true,
      },
    });
  }

  private onResponse(r: WatchResponse): void {
    this.lastHeard = Date.now();
    this.probeSentAt = 0;
    this.backoff.reset();
    if (this.outage.failing) {
      this.outage.recovered(`etcd watch: reconnected, ${this.watchers.size} watch(es) resumed`);
      this.connection.emit('connected');
    }
    const id = Number(r.watch_id);
    // Creations and progress answers carry the server's current revision: never below what was
    // seen before this stream opened, unless the history is gone (HistoryGuard fails every watcher).
    if ((r.created || id === -1) && this.o.history?.observe(r.header, this.streamFloor)) return;
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
      // A resumed watch whose server is behind what it already delivered: same cluster id, older
      // revisions (a data dir restored from an older backup). The events it waits for never come.
      if (w.nextRev !== undefined && headerRev > 0 && headerRev < w.nextRev - 1 && this.o.history?.observe(r.header, w.nextRev - 1)) return;
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
      const revision = events[events.length - 1].kv.modRevision;
      this.o.history?.seen(revision);
      w.deliver({ events, revision });
    } else if (!r.created && headerRev > 0) {
      // A progress notification: the server sends it only to a synced watch, so every event of
      // this watch up to headerRev has been delivered.
      w.progressed(headerRev);
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
    this.lastError = fromGrpcError(e, 'etcd Watch', this.o.endpoints);
    for (const w of this.watchers.values()) {
      w.created = false;
      w.state('disconnected');
    }
    if (!this.outage.failing) this.connection.emit('disconnected');
    const delay = this.backoff.next();
    this.outage.failure(`${this.lastError.message}; ${this.watchers.size} watch(es) waiting, reconnecting with backoff (at most every 3 s)`, this.lastError.message);
    // unref'd: `hold` keeps the process alive, and goes with the last watcher.
    setTimeout(() => this.connect(), delay).unref();
  }
}
