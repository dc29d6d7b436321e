/*
 * ## Config center keyspace
 *
 * Under the client namespace `<ns>` (default `/coord/`). `<namespace>` and `<key>` are non-empty
 * and contain no `/` (e.g. `shop` / `db.json`).
 *
 * | key | value |
 * |---|---|
 * | `<ns>config/<namespace>/<key>` | the current (stable) version, a JSON record: `{"format","value","version","author","message","publishedAt"}` |
 * | `<ns>config-history/<namespace>/<key>/<version>` | every published version, the same record; `<version>` zero-padded to 10 digits; written in the same txn as the publish and never changed, so its mod revision is the publish's revision |
 * | `<ns>config-beta/<namespace>/<key>` | the gray-release (beta) value: the same record plus `"selector": {"ids"?: [...], "labels"?: {...}}`; its `version` is the stable version it was published over (0: none) |
 *
 * - `format` is `json`, `yaml` or `text`; `value` is the text exactly as published (always a JSON
 *   string), parsed by readers according to `format` (YAML: the subset in `config-yaml.ts`).
 * - `version` is coord's own per-key counter (1, 2, …), not etcd's key version: it survives
 *   compaction and continues across rollback, promote and removal (next = max(current, newest
 *   history entry) + 1). `publishedAt` is ISO 8601 UTC; `author` and `message` are free text.
 * - A publish, rollback or promote is one txn: compare `mod_revision(config key)` = as read and
 *   `create_revision(history key)` = 0; put both keys (promote also compares the beta's
 *   mod_revision and deletes it). Remove deletes the config and beta keys; history stays.
 * - A beta applies to a subscriber `{ id, labels }` whose id is in `ids`, or that carries every
 *   label in `labels`; a selector has at least one id or label.
 *
 * Example: `/coord/config/shop/db.json` →
 * `{"format":"json","value":"{\n  \"pool\": 10\n}","version":3,"author":"ana","message":"bigger pool","publishedAt":"2025-05-01T09:30:00.000Z"}`
 */
import type { z } from 'zod';
import type { EtcdClient } from '../client/etcd-client.ts';
import { diff, history, rollback, type HistoryOptions, type RollbackOptions } from './config-history.ts';
import { publish, remove, type PublishOptions, type WriteOptions } from './config-publish.ts';
import { parseValue, type ConfigFormat } from './config-codec.ts';
import { checkSharedSchema } from './config-schema.ts';
import { checkName, configRef, type ConfigContext, type ConfigValue } from './config-record.ts';
import { TypedConfig, type TypedConfigOptions } from './config-typed.ts';
import { ConfigWatch, type ConfigWatchOptions, type SubscribeOptions } from './config-watch.ts';
import { abortBeta, getBeta, promote, publishBeta, readConfig, type BetaOptions, type BetaValue, type PromoteOptions, type ReadOptions } from './gray-release.ts';

export interface ConfigCenterOptions {
  /** Receives one line per notable event (malformed record skipped, watch re-read…). Default: none. */
  log?: (line: string) => void;
}

/** One config namespace and its keys, as `ConfigCenter.list()` returns them. */
export interface ConfigListing {
  namespace: string;
  keys: string[];
}

/**
 * Namespaced, versioned configuration (Nacos-style): publish in JSON, YAML or text with optimistic
 * concurrency, typed access with zod, hot reload, history that survives compaction, diff,
 * rollback and gray release. Every key is described in the keyspace comment above.
 */
export class ConfigCenter {
  private readonly ctx: ConfigContext;

  constructor(client: EtcdClient, root: string, options: ConfigCenterOptions = {}) {
    this.ctx = { client, root, log: options.log ?? (() => {}), open: new Set() };
  }

  /** The current value (the matching beta, given an identity), or undefined when the key does not exist. */
  get(namespace: string, key: string, options: ReadOptions = {}): Promise<ConfigValue | undefined> {
    return readConfig(this.ctx, namespace, key, options);
  }

  /**
   * Publishes the next version. A string is the text as published (it must parse in its format);
   * other values are serialized. With `expectedVersion`, rejects with a 'conflict' CoordError unless
   * the current version is exactly that (0: the key must not exist).
   */
  publish(namespace: string, key: string, value: unknown, options: PublishOptions = {}): Promise<ConfigValue> {
    return publish(this.ctx, namespace, key, value, options);
  }

