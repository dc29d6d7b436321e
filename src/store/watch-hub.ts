import { EMPTY, inRange, keyRange, type KeyRange, type Mvcc, type MvccEvent } from './mvcc.ts';
import { kvMsg } from './store.ts';
import type { WatchCreateRequest } from '../protocol/etcd-types.ts';

/** A WatchResponse as handed to the stream (header filled in by the sender). */
export interface WatchResponseMsg {
  header: { revision: number };
  watch_id: number;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: number;
  cancel_reason?: string;
  fragment?: boolean;
  events?: unknown[];
  /** Events already encoded as WatchResponse field 11 entries (appended by the serializer). */
  encodedEvents?: Buffer[];
}

/** Encodes one Event message as a WatchResponse `events` entry (tag + length + bytes). */
export type EventEncoder = (event: unknown) => Buffer;

interface Watcher {
  readonly id: number;
  readonly stream: WatchStream;
  readonly range: KeyRange;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  /** Events below this revision are not for this watcher (its start revision). */
  minRev: number;
  /** Set once the watcher has caught up with the committed history. */
  synced: boolean;
  /** Set when its stream dropped it (it may still sit in a sync batch being built). */
  removed: boolean;
  /** Events were sent since the last progress tick. */
  active: boolean;
}

const REPLAY_BATCH = 1000;
/** Most unsynced watchers caught up in one tick, with one pass over history (etcd: maxWatchersPerSync). */
export const SYNC_BATCH = 512;

/**
 * Fans committed events out to watchers. Events reach the hub only once durable, in revision
 * order. A watcher starting at or below the committed revision joins the unsynced group; batches
 * of up to SYNC_BATCH unsynced watchers are caught up one per tick (setImmediate), each with one
 * pass over history from the batch's lowest start revision to the committed revision, as etcd's
 * watchable store syncs its unsynced group, so a reconnect storm of thousands of watchers neither
 * walks history once per watcher nor holds the event loop while keepalives and reads wait. Live
 * events skip a watcher until it is synced; its catch-up covers them. Single-key watchers are
 * indexed by key; range watchers are checked per event.
 */
export class WatchHub {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranged = new Set<Watcher>();
  private readonly progressTimer: NodeJS.Timeout;
  /** Highest revision whose events have been published. */
  committedRev: number;
  /** Watchers waiting to replay history, in arrival order. */
  private readonly unsynced = new Set<Watcher>();
  private syncTimer: NodeJS.Immediate | undefined;

  constructor(
    private readonly mvcc: Mvcc,
    options: { progressIntervalMs: number; maxResponseBytes: number; encodeEvent?: EventEncoder },
  ) {
    this.encodeEvent = options.encodeEvent;
    this.committedRev = mvcc.rev;
    this.maxResponseBytes = options.maxResponseBytes;
    this.progressTimer = setInterval(() => this.progressTick(), options.progressIntervalMs);
    this.progressTimer.unref();
  }

  private readonly maxResponseBytes: number;
  private readonly encodeEvent: EventEncoder | undefined;
  /** Per event, its encoding without and with prev_kv: a fan-out to N watchers encodes it once. */
  private readonly encoded = new WeakMap<MvccEvent, [Buffer | undefined, Buffer | undefined]>();

  /** Watchers still catching up with history. */
  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  get watcherCount(): number {
    let n = this.ranged.size;
    for (const s of this.byKey.values()) n += s.size;
    return n;
  }

  openStream(send: (r: WatchResponseMsg) => void): WatchStream {
    return new WatchStream(this, send);
  }

  /** Publishes the events of one committed revision. */
  publish(events: readonly MvccEvent[]): void {
    if (events.length === 0) return;
    const rev = events[0].kv.mod;
    this.committedRev = rev;
    const out = new Map<Watcher, MvccEvent[]>();
    const add = (w: Watcher, e: MvccEvent) => {
      if (!w.synced || e.kv.mod < w.minRev || (e.type === 0 ? w.noPut : w.noDelete)) return;
      let list = out.get(w);
      if (!list) out.set(w, (list = []));
      list.push(e);
    };
    for (const e of events) {
      const exact = this.byKey.get(e.kv.key);
      if (exact) for (const w of exact) add(w, e);
      for (const w of this.ranged) if (inRange(w.range, e.kv.key)) add(w, e);
    }
    for (const [w, evs] of out) this.sendEvents(w, evs, rev);
  }

