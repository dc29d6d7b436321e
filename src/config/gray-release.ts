import { z } from 'zod';
import { CoordError, isCoordError } from '../core/errors.ts';
import { traced } from '../core/tracing.ts';
import { compare, op, type KeyValue } from '../client/etcd-client.ts';
import { encodeValue, parseValue } from './config-codec.ts';
import { commitVersion, type PublishOptions, type WriteOptions } from './config-publish.ts';
import { configRef, decodeJson, decodeVersion, envelopeSchema, issues, type ConfigContext, type ConfigValue } from './config-record.ts';
import { checkSharedSchema } from './config-schema.ts';

/** Who sees a beta: listed ids, or every instance carrying all the given labels. */
export interface GraySelector {
  ids?: string[];
  labels?: Record<string, string>;
}

/** A subscriber's identity, matched against a beta's selector. */
export interface ConfigIdentity {
  id: string;
  labels?: Record<string, string>;
}

/** A beta (gray-release) value; `version` is the stable version it was published over (0: none). */
export interface BetaValue<T = unknown> extends ConfigValue<T> {
  beta: true;
  selector: GraySelector;
}

/** Options for `ConfigCenter.get()`. */
export interface ReadOptions {
  /** Whose view: a beta whose selector matches it is returned instead of the stable value. Default: none. */
  identity?: ConfigIdentity;
  signal?: AbortSignal;
}

/** Options for `ConfigCenter.publishBeta()`: who gets the beta (`selector`), plus the usual publish fields. */
export interface BetaOptions extends Omit<PublishOptions, 'expectedVersion'> {
  selector: GraySelector;
}

/** Options for `ConfigCenter.promote()`, which makes the beta the stable value. */
export interface PromoteOptions extends WriteOptions {
  /** Default: the beta's author. */
  author?: string;
  /** Default: `promote beta` plus the beta's message. */
  message?: string;
}

const selectorSchema = z
  .object({ ids: z.array(z.string().min(1)).optional(), labels: z.record(z.string(), z.string()).optional() })
  .refine((s) => (s.ids?.length ?? 0) + Object.keys(s.labels ?? {}).length > 0, 'a selector needs at least one id or label');

/** The stored beta record: a version envelope (version = base stable version) plus its selector. */
const betaSchema = envelopeSchema.extend({ selector: selectorSchema });

export function matches(selector: GraySelector, who: ConfigIdentity | undefined): boolean {
  if (!who) return false;
  if (selector.ids?.includes(who.id)) return true;
  const labels = Object.entries(selector.labels ?? {});
  return labels.length > 0 && labels.every(([k, v]) => who.labels !== undefined && Object.hasOwn(who.labels, k) && who.labels[k] === v);
}

/** Only the selector of a stored beta, or undefined (logged) when it is malformed. */
export function betaSelector(kv: KeyValue, where: string, log: (line: string) => void): GraySelector | undefined {
  try {
    return decodeJson(betaSchema, kv.value, `${where} beta`).selector;
  } catch (e) {
    if (!isCoordError(e, 'validation')) throw e;
    log(`${e.message}; ignoring the beta`);
    return undefined;
  }
}

export function decodeBeta(kv: KeyValue, where: string): BetaValue {
  const e = decodeJson(betaSchema, kv.value, `${where} beta`);
  const value = parseValue(e.value, e.format, `${where} beta`);
  return { value, raw: e.value, format: e.format, version: e.version, revision: kv.modRevision, author: e.author, message: e.message, publishedAt: e.publishedAt, beta: true, selector: e.selector };
}

