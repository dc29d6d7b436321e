import { Backoff, sleep } from '../core/backoff.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import { op, type KeyValue } from '../client/etcd-client.ts';
import type { WatchBatch, Watcher } from '../client/watch-manager.ts';
import { configRef, decodeVersion, type ConfigContext, type ConfigRef, type ConfigValue } from './config-record.ts';
import { betaSelector, decodeBeta, matches, type ConfigIdentity } from './gray-release.ts';

export interface ConfigWatchOptions {
  /** Who is watching: a beta whose selector matches it is delivered instead of the stable value. Default: none (stable only). */
  identity?: ConfigIdentity;
  /** Closes the watch when it aborts. */
  signal?: AbortSignal;
}

export interface SubscribeOptions extends ConfigWatchOptions {
  /** Called for a value that was not delivered (see {@link ConfigWatch.onError}). */
  onError?: (error: CoordError) => void;
}

/** Checks and converts a version before delivery; throws (a 'validation' CoordError) to reject it. */
export type ConfigDecoder<T> = (value: ConfigValue) => ConfigValue<T>;

/** What is known of one key: its kv (undefined: absent) as of revision `seen`. */
interface Slot {
  kv?: KeyValue;
  seen: number;
}

/**
 * The live value of one config key for one subscriber (hot reload): a Get, then a Watch from the
 * revision after it, so every version is delivered once and in order, across reconnects; when the
 * resume point was compacted away it re-reads and carries on. With an identity it also follows the
 * key's beta and delivers it while the beta's selector matches. A value that cannot be decoded or
 * fails the decoder is reported on `onError` and skipped: the last good value stays in effect.
 */
export class ConfigWatch<T = unknown> {
  private readonly changes = new Emitter<ConfigValue<T> | undefined>();
  private readonly errors = new Emitter<CoordError>();
  /** The value in effect: once ready, then after every change (undefined: the key does not exist). */
  readonly onChange = this.changes.on;
  /** A value that was not delivered (malformed, or rejected by the schema), or a watch that stopped. */
  readonly onError = this.errors.on;
  /** Settles after the first read; rejects when that read fails for a reason other than reachability. */
  readonly ready: Promise<void>;
  private readonly ref: ConfigRef;
  private stable: Slot = { seen: 0 };
  private beta: Slot = { seen: 0 };
  private watchers: Watcher[] = [];
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();
  /** Identity (`stable@rev`, `beta@rev`, `none`) of the value in effect, and of the last one rejected. */
  private shown: string | undefined;
  private rejected: string | undefined;
  private value: ConfigValue<T> | undefined;
  private closed = false;
  private readonly closer = new AbortController();
  private readonly wakers = new Set<() => void>();
  private readonly onAbort = () => this.close();

  constructor(
    private readonly ctx: ConfigContext,
    namespace: string,
    key: string,
    private readonly decode: ConfigDecoder<T>,
    private readonly options: ConfigWatchOptions = {},
  ) {
    this.ref = configRef(ctx.root, namespace, key);
    ctx.open.add(this);
    this.ready = this.enqueue(() => this.sync());
    this.ready.catch(() => {});
    if (options.signal?.aborted) this.close();
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The value in effect (the last good one), or undefined before the first or when the key does not exist. */
  current(): ConfigValue<T> | undefined {
    return this.value;
  }

  /** Tasks (reads and watch batches) run one at a time, in arrival order. */
  private enqueue(task: () => Promise<void> | void): Promise<void> {
    const run = this.queue.then(() => (this.closed ? undefined : task()));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Reads the key (and beta) at one revision, retrying while etcd is unreachable, then watches from there. */
  private async sync(): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 3000 });
    const withBeta = this.options.identity !== undefined;
    for (;;) {
      if (this.closed) return;
      try {
        const r = await this.ctx.client.txn({ success: [op.get(this.ref.value), ...(withBeta ? [op.get(this.ref.beta)] : [])] }, { signal: this.closer.signal });
        this.stable = { kv: r.responses[0].kvs![0], seen: r.revision };
        this.beta = { kv: withBeta ? r.responses[1].kvs![0] : undefined, seen: r.revision };
        this.startWatches(r.revision + 1, withBeta);
        this.update();
        return;
      } catch (e) {
        if (this.closed) return;
        if (!isCoordError(e) || !e.recoverable) throw e;
        await sleep(backoff.next(), this.closer.signal).catch(() => {});
      }
    }
  }

  private startWatches(from: number, withBeta: boolean): void {
    const gen = ++this.generation;
    const watch = (key: string, which: 'stable' | 'beta'): Watcher => {
      const w = this.ctx.client.watches.watch(key, { startRevision: from });
      w.onEvents((batch) => void this.enqueue(() => (gen === this.generation ? this.apply(which, batch) : undefined)));
      w.onError((err) => void this.enqueue(() => (gen === this.generation ? this.resync(err) : undefined)));
      return w;
    };
    this.watchers = [watch(this.ref.value, 'stable'), ...(withBeta ? [watch(this.ref.beta, 'beta')] : [])];
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
      this.update();
    }
  }

  private async resync(err: unknown): Promise<void> {
    if (this.closed) return;
    this.ctx.log(`${this.ref.where}: ${err instanceof Error ? err.message : String(err)}; re-reading`);
    this.stopWatches();
    try {
      await this.sync();
    } catch (e) {
      const stopped = new CoordError(isCoordError(e) ? e.code : 'internal', `${this.ref.where}: watch stopped: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      this.ctx.log(stopped.message);
      this.errors.emit(stopped);
    }
  }

  private effective(): { id: string; kv?: KeyValue; beta?: boolean } {
    const b = this.beta.kv;
    if (b && this.options.identity) {
      const selector = betaSelector(b, this.ref.where, this.ctx.log);
      if (selector && matches(selector, this.options.identity)) return { id: `beta@${b.modRevision}`, kv: b, beta: true };
    }
    const s = this.stable.kv;
    return s ? { id: `stable@${s.modRevision}`, kv: s } : { id: 'none' };
  }

  /** Delivers the value in effect if it changed and decodes; otherwise reports it once and keeps the last good one. */
  private update(): void {
    const eff = this.effective();
    if (eff.id === this.shown) return;
    let next: ConfigValue<T> | undefined;
    if (eff.kv) {
      try {
        next = this.decode(eff.beta ? decodeBeta(eff.kv, this.ref.where) : decodeVersion(eff.kv, this.ref.where));
      } catch (e) {
        if (eff.id === this.rejected) return;
        this.rejected = eff.id;
        const err = isCoordError(e) ? e : new CoordError('validation', `${this.ref.where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        this.ctx.log(`${err.message}; keeping the last good value`);
        this.errors.emit(err);
        return;
      }
    }
    this.shown = eff.id;
    this.value = next;
    this.changes.emit(next);
  }

  private stopWatches(): void {
    this.generation++;
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** Every value in effect: the current one (once there is one), then each change, until closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConfigValue<T> | undefined> {
    const queue: Array<ConfigValue<T> | undefined> = this.shown === undefined ? [] : [this.value];
    let wake = () => {};
    const sub = this.onChange((v) => {
      queue.push(v);
      wake();
    });
    try {
      await this.ready;
      for (;;) {
        while (queue.length > 0) yield queue.shift();
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          this.wakers.add(resolve);
        });
        this.wakers.delete(wake);
      }
    } finally {
      sub.dispose();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closer.abort(new CoordError('closed', `${this.ref.where}: watch closed`));
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.stopWatches();
    this.ctx.open.delete(this);
    for (const wake of this.wakers) wake();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
