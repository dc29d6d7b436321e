import { Backoff, sleep } from '../core/backoff.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import type { Watcher } from '../client/watch-manager.ts';
import { decodeInstance, serviceKey, type ServiceInstance } from './instance.ts';

/** A service's instances at one etcd revision, as Discovery reports them. */
export interface DiscoverySnapshot {
  name: string;
  instances: ServiceInstance[];
  /** etcd revision the set reflects. */
  revision: number;
  /** True while etcd is unreachable: the set is the last one known. */
  stale: boolean;
}

/** Options for `Coord.discover()`. */
export interface DiscoveryOptions {
  log?: (line: string) => void;
}

/**
 * The live set of a service's instances: a Get, then a Watch from the revision after it, so no
 * change is missed or applied twice. Across disconnects the watch resumes where it stopped; if
 * that point was compacted away it re-reads the set and carries on. While etcd is unreachable the
 * last known set is kept (and marked stale), never emptied.
 */
export class Discovery {
  private readonly changes = new Emitter<DiscoverySnapshot>();
  /** Every new snapshot (after the first), including stale/fresh transitions. */
  readonly onChange = this.changes.on;
  private readonly set = new Map<string, ServiceInstance>();
  private revision = 0;
  private stale = false;
  private watcher: Watcher | undefined;
  private closed = false;
  private readonly closer = new AbortController();
  private readonly prefix: string;
  readonly ready: Promise<void>;
  private readonly log: (line: string) => void;

  constructor(
    private readonly client: EtcdClient,
    ns: string,
    readonly name: string,
    options: DiscoveryOptions = {},
  ) {
    this.prefix = serviceKey(ns, name);
    this.log = options.log ?? (() => {});
    this.ready = this.sync();
    this.ready.catch(() => {});
  }

  snapshot(): DiscoverySnapshot {
    return { name: this.name, instances: [...this.set.values()], revision: this.revision, stale: this.stale };
  }

  /** Reads the whole set (retrying while etcd is unreachable), then watches from there. */
  private async sync(): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 3000 });
    for (;;) {
      if (this.closed) return;
      try {
        const r = await this.client.range(this.prefix, { prefix: true, signal: this.closer.signal });
        this.set.clear();
        for (const kv of r.kvs) this.apply(kv.key, kv.value);
        this.revision = r.revision;
        this.stale = false;
        this.startWatch(r.revision + 1);
        this.emit();
        return;
      } catch (e) {
        if (this.closed) return;
        if (!isCoordError(e) || !e.recoverable) throw e;
        this.markStale();
        await sleep(backoff.next(), this.closer.signal).catch(() => {});
      }
    }
  }

  private startWatch(from: number): void {
    const w = this.client.watches.watch(this.prefix, { prefix: true, startRevision: from });
    this.watcher = w;
    w.onEvents((batch) => {
      for (const e of batch.events) {
        if (e.type === 'put') this.apply(e.kv.key, e.kv.value);
        else this.set.delete(e.kv.key.slice(this.prefix.length));
      }
      this.revision = batch.revision;
      this.stale = false;
      this.emit();
    });
    w.onState((s) => {
      if (s === 'disconnected') this.markStale();
      else if (this.stale) {
        this.stale = false;
        this.emit();
      }
    });
    w.onError((err) => {
      this.log(`discovery ${this.name}: ${err.message}; re-reading the instance set`);
      this.watcher = undefined;
      if (!this.closed) void this.sync().catch(() => {});
    });
  }

  private apply(key: string, value: Buffer): void {
    const id = key.slice(this.prefix.length);
    const inst = decodeInstance(value);
    if (typeof inst === 'string') {
      this.log(`discovery ${this.name}: skipping malformed record ${key}: ${inst}`);
      this.set.delete(id);
      return;
    }
    this.set.set(id, inst);
  }

  private markStale(): void {
    if (this.stale) return;
    this.stale = true;
    this.emit();
  }

  private emit(): void {
    this.changes.emit(this.snapshot());
  }

  /** Snapshots as they change, starting with the current one once ready. */
  async *[Symbol.asyncIterator](): AsyncGenerator<DiscoverySnapshot> {
    const queue: DiscoverySnapshot[] = [];
    let wake: (() => void) | undefined;
    const sub = this.onChange((s) => {
      queue.push(s);
      wake?.();
    });
    try {
      await this.ready;
      queue.length = 0;
      yield this.snapshot();
      while (!this.closed) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        while (queue.length > 0) yield queue.shift()!;
      }
    } finally {
      sub.dispose();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closer.abort(new CoordError('closed', 'discovery closed'));
    this.watcher?.close();
    this.changes.emit(this.snapshot());
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