/** Publishes (or replaces) the beta of a key; subscribers whose identity matches switch to it. */
export async function publishBeta(ctx: ConfigContext, namespace: string, key: string, value: unknown, options: BetaOptions, serialize = false): Promise<BetaValue> {
  const ref = configRef(ctx.root, namespace, key);
  const sel = selectorSchema.safeParse(options.selector);
  if (!sel.success) throw new CoordError('invalid-argument', `${ref.where}: invalid beta selector: ${issues(sel.error)}`);
  const { format, raw } = encodeValue(value, options.format, ref.where, serialize);
  if (!serialize) await checkSharedSchema(ctx, ref, format, raw, options.signal);
  const current = await ctx.client.get(ref.value, { signal: options.signal });
  let base = 0;
  if (current) {
    try {
      base = decodeJson(envelopeSchema, current.value, ref.where).version;
    } catch (e) {
      if (!isCoordError(e, 'validation')) throw e;
    }
  }
  const meta = { format, version: base, author: options.author ?? '', message: options.message ?? '', publishedAt: new Date().toISOString(), selector: sel.data };
  const r = await ctx.client.put(ref.beta, JSON.stringify({ ...meta, value: raw }), { signal: options.signal });
  return { ...meta, value: parseValue(raw, format, ref.where), raw, revision: r.revision, beta: true };
}

/** The value `identity` sees right now: the matching beta, else the stable value; undefined when absent. */
export function readConfig(ctx: ConfigContext, namespace: string, key: string, options: ReadOptions = {}): Promise<ConfigValue | undefined> {
  return traced('coord.config.get', { 'coord.config.namespace': namespace, 'coord.config.key': key }, async (span) => {
    const v = await readCurrent(ctx, namespace, key, options);
    span.setAttributes({ 'coord.config.found': v !== undefined, ...(v ? { 'coord.config.version': v.version, 'coord.config.beta': v.beta === true } : {}) });
    return v;
  });
}

async function readCurrent(ctx: ConfigContext, namespace: string, key: string, options: ReadOptions): Promise<ConfigValue | undefined> {
  const ref = configRef(ctx.root, namespace, key);
  if (!options.identity) {
    const kv = await ctx.client.get(ref.value, { signal: options.signal });
    return kv && decodeVersion(kv, ref.where);
  }
  const r = await ctx.client.txn({ success: [op.get(ref.value), op.get(ref.beta)] }, { signal: options.signal });
  const [kv] = r.responses[0].kvs!;
  const [beta] = r.responses[1].kvs!;
  const selector = beta && betaSelector(beta, ref.where, ctx.log);
  if (beta && selector && matches(selector, options.identity)) return decodeBeta(beta, ref.where);
  return kv && decodeVersion(kv, ref.where);
}

export async function getBeta(ctx: ConfigContext, namespace: string, key: string, signal?: AbortSignal): Promise<BetaValue | undefined> {
  const ref = configRef(ctx.root, namespace, key);
  const kv = await ctx.client.get(ref.beta, { signal });
  return kv && decodeBeta(kv, ref.where);
}

/** Publishes the beta as the next stable version and removes it, in one txn. */
export function promote(ctx: ConfigContext, namespace: string, key: string, options: PromoteOptions = {}): Promise<ConfigValue> {
  const ref = configRef(ctx.root, namespace, key);
  return commitVersion(ctx, ref, options, (s) => {
    if (!s.beta) throw new CoordError('not-found', `${ref.where}: no beta to promote`);
    const b = decodeBeta(s.beta, ref.where);
    return {
      format: b.format,
      raw: b.raw,
      author: options.author ?? b.author,
      message: options.message ?? (b.message ? `promote beta: ${b.message}` : 'promote beta'),
      compare: [compare.modRevision(ref.beta, '=', s.beta.modRevision)],
      ops: [op.delete(ref.beta)],
    };
  });
}

/** Removes the beta; matching subscribers go back to the stable value. False when there was none. */
export async function abortBeta(ctx: ConfigContext, namespace: string, key: string, signal?: AbortSignal): Promise<boolean> {
  const ref = configRef(ctx.root, namespace, key);
  return (await ctx.client.delete(ref.beta, { signal })).deleted > 0;
}
