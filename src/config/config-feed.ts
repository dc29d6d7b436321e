import { Backoff, sleep } from '../core/backoff.ts';
import { retryUntilClosed } from '../core/retry-until-closed.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import { op, type KeyValue } from '../client/etcd-client.ts';
import type { WatchBatch, Watcher } from '../client/watch-manager.ts';
import type { ConfigContext, ConfigRef } from './config-record.ts';

/** What is known of one key: its kv (undefined: absent) as of revision `seen`. */
export interface Slot {
  kv?: KeyValue;
  seen: number;
}

/**
 * The raw state of one config key (and, `withBeta`, of its beta) shared by every subscriber of one
 * client: a Get, then a Watch from the revision after it, so every version is seen once and in
 * order, across reconnects; when the resume point was compacted away it re-reads and carries on.
 * A thousand subscribers in one process cost one or two etcd watches, not a thousand.
 */
export class ConfigFeed {
  private readonly updates = new Emitter<void>();
  private readonly failures = new Emitter<CoordError>();
  /** The stable or beta slot changed. */
  readonly onUpdate = this.updates.on;
  /** A re-read after a broken watch failed; it is retried with backoff while anyone subscribes. */
  readonly onFailure = this.failures.on;
  /** Settles after the first read; rejects when that read fails for a reason other than reachability. */
  readonly ready: Promise<void>;
  stable: Slot = { seen: 0 };
  beta: Slot = { seen: 0 };
  private watchers: Watcher[] = [];
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly closer = new AbortController();
  private users = 0;

  constructor(
    private readonly ctx: ConfigContext,
    readonly ref: ConfigRef,
    private readonly withBeta: boolean,
    private readonly onIdle: () => void,
  ) {
    this.ready = this.enqueue(() => this.sync());
    // The rejection reaches whoever awaits `ready` (and the feed re-reads, reporting onFailure).
    this.ready.catch(() => {});
  }

  /** Tasks (reads, watch batches, subscriber callbacks) run one at a time, in arrival order. */
  enqueue(task: () => Promise<void> | void): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : task()));
    // Each task's failure is returned to its own caller (`run`); the queue just goes on.
    this.queue = run.catch(() => {});
    return run;
  }

  /** Counts a subscriber; the returned function releases it (the last one closes the feed). */
  use(): () => void {
    this.users++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users === 0) this.close();
    };
  }

  /** Reads the key (and beta) at one revision, retrying while etcd is unreachable, then watches from there. */
  private async sync(): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 3000 });
    for (;;) {
      if (this.closed) return;
      try {
        const r = await this.ctx.client.txn({ success: [op.get(this.ref.value), ...(this.withBeta ? [op.get(this.ref.beta)] : [])] }, { signal: this.closer.signal });
        this.stable = { kv: r.responses[0].kvs![0], seen: r.revision };
        this.beta = { kv: this.withBeta ? r.responses[1].kvs![0] : undefined, seen: r.revision };
        this.startWatches(r.revision + 1);
        this.updates.emit();
        return;
      } catch (e) {
        if (this.closed) return;
        if (!isCoordError(e) || !e.recoverable) throw e;
        // Rejects only when close() aborts the wait.
        await sleep(backoff.next(), this.closer.signal).catch(() => {});
      }
    }
  }

  private startWatches(from: number): void {
    const gen = ++this.generation;
    const watch = (key: string, which: 'stable' | 'beta'): Watcher => {
      const w = this.ctx.client.watches.watch(key, { startRevision: from });
      w.onEvents((batch) => void this.enqueue(() => (gen === this.generation ? this.apply(which, batch) : undefined)));
      w.onError((err) => void this.enqueue(() => (gen === this.generation ? this.resync(err) : undefined)));
      return w;
    };
    this.watchers = [watch(this.ref.value, 'stable'), ...(this.withBeta ? [watch(this.ref.beta, 'beta')] : [])];
  }

  private async apply(which: 'stable' | 'beta', batch: WatchBatch): Promise<void> {
    const slot = which === 'stable' ? this.stable : this.beta;
    for (const e of batch.events) {
      const rev = e.kv.modRevision;
      if (rev <= slot.seen) continue;
      if (which === 'beta' && e.type === 'delete' && this.stable.seen < rev) {
        // promote and remove change the value in the same txn as the beta's deletion: read the
        // value as of that txn first, so a matching subscriber never flips back to the old value.
        try {
          this.stable.kv = await this.ctx.client.get(this.ref.value, { revision: rev, signal: this.closer.signal });
          this.stable.seen = rev;
        } catch (err) {
          return this.resync(err);
        }
      }
      slot.kv = e.type === 'put' ? e.kv : undefined;
      slot.seen = rev;
      this.updates.emit();
    }
  }

  private async resync(err: unknown): Promise<void> {
    if (this.closed) return;
    this.ctx.log(`${this.ref.where}: ${err instanceof Error ? err.message : String(err)}; re-reading`);
    this.stopWatches();
    // sync() waits out an unreachable etcd by itself; anything else (a permission error) ends up
    // here and is retried too, until the last subscriber leaves. The loop rejects only at close(),
    // every failure before it having been logged and emitted in onFailure.
    await retryUntilClosed(() => this.sync(), {
      signal: this.closer.signal,
      onFailure: (f) => {
        const failed = new CoordError(f.error.code, `${this.ref.where}: re-reading failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`, { cause: f.error });
        this.ctx.log(failed.message);
        this.failures.emit(failed);
      },
    }).catch(() => {}); // rejects only at close(); every failure before it was logged and emitted in onFailure
  }

  private stopWatches(): void {
    this.generation++;
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closer.abort(new CoordError('closed', `${this.ref.where}: watch closed`));
    this.stopWatches();
    this.onIdle();
  }
}

const feeds = new WeakMap<ConfigContext, Map<string, ConfigFeed>>();

/** The shared feed of `ref` for this config center (created on first use, closed with its last user). */
export function configFeed(ctx: ConfigContext, ref: ConfigRef, withBeta: boolean): ConfigFeed {
  let byKey = feeds.get(ctx);
  if (!byKey) feeds.set(ctx, (byKey = new Map()));
  const id = `${withBeta ? 'b' : 's'}:${ref.value}`;
  let feed = byKey.get(id);
  if (!feed) {
    const map = byKey;
    const created: ConfigFeed = new ConfigFeed(ctx, ref, withBeta, () => {
      if (map.get(id) === created) map.delete(id);
    });
    feed = created;
    byKey.set(id, feed);
    // A feed whose first read was refused serves no one new: the next subscriber starts a fresh one.
    // (Later failures are retried by the feed itself.)
    created.ready.catch(() => map.get(id) === created && map.delete(id));
  }
  return feed;
}
