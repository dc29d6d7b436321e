import { Errors } from './errors.ts';
import { SortedKeys } from './sorted-keys.ts';

/** One immutable version of a key. A tombstone (the key deleted at `mod`) has version 0. */
export interface KeyValue {
  readonly key: string;
  readonly keyBuf: Buffer;
  readonly create: number;
  readonly mod: number;
  /** Position among the changes of revision `mod` (etcd's sub-revision): orders a txn's events. */
  readonly sub: number;
  readonly version: number;
  readonly value: Buffer;
  readonly lease: bigint;
}

export const EventType = { PUT: 0, DELETE: 1 } as const;

export interface MvccEvent {
  readonly type: 0 | 1;
  readonly kv: KeyValue;
  /** The live version this event replaced, if any. */
  readonly prev: KeyValue | undefined;
}

/** Where keys attached to leases are tracked; the lessor implements it. */
export interface LeaseAttachments {
  attach(lease: bigint, key: string): void;
  detach(lease: bigint, key: string): void;
}

export const EMPTY = Buffer.alloc(0);

/** A key range as etcd defines it: single key, [key, end), or from key (end undefined). */
export interface KeyRange {
  key: string;
  /** undefined: all keys >= key. Equal to null: just `key`. */
  end: string | undefined | null;
}

/** etcd's encoding of ranges: empty end = one key, "\0" = from key, key = end = "\0" = all. */
export function keyRange(key: string, rangeEnd: string): KeyRange {
  if (rangeEnd.length === 0) return { key, end: null };
  if (rangeEnd === '\0') return { key, end: undefined };
  return { key, end: rangeEnd };
}

export function inRange(r: KeyRange, k: string): boolean {
  if (r.end === null) return k === r.key;
  return k >= r.key && (r.end === undefined || k < r.end);
}

/**
 * The multi-version key-value state: every version of every key since the last compaction,
 * the event history in revision order (for watch replay), and the current/compacted revisions.
 * It knows nothing about gRPC or disks; the applier drives it and the log replays into it.
 */
export class Mvcc {
  rev = 1;
  compactRev = 0;
  private readonly histories = new Map<string, KeyValue[]>();
  private readonly keys = new SortedKeys();
  /** Events with revision > compactRev - 1, oldest first, starting at `logHead`. */
  private log: MvccEvent[] = [];
  private logHead = 0;
  private pending: MvccEvent[] = [];

  constructor(private readonly leases: LeaseAttachments) {}

  get keyCount(): number {
    return this.keys.size;
  }

  /** The live version of `key` at `rev` (default: now), or undefined. */
  get(key: string, rev = this.rev): KeyValue | undefined {
    const h = this.histories.get(key);
    if (!h) return undefined;
    const kv = rev >= this.rev ? h[h.length - 1] : versionAt(h, rev);
    return kv && kv.version > 0 ? kv : undefined;
  }

  /** Validates a read revision the way etcd does; returns the revision to read at. */
  readRev(rev: number): number {
    if (rev <= 0) return this.rev;
    if (rev > this.rev) throw Errors.futureRev();
    if (rev < this.compactRev) throw Errors.compacted();
    return rev;
  }

  /** Live versions in the range at `rev`, in key order. */
  *scan(r: KeyRange, rev = this.rev): IterableIterator<KeyValue> {
    if (r.end === null) {
      const kv = this.get(r.key, rev);
      if (kv) yield kv;
      return;
    }
    for (const k of this.keys.range(r.key, r.end)) {
      const kv = this.get(k, rev);
      if (kv) yield kv;
    }
  }

  // --- writes: a write transaction is begin → put/del… → end, all at revision rev+1 ---

  /** Whether the current write transaction has changed anything yet. */
  get dirty(): boolean {
    return this.pending.length > 0;
  }

  /** Revision the current write transaction writes at. */
  get writeRev(): number {
    return this.rev + 1;
  }

  put(key: string, keyBuf: Buffer, value: Buffer, lease: bigint): { kv: KeyValue; prev: KeyValue | undefined } {
    const rev = this.rev + 1;
    const prev = this.get(key);
    const kv: KeyValue = {
      key,
      keyBuf: prev?.keyBuf ?? keyBuf,
      create: prev ? prev.create : rev,
      mod: rev,
      sub: this.pending.length,
      version: prev ? prev.version + 1 : 1,
      value,
      lease,
    };
    this.append(kv, prev, EventType.PUT);
    if (prev && prev.lease !== 0n && prev.lease !== lease) this.leases.detach(prev.lease, key);
    if (lease !== 0n && prev?.lease !== lease) this.leases.attach(lease, key);
    return { kv, prev };
  }