  /** Marks the hub caught up to `rev` when a durable change carried no events (lease grants…). */
  advance(rev: number): void {
    this.committedRev = Math.max(this.committedRev, rev);
  }

  close(): void {
    clearInterval(this.progressTimer);
    if (this.syncTimer) clearImmediate(this.syncTimer);
    this.syncTimer = undefined;
  }

  add(stream: WatchStream, id: number, req: WatchCreateRequest): Watcher {
    const key = req.key.length === 0 ? '\0' : req.key.toString('latin1');
    const w: Watcher = {
      id,
      stream,
      range: keyRange(key, req.range_end.toString('latin1')),
      prevKv: req.prev_kv,
      noPut: req.filters.includes(0),
      noDelete: req.filters.includes(1),
      progressNotify: req.progress_notify,
      fragment: req.fragment,
      // "From now" is from the last durable revision: later writes may still fail their fsync.
      minRev: Number(req.start_revision) || this.committedRev + 1,
      synced: false,
      removed: false,
      active: false,
    };
    if (w.range.end === null) {
      let set = this.byKey.get(key);
      if (!set) this.byKey.set(key, (set = new Set()));
      set.add(w);
    } else {
      this.ranged.add(w);
    }
    return w;
  }

  remove(w: Watcher): void {
    w.removed = true;
    this.unsynced.delete(w);
    if (w.range.end === null) {
      const set = this.byKey.get(w.range.key);
      set?.delete(w);
      if (set?.size === 0) this.byKey.delete(w.range.key);
    } else {
      this.ranged.delete(w);
    }
  }

  /**
   * Brings a new watcher up to the committed revision, then lets live events through: at once
   * when it has no history to replay, else through the unsynced group.
   */
  sync(w: Watcher, startRev: number): void {
    if (startRev !== 0 && startRev < this.mvcc.compactRev) return this.compacted(w);
    if (startRev === 0 || startRev > this.committedRev) {
      w.synced = true;
      return;
    }
    this.unsynced.add(w);
    this.syncTimer ??= setImmediate(() => this.syncBatch());
  }

  /** Catches up to SYNC_BATCH unsynced watchers with one pass over history; reschedules for the rest. */
  private syncBatch(): void {
    this.syncTimer = undefined;
    const mvcc = this.mvcc;
    const batch: Watcher[] = [];
    for (const w of this.unsynced) {
      if (batch.length === SYNC_BATCH) break;
      this.unsynced.delete(w);
      // A compaction since it was created took history it still needed.
      if (w.minRev < mvcc.compactRev) this.compacted(w);
      else batch.push(w);
    }
    if (this.unsynced.size > 0) this.syncTimer = setImmediate(() => this.syncBatch());
    if (batch.length === 0) return;
    const exact = new Map<string, Watcher[]>();
    const ranged: Watcher[] = [];
    let from = Infinity;
    for (const w of batch) {
      from = Math.min(from, w.minRev);
      if (w.range.end !== null) ranged.push(w);
      else {
        const list = exact.get(w.range.key);
        if (list) list.push(w);
        else exact.set(w.range.key, [w]);
      }
    }
    // etcd stamps replayed events with the store's revision at send time, not their own.
    const now = this.committedRev;
    const pending = new Map<Watcher, MvccEvent[]>();
    const add = (w: Watcher, e: MvccEvent) => {
      if (e.kv.mod < w.minRev || (e.type === 0 ? w.noPut : w.noDelete)) return;
      let list = pending.get(w);
      if (!list) pending.set(w, (list = []));
      // Whole revisions per response, as etcd: cut only where a new revision begins.
      if (list.length >= REPLAY_BATCH && e.kv.mod !== list[list.length - 1].kv.mod) {
        this.sendEvents(w, list, now);
        pending.set(w, (list = []));
      }
      list.push(e);
    };
    for (const e of mvcc.eventsSince(from, now)) {
      const ws = exact.get(e.kv.key);
      if (ws) for (const w of ws) add(w, e);
      for (const w of ranged) if (inRange(w.range, e.kv.key)) add(w, e);
    }
    for (const [w, evs] of pending) if (evs.length > 0) this.sendEvents(w, evs, now);
    for (const w of batch) {
      w.synced = true;
      w.stream.synced();
    }
  }

  private compacted(w: Watcher): void {
    w.stream.send({ header: { revision: 0 }, watch_id: w.id, canceled: true, compact_revision: this.mvcc.compactRev });
    w.stream.drop(w.id);
  }

