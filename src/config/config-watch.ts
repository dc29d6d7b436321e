import { CoordError, isCoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import { tracedEvent } from '../core/tracing.ts';
import type { KeyValue } from '../client/etcd-client.ts';
import { configFeed, type ConfigFeed } from './config-feed.ts';
import { configSpanAttributes } from './config-publish.ts';
import { configRef, decodeVersion, type ConfigContext, type ConfigRef, type ConfigValue } from './config-record.ts';
import { betaSelector, decodeBeta, matches, type ConfigIdentity } from './gray-release.ts';

/** Options for `ConfigCenter.watch()`; defaults in each field's doc. */
export interface ConfigWatchOptions {
  /** Who is watching: a beta whose selector matches it is delivered instead of the stable value. Default: none (stable only). */
  identity?: ConfigIdentity;
  /** Closes the watch when it aborts. */
  signal?: AbortSignal;
}

/** Options for `ConfigCenter.subscribe()`: those of `watch()` plus an error callback. */
export interface SubscribeOptions extends ConfigWatchOptions {
  /** Called for a value that was not delivered (see {@link ConfigWatch.onError}). */
  onError?: (error: CoordError) => void;
}

/** Checks and converts a version before delivery; throws (a 'validation' CoordError) to reject it. */
export type ConfigDecoder<T> = (value: ConfigValue) => ConfigValue<T>;

/**
 * The live value of one config key for one subscriber (hot reload), over the key's feed shared by
 * every subscriber of this client (see {@link ConfigFeed}): every version is delivered once and in
 * order, across reconnects and compactions. With an identity it also follows the key's beta and
 * delivers it while the beta's selector matches. A value that cannot be decoded or fails the
 * decoder is reported on `onError` and skipped: the last good value stays in effect.
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
  private readonly feed: ConfigFeed;
  private readonly release: () => void;
  private readonly subscriptions: Array<{ dispose(): void }>;
  /** Identity (`stable@rev`, `beta@rev`, `none`) of the value in effect, and of the last one rejected. */
  private shown: string | undefined;
  private rejected: string | undefined;
  private value: ConfigValue<T> | undefined;
  private closed = false;
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
    this.feed = configFeed(ctx, this.ref, options.identity !== undefined);
    this.release = this.feed.use();
    this.subscriptions = [this.feed.onUpdate(() => this.update()), this.feed.onFailure((e) => this.errors.emit(e))];
    // Through the feed's queue: after its first read, and never before the caller's listeners are on.
    this.ready = this.feed.ready.then(() => this.feed.enqueue(() => this.update()));
    // The rejection reaches whoever awaits `ready`; failures also go to onError. Not unhandled.
    this.ready.catch(() => {});
    if (options.signal?.aborted) this.close();
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The value in effect (the last good one), or undefined before the first or when the key does not exist. */
  current(): ConfigValue<T> | undefined {
    return this.value;
  }

  private effective(): { id: string; kv?: KeyValue; beta?: boolean } {
    const b = this.feed.beta.kv;
    if (b && this.options.identity) {
      const selector = betaSelector(b, this.ref.where, this.ctx.log);
      if (selector && matches(selector, this.options.identity)) return { id: `beta@${b.modRevision}`, kv: b, beta: true };
    }
    const s = this.feed.stable.kv;
    return s ? { id: `stable@${s.modRevision}`, kv: s } : { id: 'none' };
  }

  /** Delivers the value in effect if it changed and decodes; otherwise reports it once and keeps the last good one. */
  private update(): void {
    if (this.closed) return;
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
        tracedEvent('coord.config.reload', { ...configSpanAttributes(this.ref), 'coord.config.applied': false }, () => this.errors.emit(err), err.message);
        return;
      }
    }
    this.shown = eff.id;
    this.value = next;
    const attributes = { ...configSpanAttributes(this.ref), 'coord.config.applied': true, 'coord.config.version': next?.version ?? 0, 'coord.config.beta': eff.beta === true };
    // The subscribers' reaction (re-creating a pool, …) runs inside the reload span.
    tracedEvent('coord.config.reload', attributes, () => this.changes.emit(next));
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
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const sub of this.subscriptions) sub.dispose();
    this.release();
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
