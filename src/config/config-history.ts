import { CoordError, isCoordError } from '../core/errors.ts';
import { lineDiff } from './config-diff.ts';
import { commitVersion, type WriteOptions } from './config-publish.ts';
import { configRef, decodeVersion, type ConfigContext, type ConfigRef, type ConfigValue } from './config-record.ts';

/** Options for `ConfigCenter.history()`. */
export interface HistoryOptions {
  /** At most this many versions, newest first. Default: all. */
  limit?: number;
  signal?: AbortSignal;
}

/** Options for `ConfigCenter.rollback()`, which publishes an earlier version again as a new one. */
export interface RollbackOptions extends WriteOptions {
  author?: string;
  /** Default `rollback to v<N>`. */
  message?: string;
}

/**
 * Every published version, newest first, read from coord's own history keys (written in the same
 * txn as each publish), so it does not depend on etcd's MVCC history and survives compaction.
 */
export async function history(ctx: ConfigContext, namespace: string, key: string, options: HistoryOptions = {}): Promise<ConfigValue[]> {
  const ref = configRef(ctx.root, namespace, key);
  if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit > 0)) {
    throw new CoordError('invalid-argument', `history limit must be a positive integer, got ${options.limit}`);
  }
  const r = await ctx.client.range(ref.historyPrefix, { prefix: true, sort: { target: 'key', order: 'descend' }, limit: options.limit, signal: options.signal });
  const out: ConfigValue[] = [];
  for (const kv of r.kvs) {
    try {
      out.push(decodeVersion(kv, ref.where));
    } catch (e) {
      if (!isCoordError(e, 'validation')) throw e;
      ctx.log(`${e.message}; skipped in history`);
    }
  }
  return out;
}

/** One version from history; a 'not-found' CoordError when it was never published. */
export async function historyVersion(ctx: ConfigContext, ref: ConfigRef, version: number, signal?: AbortSignal): Promise<ConfigValue> {
  if (!(Number.isSafeInteger(version) && version > 0)) throw new CoordError('invalid-argument', `${ref.where}: versions are positive integers, got ${version}`);
  const kv = await ctx.client.get(ref.history(version), { signal });
  if (!kv) throw new CoordError('not-found', `${ref.where}: no version ${version} in history`);
  return decodeVersion(kv, ref.where);
}

/** Line diff of version `from` → version `to` (see lineDiff): `' '`, `'-'` and `'+'` prefixed lines. */
export async function diff(ctx: ConfigContext, namespace: string, key: string, from: number, to: number, signal?: AbortSignal): Promise<string[]> {
  const ref = configRef(ctx.root, namespace, key);
  const [a, b] = await Promise.all([historyVersion(ctx, ref, from, signal), historyVersion(ctx, ref, to, signal)]);
  return lineDiff(a.raw, b.raw);
}

/** Publishes an old version's text as a new version (history stays append-only). */
export async function rollback(ctx: ConfigContext, namespace: string, key: string, toVersion: number, options: RollbackOptions = {}): Promise<ConfigValue> {
  const ref = configRef(ctx.root, namespace, key);
  const old = await historyVersion(ctx, ref, toVersion, options.signal);
  return commitVersion(ctx, ref, options, () => ({ format: old.format, raw: old.raw, author: options.author ?? '', message: options.message ?? `rollback to v${toVersion}` }));
}