  private sendEvents(w: Watcher, events: MvccEvent[], rev: number): void {
    w.active = true;
    if (w.fragment || !this.encodeEvent) {
      const msgs = events.map((e) => this.eventMsg(e, w.prevKv));
      const parts = w.fragment ? fragment(msgs, this.maxResponseBytes) : [msgs];
      parts.forEach((p, i) => w.stream.send({ header: { revision: rev }, watch_id: w.id, events: p, fragment: w.fragment && i < parts.length - 1 }));
      return;
    }
    const withPrev = w.prevKv ? 1 : 0;
    const encodedEvents = events.map((e) => {
      let pair = this.encoded.get(e);
      if (!pair) this.encoded.set(e, (pair = [undefined, undefined]));
      return (pair[withPrev] ??= this.encodeEvent!(this.eventMsg(e, w.prevKv)));
    });
    w.stream.send({ header: { revision: rev }, watch_id: w.id, encodedEvents });
  }

  private eventMsg(e: MvccEvent, prevKv: boolean) {
    return {
      type: e.type,
      kv: e.type === 0 ? kvMsg(e.kv) : { key: e.kv.keyBuf, mod_revision: e.kv.mod, create_revision: 0, version: 0, value: EMPTY, lease: 0 },
      prev_kv: prevKv && e.prev ? kvMsg(e.prev) : null,
    };
  }

  private progressTick(): void {
    const tick = (w: Watcher) => {
      if (w.progressNotify && w.synced && !w.active) w.stream.send({ header: { revision: this.committedRev }, watch_id: w.id });
      w.active = false;
    };
    for (const set of this.byKey.values()) set.forEach(tick);
    this.ranged.forEach(tick);
  }
}

function fragment<T extends { kv: { key: Buffer; value: Buffer } }>(events: T[], max: number): T[][] {
  const parts: T[][] = [[]];
  let size = 0;
  for (const e of events) {
    const n = e.kv.key.length + e.kv.value.length + 64;
    if (size + n > max && parts[parts.length - 1].length > 0) {
      parts.push([]);
      size = 0;
    }
    parts[parts.length - 1].push(e);
    size += n;
  }
  return parts;
}

/** The watchers of one gRPC Watch stream, with etcd's per-stream watch ids. */
export class WatchStream {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 0;
  private closed = false;
  /** A progress request waits while a watcher of this stream is still replaying history. */
  private progressWanted = false;

  constructor(
    private readonly hub: WatchHub,
    readonly send: (r: WatchResponseMsg) => void,
  ) {}

  /**
   * Headers of replies that are not events carry the hub's committed revision: every event up
   * to it was durable and already sent on this stream, which is what etcd's header promises.
   */
  private get currentRev(): number {
    return this.hub.committedRev;
  }

  create(req: WatchCreateRequest): void {
    const currentRev = this.currentRev;
    let id = Number(req.watch_id);
    if (id === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      this.send({ header: { revision: currentRev }, watch_id: -1, created: true, canceled: true, cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream' });
      return;
    }
    const w = this.hub.add(this, id, req);
    this.watchers.set(id, w);
    this.send({ header: { revision: currentRev }, watch_id: id, created: true });
    this.hub.sync(w, Number(req.start_revision));
  }

  /** Answers a create request that may not be served (auth): created and canceled at once, as etcd. */
  refuse(reason: string): void {
    this.send({ header: { revision: this.currentRev }, watch_id: -1, created: true, canceled: true, cancel_reason: reason });
  }

  cancel(id: number): void {
    const currentRev = this.currentRev;
    const w = this.watchers.get(id);
    if (!w) return;
    this.drop(id);
    this.send({ header: { revision: currentRev }, watch_id: id, canceled: true });
  }

  /** Removes a watcher without a reply (the caller has sent its own). */
  drop(id: number): void {
    const w = this.watchers.get(id);
    if (!w) return;
    this.watchers.delete(id);
    this.hub.remove(w);
  }

  /**
   * Answers a progress request. Its header promises every event up to that revision was sent on
   * this stream, so while one of the stream's watchers is still catching up the answer waits.
   */
  progress(): void {
    if ([...this.watchers.values()].some((w) => !w.synced)) this.progressWanted = true;
    else this.send({ header: { revision: this.currentRev }, watch_id: -1 });
  }

  /** Called by the hub when one of this stream's watchers has caught up. */
  synced(): void {
    if (this.progressWanted && !this.closed) {
      this.progressWanted = false;
      this.progress();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.watchers.keys()]) this.drop(id);
  }
}
