import type { z } from 'zod';
import { CoordError } from '../core/errors.ts';
import type { ConfigFormat } from './config-codec.ts';
import { publish, type PublishOptions } from './config-publish.ts';
import { shareSchema } from './config-schema.ts';
import { configRef, issues, type ConfigContext, type ConfigRef, type ConfigValue } from './config-record.ts';
import { ConfigWatch, type ConfigWatchOptions, type SubscribeOptions } from './config-watch.ts';
import { publishBeta, readConfig, type BetaOptions, type BetaValue, type ReadOptions } from './gray-release.ts';

/** Options for `ConfigCenter.typed()`. */
export interface TypedConfigOptions {
  /** Format values are published in. Default 'json'. */
  format?: ConfigFormat;
}

/**
 * One config key bound to a zod schema: `publish` refuses a value that fails it (a 'validation'
 * CoordError naming each failing path) and readers only ever see values that pass it. A value
 * written by someone bypassing the schema is reported to subscribers, who keep their last good one.
 */
export class TypedConfig<T> {
  private readonly ref: ConfigRef;
  private readonly format: ConfigFormat;
  private readonly decode = (v: ConfigValue): ConfigValue<T> => ({ ...v, value: this.check(v.value, `${this.ref.where} v${v.version}${v.beta ? ' (beta)' : ''}`) });

  constructor(
    private readonly ctx: ConfigContext,
    readonly namespace: string,
    readonly key: string,
    readonly schema: z.ZodType<T>,
    options: TypedConfigOptions = {},
  ) {
    this.ref = configRef(ctx.root, namespace, key);
    this.format = options.format ?? 'json';
  }

  /** The schema's output for `value`, or a 'validation' CoordError listing every failing path. */
  check(value: unknown, what = this.ref.where): T {
    const r = this.schema.safeParse(value);
    if (!r.success) throw new CoordError('validation', `${what}: invalid value: ${issues(r.error)}`);
    return r.data;
  }

  async get(options: ReadOptions = {}): Promise<ConfigValue<T> | undefined> {
    const v = await readConfig(this.ctx, this.namespace, this.key, options);
    return v && this.decode(v);
  }

  async publish(value: T, options: Omit<PublishOptions, 'format'> = {}): Promise<ConfigValue<T>> {
    this.check(value);
    return this.decode(await publish(this.ctx, this.namespace, this.key, value, { ...options, format: this.format }, true));
  }

  async publishBeta(value: T, options: Omit<BetaOptions, 'format'>): Promise<BetaValue<T>> {
    this.check(value, `${this.ref.where} (beta)`);
    const b = await publishBeta(this.ctx, this.namespace, this.key, value, { ...options, format: this.format }, true);
    return { ...b, value: this.check(b.value) };
  }

  /**
   * Shares the schema (as JSON Schema, under `<ns>config-schema/<namespace>/<key>`) so untyped
   * publishes — `coord config publish`, the dashboard's editor, other libraries — are checked
   * against it too. Writes only when it differs from what is shared.
   */
  shareSchema(options: { signal?: AbortSignal } = {}): Promise<void> {
    return shareSchema(this.ctx, this.ref, this.schema, options.signal);
  }

  /** Live, validated values; close it when done. */
  watch(options: ConfigWatchOptions = {}): ConfigWatch<T> {
    return new ConfigWatch(this.ctx, this.namespace, this.key, this.decode, options);
  }

  /** `listener` gets the current value once ready, then every change (hot reload). */
  subscribe(listener: (value: ConfigValue<T> | undefined) => void, options: SubscribeOptions = {}): ConfigWatch<T> {
    const w = this.watch(options);
    w.onChange(listener);
    if (options.onError) w.onError(options.onError);
    return w;
  }
}
