import { CoordError, isCoordError } from '../core/errors.ts';
import { traced } from '../core/tracing.ts';
import { compare, op, type KeyValue } from '../client/etcd-client.ts';
import type { Compare, RequestOp } from '../protocol/etcd-types.ts';
import { encodeValue, parseValue, type ConfigFormat } from './config-codec.ts';
import { checkSharedSchema } from './config-schema.ts';
import { configRef, decodeJson, envelopeSchema, type ConfigContext, type ConfigEnvelope, type ConfigRef, type ConfigValue } from './config-record.ts';

/** Options every config write takes. */
export interface WriteOptions {
  /** Write only if the current version is this one (0: only if the key does not exist); otherwise reject with a 'conflict' CoordError. Default: any. */
  expectedVersion?: number;
  signal?: AbortSignal;
}

/** Options for `ConfigCenter.publish()`; defaults in each field's doc. */
export interface PublishOptions extends WriteOptions {
  /** Default: 'text' for a string value, 'json' for anything else. */
  format?: ConfigFormat;
  /** Who published, kept in history. Default ''. */
  author?: string;
  /** Why, kept in history. Default ''. */
  message?: string;
}

/** What a write saw: the current value, the newest history version and the beta, if any. */
export interface WriteState {
  current?: KeyValue;
  /** Version of the current value; 0 when there is none. */
  currentVersion: number;
  /** Newest version in history (it outlives a removed key, so versions never repeat). */
  lastVersion: number;
  beta?: KeyValue;
}

/** The new version a write produces, plus conditions and operations to commit in the same txn. */
export interface Draft {
  format: ConfigFormat;
  raw: string;
  author: string;
  message: string;
  compare?: Compare[];
  ops?: RequestOp[];
}

/** Attempts of the read-then-compare-and-write loop before giving up on a hot key. */
const MAX_ATTEMPTS = 20;

export async function publish(ctx: ConfigContext, namespace: string, key: string, value: unknown, options: PublishOptions = {}, serialize = false): Promise<ConfigValue> {
  const ref = configRef(ctx.root, namespace, key);
  const { format, raw } = encodeValue(value, options.format, ref.where, serialize);
  // A typed handle (serialize) has checked its own schema; everyone else meets the shared one.
  if (!serialize) await checkSharedSchema(ctx, ref, format, raw, options.signal);
  return commitVersion(ctx, ref, options, () => ({ format, raw, author: options.author ?? '', message: options.message ?? '' }));
}

/**
 * Writes the next version: the value key and its history entry in one txn, guarded by the value
 * key's mod revision (so a concurrent write makes us re-read rather than skip or reuse a version)
 * and by the history slot being free. `draft` sees what was read and may add to the txn.
 */
export function commitVersion(ctx: ConfigContext, ref: ConfigRef, options: WriteOptions, draft: (s: WriteState) => Draft): Promise<ConfigValue> {
  return traced('coord.config.publish', configSpanAttributes(ref), async (span) => {
    const v = await commitAttempts(ctx, ref, options, draft);
    span.setAttributes({ 'coord.config.version': v.version, 'coord.config.revision': v.revision });
    return v;
  });
}

/** Span attributes naming a config key: the last two segments of its etcd key (neither contains '/'). */
export function configSpanAttributes(ref: ConfigRef): { 'coord.config.namespace': string; 'coord.config.key': string } {
  const [namespace, key] = ref.value.split('/').slice(-2);
  return { 'coord.config.namespace': namespace, 'coord.config.key': key };
}

async function commitAttempts(ctx: ConfigContext, ref: ConfigRef, options: WriteOptions, draft: (s: WriteState) => Draft): Promise<ConfigValue> {
  checkExpectedArg(options.expectedVersion);
  for (let attempt = 1; ; attempt++) {
    const s = await readState(ctx, ref, options.signal);
    checkExpected(ref, options.expectedVersion, s.currentVersion);
    const d = draft(s);
    const version = Math.max(s.currentVersion, s.lastVersion) + 1;
    const envelope: ConfigEnvelope = { format: d.format, value: d.raw, version, author: d.author, message: d.message, publishedAt: new Date().toISOString() };
    const body = JSON.stringify(envelope);
    const r = await ctx.client.txn(
      {
        compare: [compare.modRevision(ref.value, '=', s.current?.modRevision ?? 0), compare.createRevision(ref.history(version), '=', 0), ...(d.compare ?? [])],
        success: [op.put(ref.value, body), op.put(ref.history(version), body), ...(d.ops ?? [])],
      },
      { signal: options.signal },
    );
    if (r.succeeded) {
      const { value: raw, ...meta } = envelope;
      return { ...meta, value: parseValue(raw, d.format, ref.where), raw, revision: r.revision };
    }
    if (attempt >= MAX_ATTEMPTS) throw new CoordError('conflict', `${ref.where}: gave up after ${MAX_ATTEMPTS} attempts; the key keeps changing`);
  }
}

/** Deletes the value and any beta; history stays and later versions continue from it. */
export async function remove(ctx: ConfigContext, namespace: string, key: string, options: WriteOptions = {}): Promise<boolean> {
  const ref = configRef(ctx.root, namespace, key);
  checkExpectedArg(options.expectedVersion);
  for (let attempt = 1; ; attempt++) {
    const s = await readState(ctx, ref, options.signal);
    checkExpected(ref, options.expectedVersion, s.currentVersion);
    if (!s.current && !s.beta) return false;
    const r = await ctx.client.txn(
      {
        compare: [compare.modRevision(ref.value, '=', s.current?.modRevision ?? 0), compare.modRevision(ref.beta, '=', s.beta?.modRevision ?? 0)],
        success: [op.delete(ref.value), op.delete(ref.beta)],
      },
      { signal: options.signal },
    );
    if (r.succeeded) return true;
    if (attempt >= MAX_ATTEMPTS) throw new CoordError('conflict', `${ref.where}: gave up after ${MAX_ATTEMPTS} attempts; the key keeps changing`);
  }
}

/** One read txn: the value, the newest history entry and the beta. */
async function readState(ctx: ConfigContext, ref: ConfigRef, signal: AbortSignal | undefined): Promise<WriteState> {
  const r = await ctx.client.txn(
    { success: [op.get(ref.value), op.get(ref.historyPrefix, { prefix: true, keysOnly: true, sort: { target: 'key', order: 'descend' }, limit: 1 }), op.get(ref.beta)] },
    { signal },
  );
  const [current] = r.responses[0].kvs!;
  const [last] = r.responses[1].kvs!;
  const lastVersion = last ? Number(last.key.slice(ref.historyPrefix.length)) || 0 : 0;
  let currentVersion = 0;
  if (current) {
    try {
      currentVersion = decodeJson(envelopeSchema, current.value, ref.where).version;
    } catch (e) {
      if (!isCoordError(e, 'validation')) throw e;
      ctx.log(`${e.message}; overwriting it as the version after v${lastVersion}`);
      currentVersion = lastVersion;
    }
  }
  return { current, currentVersion, lastVersion, beta: r.responses[2].kvs![0] };
}

function checkExpectedArg(expected: number | undefined): void {
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new CoordError('invalid-argument', `expectedVersion must be a non-negative integer, got ${expected}`);
  }
}

function checkExpected(ref: ConfigRef, expected: number | undefined, current: number): void {
  if (expected === undefined || expected === current) return;
  const now = current === 0 ? 'it does not exist' : `the current version is ${current}`;
  const want = expected === 0 ? 'expected it not to exist (expectedVersion 0)' : `expected version ${expected}`;
  throw new CoordError('conflict', `${ref.where}: ${want}, but ${now}`);
}
