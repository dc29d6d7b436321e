import { Backoff } from '../core/backoff.ts';
import { CoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import { tracedEvent } from '../core/tracing.ts';
import { retryUntilClosed, type LoopFailure } from '../core/retry-until-closed.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import type { Watcher } from '../client/watch-manager.ts';
import { decodeInstance, serviceKey, type ServiceInstance } from './instance.ts';
import { registryFormat, type RegistryFormat, type RegistryFormatName } from './registry-format.ts';

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
  /**
   * Read the instances a Go framework published in its own registry layout instead of coord's:
   * `'grpc-go'` (etcd naming/endpoints; the name is the endpoints target, e.g. `svc/echo`),
   * `'kratos'`, `'go-zero'`. Default `'coord'`. An unknown name is an invalid-argument error.
   */
  format?: 'coord' | RegistryFormatName;
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
  private readonly errors = new Emitter<LoopFailure>();
  /** Reading the instance set failed once (it is retried with backoff until close(); the last set is kept, marked stale). */
  readonly onError = this.errors.on;
  private settleFirst!: (err?: CoordError) => void;
  private readonly set = new Map<string, ServiceInstance>();
  private revision = 0;
  private stale = false;
  private watcher: Watcher | undefined;
  private closed = false;
  private readonly closer = new AbortController();
  private readonly prefix: string;
  readonly ready: Promise<void>;
  private readonly log: (line: string) => void;
  private readonly format: RegistryFormat | undefined;

  constructor(
    private readonly client: EtcdClient,
    ns: string,
    readonly name: string,
    options: DiscoveryOptions = {},
  ) {
    this.format = options.format && options.format !== 'coord' ? registryFormat(options.format) : undefined;
    this.prefix = this.format ? this.format.prefix(name) : serviceKey(ns, name);
    this.log = options.log ?? (() => {});
    this.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settleFirst = (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
    });
    // The rejection reaches whoever awaits `ready`; sync() logs and reports every failure (onError).
    this.ready.catch(() => {});
    void this.sync();
  }

  snapshot(): DiscoverySnapshot {
    return { name: this.name, instances: [...this.set.values()], revision: this.revision, stale: this.stale };
  }

  /**
   * Reads the whole set, then watches from there. Every failed read (etcd unreachable, permission
   * denied, …) is logged and reported, and the read is retried with backoff until close(). `ready`
   * rejects on the first failure that is not about reachability, so a caller learns of it, while
   * the read goes on being retried behind it.
   */
  private async sync(): Promise<void> {
    await retryUntilClosed(
      async () => {
        const r = await this.client.range(this.prefix, { prefix: true, signal: this.closer.signal });
        if (this.closed) return;
        this.set.clear();
        for (const kv of r.kvs) this.apply(kv.key, kv.value);
        this.revision = r.revision;
        this.stale = false;
        this.startWatch(r.revision + 1);
        this.emit();
        this.settleFirst();
      },
      {
        signal: this.closer.signal,
        backoff: new Backoff({ initialMs: 100, maxMs: 3000 }),
        onFailure: (f) => {
          this.markStale();
          if (!f.error.recoverable) this.settleFirst(f.error);
          // An outage is one line when it starts; anything else, every time.
          if (!f.error.recoverable || f.failures === 1) {
            this.log(`discovery ${this.name}: reading the instance set failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`);
          }
          tracedEvent('coord.discovery.error', { 'coord.service.name': this.name }, () => this.errors.emit(f), f.error.message);
        },
      },
    ).catch(() => this.settleFirst()); // only close() ends it
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
      if (!this.closed) void this.sync();
    });
  }

  private apply(key: string, value: Buffer): void {
    const id = key.slice(this.prefix.length);
    const inst = this.format ? this.format.decode(this.name, key, value) : decodeInstance(value);
    if (typeof inst === 'string') {
      this.log(`discovery ${this.name}: skipping malformed ${this.format ? `${this.format.name} ` : ''}record ${key}: ${inst}`);
      this.set.delete(id);
      return;
    }
    if (this.format) this.logSharedEndpoint(key, id, inst);
    this.set.set(id, inst);
  }

  /** Two foreign records for one address mean two publishers collide on it (Go clients see one). */
  private logSharedEndpoint(key: string, id: string, inst: ServiceInstance): void {
    for (const [other, o] of this.set) {
      if (other !== id && o.endpoints.some((e) => inst.endpoints.includes(e))) {
        this.log(`discovery ${this.name}: ${this.format?.name} record ${key} has the same endpoint as ${this.prefix}${other} (two instances publish one address)`);
      }
    }
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
    this.settleFirst();
    this.watcher?.close();
    this.changes.emit(this.snapshot());
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
