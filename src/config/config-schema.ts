// Shared schemas: a typed handle can publish its zod schema as JSON Schema next to the key, so
// that every other writer — untyped publishes, the CLI, the dashboard's editor — is checked
// against the same rules before a value goes out, not only the services that read it.
import { z } from 'zod';
import { CoordError } from '../core/errors.ts';
import type { ConfigFormat } from './config-codec.ts';
import { parseValue } from './config-codec.ts';
import { issues, type ConfigContext, type ConfigRef } from './config-record.ts';

/** The JSON Schema a zod schema accepts as input (what a publisher must write). */
export function toSharedSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/** Writes the schema under `<ns>config-schema/<namespace>/<key>` unless the same one is there already. */
export async function shareSchema(ctx: ConfigContext, ref: ConfigRef, schema: z.ZodType, signal?: AbortSignal): Promise<void> {
  const text = JSON.stringify(toSharedSchema(schema));
  const kv = await ctx.client.get(ref.schema, { signal });
  if (kv?.value.toString() === text) return;
  await ctx.client.put(ref.schema, text, { signal });
}

/**
 * The last shared schema converted for each key, per config center. Converting JSON Schema to zod
 * costs far more than the check itself (~0.3 ms for a small object), and the key must be read on
 * every publish anyway to see a change, so the conversion is redone only when its text changed.
 */
const converted = new WeakMap<ConfigContext, Map<string, { text: string; schema?: z.ZodType; error?: string }>>();

/** The shared schema of a key as a zod schema, or undefined when none was shared. */
export async function sharedSchema(ctx: ConfigContext, ref: ConfigRef, signal?: AbortSignal): Promise<z.ZodType | undefined> {
  const kv = await ctx.client.get(ref.schema, { signal });
  if (!kv) return undefined;
  const text = kv.value.toString();
  let perKey = converted.get(ctx);
  if (!perKey) converted.set(ctx, (perKey = new Map()));
  let c = perKey.get(ref.schema);
  if (c?.text !== text) {
    try {
      c = { text, schema: z.fromJSONSchema(JSON.parse(text)) };
    } catch (e) {
      c = { text, error: (e as Error).message };
    }
    perKey.set(ref.schema, c);
  }
  // A broken schema must not block every publish: say so (each time) and let values through.
  if (c.error !== undefined) ctx.log(`${ref.where}: the shared schema at ${ref.schema} cannot be read (${c.error}); not checking against it`);
  return c.schema;
}

/**
 * Checks a value against the key's shared schema, if there is one; a 'validation' CoordError lists
 * every failing path. A text value is checked as the string it is, because that is what every
 * subscriber of the key then reads: text where the schema wants an object is refused here rather
 * than logged as invalid by each typed subscriber.
 */
export async function checkSharedSchema(ctx: ConfigContext, ref: ConfigRef, format: ConfigFormat, raw: string, signal?: AbortSignal): Promise<void> {
  const schema = await sharedSchema(ctx, ref, signal);
  if (!schema) return;
  const r = schema.safeParse(parseValue(raw, format, ref.where));
  if (!r.success) {
    const hint = format === 'text' ? ' (the value was given as text; JSON or YAML needs its format)' : '';
    throw new CoordError('validation', `${ref.where}: invalid value (checked against the schema shared at ${ref.schema}): ${issues(r.error)}${hint}`);
  }
}