  /**
   * Checks a value's text without publishing it: it must parse in its format and meet the schema a
   * typed handle shared for the key (TypedConfig.shareSchema), if any. Rejects with a 'validation'
   * CoordError naming what is wrong.
   */
  async validate(namespace: string, key: string, raw: string, format: ConfigFormat, options: { signal?: AbortSignal } = {}): Promise<void> {
    const ref = configRef(this.ctx.root, namespace, key);
    parseValue(raw, format, ref.where);
    await checkSharedSchema(this.ctx, ref, format, raw, options.signal);
  }

  /** The JSON Schema shared for a key (TypedConfig.shareSchema), or undefined. */
  async schema(namespace: string, key: string, options: { signal?: AbortSignal } = {}): Promise<Record<string, unknown> | undefined> {
    const kv = await this.ctx.client.get(configRef(this.ctx.root, namespace, key).schema, { signal: options.signal });
    if (!kv) return undefined;
    try {
      return JSON.parse(kv.value.toString()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** Deletes the value and its beta (history stays). False when there was nothing to delete. */
  remove(namespace: string, key: string, options: WriteOptions = {}): Promise<boolean> {
    return remove(this.ctx, namespace, key, options);
  }

  /** The live value of a key; close it when done. */
  watch(namespace: string, key: string, options: ConfigWatchOptions = {}): ConfigWatch {
    return new ConfigWatch(this.ctx, namespace, key, (v) => v, options);
  }

  /** `listener` gets the current value once ready, then every change in order (hot reload). */
  subscribe(namespace: string, key: string, listener: (value: ConfigValue | undefined) => void, options: SubscribeOptions = {}): ConfigWatch {
    const w = this.watch(namespace, key, options);
    w.onChange(listener);
    if (options.onError) w.onError(options.onError);
    return w;
  }

  /** The key bound to a zod schema: validated publishes, and subscribers that only see valid values. */
  typed<T>(namespace: string, key: string, schema: z.ZodType<T>, options: TypedConfigOptions = {}): TypedConfig<T> {
    return new TypedConfig(this.ctx, namespace, key, schema, options);
  }

  /** Published versions, newest first; kept by coord, so it survives etcd compaction. */
  history(namespace: string, key: string, options: HistoryOptions = {}): Promise<ConfigValue[]> {
    return history(this.ctx, namespace, key, options);
  }

  /** Line diff of version `from` → `to`: every line, prefixed `' '`, `'-'` or `'+'`. */
  diff(namespace: string, key: string, from: number, to: number, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    return diff(this.ctx, namespace, key, from, to, options.signal);
  }

  /** Publishes version `toVersion`'s text again as a new version (message `rollback to vN`). */
  rollback(namespace: string, key: string, toVersion: number, options: RollbackOptions = {}): Promise<ConfigValue> {
    return rollback(this.ctx, namespace, key, toVersion, options);
  }

  /** Publishes (or replaces) the key's beta, seen by subscribers whose identity matches `selector`. */
  publishBeta(namespace: string, key: string, value: unknown, options: BetaOptions): Promise<BetaValue> {
    return publishBeta(this.ctx, namespace, key, value, options);
  }

  getBeta(namespace: string, key: string, options: { signal?: AbortSignal } = {}): Promise<BetaValue | undefined> {
    return getBeta(this.ctx, namespace, key, options.signal);
  }

  /** Publishes the beta as the next stable version and removes it; 'not-found' when there is none. */
  promote(namespace: string, key: string, options: PromoteOptions = {}): Promise<ConfigValue> {
    return promote(this.ctx, namespace, key, options);
  }

  /** Removes the beta (matching subscribers return to the stable value); false when there was none. */
  abort(namespace: string, key: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return abortBeta(this.ctx, namespace, key, options.signal);
  }

  /** Namespaces and their keys (one namespace when given), sorted. */
  async list(namespace?: string, options: { signal?: AbortSignal } = {}): Promise<ConfigListing[]> {
    const base = `${this.ctx.root}config/`;
    const prefix = namespace === undefined ? base : `${base}${checkName('namespace', namespace)}/`;
    const r = await this.ctx.client.range(prefix, { prefix: true, keysOnly: true, signal: options.signal });
    const byNamespace = new Map<string, string[]>();
    for (const kv of r.kvs) {
      const [ns, key, ...rest] = kv.key.slice(base.length).split('/');
      if (!key || rest.length > 0) continue; // not a config key
      if (!byNamespace.has(ns)) byNamespace.set(ns, []);
      byNamespace.get(ns)!.push(key);
    }
    return [...byNamespace].map(([ns, keys]) => ({ namespace: ns, keys }));
  }

  /** Closes every watch opened through this config center. */
  close(): void {
    for (const w of [...this.ctx.open]) w.close();
  }
}
