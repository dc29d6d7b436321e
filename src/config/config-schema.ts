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

/** The shared schema of a key as a zod schema, or undefined when none was shared. */
export async function sharedSchema(ctx: ConfigContext, ref: ConfigRef, signal?: AbortSignal): Promise<z.ZodType | undefined> {
  const kv = await ctx.client.get(ref.schema, { signal });
  if (!kv) return undefined;
  try {
    return z.fromJSONSchema(JSON.parse(kv.value.toString()));
  } catch (e) {
    // A broken schema must not block every publish: say so and let values through.
    ctx.log(`${ref.where}: the shared schema at ${ref.schema} cannot be read (${(e as Error).message}); not checking against it`);
    return undefined;
  }
}

/**
 * Checks a JSON or YAML value against the key's shared schema, if there is one; a 'validation'
 * CoordError lists every failing path. Text values are not checked.
 */
export async function checkSharedSchema(ctx: ConfigContext, ref: ConfigRef, format: ConfigFormat, raw: string, signal?: AbortSignal): Promise<void> {
  if (format === 'text') return;
  const schema = await sharedSchema(ctx, ref, signal);
  if (!schema) return;
  const r = schema.safeParse(parseValue(raw, format, ref.where));
  if (!r.success) throw new CoordError('validation', `${ref.where}: invalid value (checked against the schema shared at ${ref.schema}): ${issues(r.error)}`);
}
