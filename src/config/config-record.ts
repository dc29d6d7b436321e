import { z } from 'zod';
import { CoordError } from '../core/errors.ts';
import type { EtcdClient, KeyValue } from '../client/etcd-client.ts';
import { FORMATS, parseValue, type ConfigFormat } from './config-codec.ts';

/** What every config operation needs: the client, the client namespace (`<ns>`), a log, open watches. */
export interface ConfigContext {
  readonly client: EtcdClient;
  /** The client namespace, ending in '/', e.g. `/coord/`. */
  readonly root: string;
  readonly log: (line: string) => void;
  /** Watches to close with the config center. */
  readonly open: Set<{ close(): void }>;
}

/** One published version of a config key, as read back. */
export interface ConfigValue<T = unknown> {
  /** The value parsed from `raw` in its format (and validated, for typed handles). */
  value: T;
  /** The text exactly as published. */
  raw: string;
  format: ConfigFormat;
  /** Per-key counter kept by coord: 1 for the first publish, +1 for each publish, rollback or promote. */
  version: number;
  /** etcd revision of the write that published it. */
  revision: number;
  author: string;
  message: string;
  /** ISO 8601 time of the publish (the publisher's clock). */
  publishedAt: string;
  /** True when this is a gray-release value served to a matching subscriber; `version` is then the stable version it was published over. */
  beta?: boolean;
}

/** The stored record of a version (`<ns>config/…` and `<ns>config-history/…`). */
export const envelopeSchema = z.object({
  format: z.enum(FORMATS as [ConfigFormat, ...ConfigFormat[]]),
  value: z.string(),
  version: z.number().int().nonnegative(),
  author: z.string(),
  message: z.string(),
  publishedAt: z.string(),
});
export type ConfigEnvelope = z.infer<typeof envelopeSchema>;

const HISTORY_DIGITS = 10;

/** The keys of one config entry, after checking its names. */
export interface ConfigRef {
  /** `namespace/key`, for messages. */
  readonly where: string;
  readonly value: string;
  readonly beta: string;
  /** Where a typed handle shares its schema (JSON Schema), for other writers to check against. */
  readonly schema: string;
  readonly historyPrefix: string;
  history(version: number): string;
}

export function configRef(root: string, namespace: string, key: string): ConfigRef {
  checkName('namespace', namespace);
  checkName('key', key);
  const historyPrefix = `${root}config-history/${namespace}/${key}/`;
  return {
    where: `config ${namespace}/${key}`,
    value: `${root}config/${namespace}/${key}`,
    beta: `${root}config-beta/${namespace}/${key}`,
    schema: `${root}config-schema/${namespace}/${key}`,
    historyPrefix,
    history: (version) => historyPrefix + String(version).padStart(HISTORY_DIGITS, '0'),
  };
}

export function checkName(what: string, name: string): string {
  if (typeof name !== 'string' || !name || /[/\0]/.test(name)) {
    throw new CoordError('invalid-argument', `invalid config ${what} ${JSON.stringify(name)}: must be non-empty, without '/'`);
  }
  return name;
}

/** Parses a stored JSON record with `schema`; a 'validation' CoordError names what is wrong. */
export function decodeJson<S extends z.ZodType>(schema: S, bytes: Buffer, what: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString());
  } catch {
    throw new CoordError('validation', `${what}: not a coord config record (not JSON); write config through coord`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new CoordError('validation', `${what}: not a coord config record (${issues(r.error)}); write config through coord`);
  return r.data;
}

/** The version stored at `kv` (the current value or a history entry), parsed in its format. */
export function decodeVersion(kv: KeyValue, where: string): ConfigValue {
  const e = decodeJson(envelopeSchema, kv.value, `${where} at revision ${kv.modRevision}`);
  const value = parseValue(e.value, e.format, `${where} v${e.version}`);
  return { value, raw: e.value, format: e.format, version: e.version, revision: kv.modRevision, author: e.author, message: e.message, publishedAt: e.publishedAt };
}

/** Zod issues as `path: message; …`, with `(root)` for the value itself. */
export function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`).join('; ');
}
