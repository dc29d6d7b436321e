import { Backoff, sleep } from '../core/backoff.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import { op, type EtcdClient, type KeyValue } from '../client/etcd-client.ts';
import type { Watcher } from '../client/watch-manager.ts';
import type { Area, ObservedTime } from './api-types.ts';

/** The areas whose keys are kept in memory: small, and needed on every overview and queue view. */
export const MIRRORED = ['services', 'locks', 'semaphores', 'elections'] as const;
export type MirroredArea = (typeof MIRRORED)[number];

export interface MirroredKey extends KeyValue {
  /** When this key (at this create revision) was first seen. */
  seen: ObservedTime;
}

/** One change under the namespace; `prev` is the mirrored key before it (mirrored areas only). */
export interface MirrorChange {
  type: 'put' | 'delete';
  area: Area;
  /** The key relative to the area: `orders/orders-1`, `shop/db.json`, `jobs/nightly/2a3f…`. */
  rel: string;
  key: string;
  kv: KeyValue;
  prev: MirroredKey | undefined;
}

export interface MirrorBatch {
  revision: number;
  at: string;
  /** False for the changes found by a re-read after the watch could not resume (times unknown). */
  live: boolean;
  changes: MirrorChange[];
}

/**
 * An in-memory copy of the namespace's registry and coordination keys, kept current by one watch
 * on the whole namespace (config changes pass through for the event feed). Reads start over with a
 * fresh Get when the watch cannot resume (compaction); while etcd is unreachable the last known
 * state stays, marked disconnected.
 */
export class KeyspaceMirror {
  private readonly batches = new Emitter<MirrorBatch>();
  private readonly states = new Emitter<boolean>();
  /** Every batch of changes, after it was applied. */
  readonly onBatch = this.batches.on;
  /** Watch connected (true) or lost (false). */
  readonly onConnected = this.states.on;
  private readonly keys = new Map<string, MirroredKey>();
  private watcher: Watcher | undefined;
  private readonly closer = new AbortController();
  private synced = false;
  revision = 0;
  connected = false;
  /** When the watch was last lost (the views were current until then); null while connected. */
  lostAt: string | null = null;
  readonly since = new Date().toISOString();
  /** Resolves after the first successful read; never rejects (retries while etcd is unreachable). */
  readonly ready: Promise<void>;

  constructor(
    private readonly client: EtcdClient,
    readonly ns: string,
    private readonly log: (line: string) => void,
  ) {
    this.ready = this.sync();
  }

  /** The area a namespaced key belongs to, and the key relative to it. */
  classify(key: string): { area: Area; rel: string } {
    const rest = key.slice(this.ns.length);
    const slash = rest.indexOf('/');
    const head = slash < 0 ? '' : rest.slice(0, slash);
    const rel = rest.slice(slash + 1);
    if (head === 'services' || head === 'locks' || head === 'semaphores' || head === 'elections') return { area: head, rel };
    if (head === 'config' || head === 'config-beta' || head === 'config-history') return { area: 'config', rel };
    return { area: 'other', rel: rest };
  }

  /** Mirrored keys of an area, in key order. */
  list(area: MirroredArea): MirroredKey[] {
    const prefix = `${this.ns}${area}/`;
    return [...this.keys.values()].filter((k) => k.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(key: string): MirroredKey | undefined {
    return this.keys.get(key);
  }

  private async sync(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    for (;;) {
      if (this.closer.signal.aborted) return;
      try {
        const r = await this.client.txn({ success: MIRRORED.map((a) => op.get(`${this.ns}${a}/`, { prefix: true })) }, { signal: this.closer.signal });
        this.load(r.responses.flatMap((x) => x.kvs ?? []), r.revision);
        this.watch(r.revision + 1);
        return;
      } catch (e) {
        if (this.closer.signal.aborted) return;
        if (!isCoordError(e) || !e.recoverable) this.log(`admin: reading ${this.ns} failed: ${(e as Error).message}; retrying`);
        this.setConnected(false);
        // Rejects only when close() aborts the wait; the failure itself was logged above.
        await sleep(backoff.next(), this.closer.signal).catch(() => {});
      }
    }
  }

  /** Replaces the mirror with a fresh read; after the first, reports the difference as one batch. */
  private load(kvs: KeyValue[], revision: number): void {
    const at = new Date().toISOString();
    const changes: MirrorChange[] = [];
    const fresh = new Map<string, MirroredKey>();
    for (const kv of kvs) {
      const prev = this.keys.get(kv.key);
      const same = prev && prev.createRevision === kv.createRevision;
      fresh.set(kv.key, { ...kv, seen: same ? prev.seen : { at: this.synced ? at : this.since, exact: false } });
      if (this.synced && (!prev || prev.modRevision !== kv.modRevision)) changes.push({ type: 'put', ...this.classify(kv.key), key: kv.key, kv, prev });
    }
    if (this.synced) {
      for (const prev of this.keys.values()) {
        if (!fresh.has(prev.key)) changes.push({ type: 'delete', ...this.classify(prev.key), key: prev.key, kv: { ...prev, value: Buffer.alloc(0), modRevision: revision }, prev });
      }
    }
    this.keys.clear();
    for (const [k, v] of fresh) this.keys.set(k, v);
    this.revision = revision;
    const first = !this.synced;
    this.synced = true;
    this.setConnected(true);
    if (!first) this.batches.emit({ revision, at, live: false, changes });
  }

  private watch(from: number): void {
    const w = this.client.watches.watch(this.ns, { prefix: true, startRevision: from });
    this.watcher = w;
    w.onEvents((batch) => {
      const at = new Date().toISOString();
      const changes: MirrorChange[] = [];
      for (const e of batch.events) {
        const { area, rel } = this.classify(e.kv.key);
        const prev = this.keys.get(e.kv.key);
        changes.push({ type: e.type, area, rel, key: e.kv.key, kv: e.kv, prev });
        if (!(MIRRORED as readonly string[]).includes(area)) continue;
        if (e.type === 'delete') this.keys.delete(e.kv.key);
        else {
          const same = prev && prev.createRevision === e.kv.createRevision;
          this.keys.set(e.kv.key, { ...e.kv, seen: same ? prev.seen : { at, exact: true } });
        }
      }
      this.revision = batch.revision;
      this.setConnected(true);
      this.batches.emit({ revision: batch.revision, at, live: true, changes });
    });
    w.onState((s) => this.setConnected(s === 'connected'));
    w.onError((err) => {
      this.log(`admin: ${err.message}; re-reading ${this.ns}`);
      this.watcher = undefined;
      this.setConnected(false);
      void this.sync();
    });
  }

  private setConnected(v: boolean): void {
    if (this.connected === v) return;
    this.connected = v;
    this.lostAt = v || this.revision === 0 ? null : new Date().toISOString();
    this.states.emit(v);
  }

  close(): void {
    this.closer.abort(new CoordError('closed', 'admin closed'));
    this.watcher?.close();
  }
}
