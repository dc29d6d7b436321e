import type { LeadershipTerm, ObservedTime } from './api-types.ts';
import type { KeyspaceMirror, MirrorBatch, MirroredKey } from './keyspace-mirror.ts';

export const QUEUE_AREAS = ['locks', 'semaphores', 'elections'] as const;
export type QueueArea = (typeof QUEUE_AREAS)[number];

/** One key in an etcd `concurrency` queue (`<area>/<name>/<lease-hex>`). */
export interface QueueKey extends MirroredKey {
  name: string;
  /** The last key segment: the lease ID in hex. */
  leaseHex: string;
}

export interface Transition {
  area: QueueArea;
  name: string;
  kind: 'queued' | 'left' | 'acquired' | 'released' | 'proclaimed';
  entry: QueueKey;
}

const MAX_TERMS = 100;

/** Every queue of an area by name, each in create-revision order (the order of service). */
export function queuesOf(mirror: KeyspaceMirror, area: QueueArea): Map<string, QueueKey[]> {
  const out = new Map<string, QueueKey[]>();
  const prefix = `${mirror.ns}${area}/`;
  for (const k of mirror.list(area)) {
    const rel = k.key.slice(prefix.length);
    const slash = rel.lastIndexOf('/');
    if (slash <= 0) continue; // not a queue key
    const name = rel.slice(0, slash);
    if (!out.has(name)) out.set(name, []);
    out.get(name)!.push({ ...k, name, leaseHex: rel.slice(slash + 1) });
  }
  for (const q of out.values()) q.sort((a, b) => a.createRevision - b.createRevision);
  return out;
}

/** How many keys at the head of a queue hold it: one for locks and elections, the permits for a semaphore. */
export function holderCount(area: QueueArea, queue: QueueKey[]): number {
  if (area !== 'semaphores') return 1;
  return permitsOf(queue) ?? 1;
}

/** A semaphore's permits, as its first acquirer wrote them (all are expected to agree). */
export function permitsOf(queue: QueueKey[]): number | null {
  const n = Number(queue[0]?.value.toString());
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

const idOf = (k: { key: string; createRevision: number }) => `${k.key}@${k.createRevision}`;

/**
 * Who holds each lock, semaphore and election, since when, and the leaders seen over time —
 * worked out from the mirror after every batch, because etcd records none of it. A holder's time
 * starts when the dashboard saw it reach the head of the line (a waiter's when it saw it join).
 */
export class QueueTracker {
  private readonly holders = new Map<string, Map<string, QueueKey>>();
  private readonly holding = new Map<string, ObservedTime>();
  private readonly terms = new Map<string, LeadershipTerm[]>();

  constructor(private readonly mirror: KeyspaceMirror) {}

  /** Takes the state after the mirror's first read as the starting point (times inexact). */
  start(): void {
    for (const area of QUEUE_AREAS) {
      for (const [name, queue] of queuesOf(this.mirror, area)) {
        const held = queue.slice(0, holderCount(area, queue));
        this.holders.set(`${area}\0${name}`, new Map(held.map((k) => [idOf(k), k])));
        for (const k of held) {
          this.holding.set(idOf(k), k.seen);
          if (area === 'elections') this.openTerm(name, k, k.seen);
        }
      }
    }
  }

  /** Applies a mirror batch; returns what changed hands, releases before acquisitions. */
  apply(batch: MirrorBatch): Transition[] {
    const touched = new Map<string, { area: QueueArea; name: string }>();
    for (const c of batch.changes) {
      if (!(QUEUE_AREAS as readonly string[]).includes(c.area)) continue;
      const slash = c.rel.lastIndexOf('/');
      if (slash > 0) touched.set(`${c.area}\0${c.rel.slice(0, slash)}`, { area: c.area as QueueArea, name: c.rel.slice(0, slash) });
    }
    const out: Transition[] = [];
    const at: ObservedTime = { at: batch.at, exact: batch.live };
    for (const [id, { area, name }] of touched) {
      const queue = queuesOf(this.mirror, area).get(name) ?? [];
      const now = new Map(queue.slice(0, holderCount(area, queue)).map((k) => [idOf(k), k]));
      const before = this.holders.get(id) ?? new Map<string, QueueKey>();
      const gone: Transition[] = [];
      const came: Transition[] = [];
      for (const c of batch.changes) {
        if (c.area !== area || !c.rel.startsWith(`${name}/`) || c.rel.slice(name.length + 1).includes('/')) continue;
        // A delete event carries only the key: what it was comes from the mirror.
        const base = c.type === 'delete' && c.prev ? c.prev : { ...c.kv, seen: this.mirror.get(c.key)?.seen ?? at };
        const entry: QueueKey = { ...base, name, leaseHex: c.rel.slice(name.length + 1) };
        const wasHolder = c.prev !== undefined && before.has(idOf(c.prev));
        if (c.type === 'delete') {
          if (!wasHolder && c.prev) gone.push({ area, name, kind: 'left', entry });
        } else if (!c.prev || c.prev.createRevision !== c.kv.createRevision) {
          if (!now.has(idOf(c.kv))) came.push({ area, name, kind: 'queued', entry });
        } else if (wasHolder && area === 'elections' && !c.prev.value.equals(c.kv.value)) {
          came.push({ area, name, kind: 'proclaimed', entry });
          const term = this.terms.get(name)?.[0];
          if (term && term.fencingToken === c.kv.createRevision) term.value = c.kv.value.toString();
        }
      }
      for (const [hid, k] of before) {
        if (now.has(hid)) continue;
        gone.push({ area, name, kind: 'released', entry: k });
        this.holding.delete(hid);
        if (area === 'elections') this.closeTerm(name, k, batch.at);
      }
      for (const [hid, k] of now) {
        if (before.has(hid)) continue;
        came.push({ area, name, kind: 'acquired', entry: k });
        this.holding.set(hid, at);
        if (area === 'elections') this.openTerm(name, k, at);
      }
      out.push(...gone, ...came);
      if (now.size > 0) this.holders.set(id, now);
      else this.holders.delete(id);
    }
    return out;
  }

  /** Since when `k` has held its lock, permit or leadership, if it does. */
  holderSince(k: MirroredKey): ObservedTime | undefined {
    return this.holding.get(idOf(k));
  }

  /** Leadership terms of an election seen since the dashboard started, newest first. */
  history(name: string): LeadershipTerm[] {
    return (this.terms.get(name) ?? []).map((t) => ({ ...t }));
  }

  /** Names of elections with recorded terms (including ones that have no candidate left). */
  electionNames(): string[] {
    return [...this.terms.keys()];
  }

  private openTerm(name: string, k: QueueKey, from: ObservedTime): void {
    const list = this.terms.get(name) ?? [];
    list.unshift({ value: k.value.toString(), key: k.key, lease: k.leaseHex, fencingToken: k.createRevision, from, to: null });
    if (list.length > MAX_TERMS) list.length = MAX_TERMS;
    this.terms.set(name, list);
  }

  private closeTerm(name: string, k: QueueKey, at: string): void {
    const term = this.terms.get(name)?.find((t) => t.key === k.key && t.fencingToken === k.createRevision && t.to === null);
    if (term) term.to = at;
  }
}