  /** Deletes the live keys in range; returns the versions deleted. */
  del(r: KeyRange): KeyValue[] {
    const live = [...this.scan(r)];
    const rev = this.rev + 1;
    for (const prev of live) {
      const tomb: KeyValue = { key: prev.key, keyBuf: prev.keyBuf, create: 0, mod: rev, sub: this.pending.length, version: 0, value: EMPTY, lease: 0n };
      this.append(tomb, prev, EventType.DELETE);
      if (prev.lease !== 0n) this.leases.detach(prev.lease, prev.key);
    }
    return live;
  }

  /** Ends the write transaction: bumps the revision if anything changed; returns its events. */
  end(): MvccEvent[] {
    const events = this.pending;
    if (events.length === 0) return events;
    this.pending = [];
    this.rev++;
    for (const e of events) this.log.push(e);
    return events;
  }

  private append(kv: KeyValue, prev: KeyValue | undefined, type: 0 | 1): void {
    const h = this.histories.get(kv.key);
    if (h) h.push(kv);
    else {
      // An exact-size array: most keys never get a second version, and `[]` + push reserves 17 slots.
      this.histories.set(kv.key, [kv]);
      this.keys.insert(kv.key);
    }
    this.pending.push({ type, kv, prev });
  }

  // --- history ---

  /** Events with revision >= from (and <= to), oldest first. */
  *eventsSince(from: number, to = this.rev): IterableIterator<MvccEvent> {
    const log = this.log;
    let lo = this.logHead;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (log[mid].kv.mod < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < log.length; i++) {
      if (log[i].kv.mod > to) return;
      yield log[i];
    }
  }

  /**
   * Forgets history before `rev`: each key keeps its newest version at or below `rev` (dropped
   * too if that is a tombstone), and events older than `rev` leave the log. Validation of `rev`
   * against the current and compacted revisions is the caller's.
   */
  compact(rev: number): void {
    this.compactRev = rev;
    for (const [key, h] of this.histories) {
      if (h[0].mod >= rev) continue;
      let keep = h.length - 1;
      while (keep > 0 && h[keep].mod > rev) keep--;
      // h[keep] is the newest version <= rev; everything before it goes, and so does h[keep]
      // itself when it is a tombstone older than rev (one at rev is still a replayable event).
      const drop = h[keep].version === 0 && h[keep].mod < rev ? keep + 1 : keep;
      if (drop === 0) continue;
      h.splice(0, drop);
      if (h.length === 0) {
        this.histories.delete(key);
        this.keys.delete(key);
      }
    }
    let head = this.logHead;
    while (head < this.log.length && this.log[head].kv.mod < rev) head++;
    if (head > 4096 && head > this.log.length >> 1) {
      this.log = this.log.slice(head);
      head = 0;
    }
    this.logHead = head;
  }

  /** Every retained version, for snapshots, in (revision, sub) order. */
  *allVersions(): IterableIterator<KeyValue> {
    const all: KeyValue[] = [];
    for (const h of this.histories.values()) for (const kv of h) all.push(kv);
    all.sort((a, b) => a.mod - b.mod || a.sub - b.sub);
    yield* all;
  }

  /**
   * Rebuilds state from a snapshot's versions (in revision order). Restores histories, the key
   * index, the event log (prev = the version before in the same key's history) and attachments.
   */
  restore(rev: number, compactRev: number, versions: Iterable<KeyValue>): void {
    this.rev = rev;
    this.compactRev = compactRev;
    for (const kv of versions) {
      let h = this.histories.get(kv.key);
      if (!h) {
        h = [];
        this.histories.set(kv.key, h);
        this.keys.insert(kv.key);
      }
      const prev = h.length > 0 && h[h.length - 1].version > 0 ? h[h.length - 1] : undefined;
      h.push(kv);
      if (kv.mod >= compactRev) this.log.push({ type: kv.version === 0 ? EventType.DELETE : EventType.PUT, kv, prev });
    }
    for (const h of this.histories.values()) {
      const last = h[h.length - 1];
      if (last.version > 0 && last.lease !== 0n) this.leases.attach(last.lease, last.key);
    }
  }
}

function versionAt(h: KeyValue[], rev: number): KeyValue | undefined {
  let lo = 0;
  let hi = h.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (h[mid].mod <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : h[lo - 1];
}
