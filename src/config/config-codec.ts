import { CoordError } from '../core/errors.ts';
import { parseYaml, stringifyYaml } from './config-yaml.ts';

/** How a config value is written and parsed: JSON, the YAML subset of config-yaml.ts, or plain text. */
export type ConfigFormat = 'json' | 'yaml' | 'text';

export const FORMATS: readonly ConfigFormat[] = ['json', 'yaml', 'text'];

/**
 * The text to store for a published value. A string is taken as the text as published (it must
 * parse in its format); any other value is serialized (JSON pretty-printed, block YAML).
 * `serialize` forces serialization even of strings (typed handles: a `z.string()` value is data).
 * Without a format, a string is 'text' and anything else 'json'.
 */
export function encodeValue(value: unknown, format: ConfigFormat | undefined, where: string, serialize = false): { format: ConfigFormat; raw: string } {
  if (value === undefined) throw new CoordError('invalid-argument', `${where}: the value is undefined`);
  const f = format ?? (typeof value === 'string' ? 'text' : 'json');
  if (!FORMATS.includes(f)) throw new CoordError('invalid-argument', `${where}: unknown format ${JSON.stringify(f)} (json, yaml or text)`);
  if (f === 'text') {
    if (typeof value !== 'string') throw new CoordError('invalid-argument', `${where}: a text value must be a string, got ${typeof value}`);
    return { format: f, raw: value };
  }
  if (typeof value === 'string' && !serialize) {
    parseValue(value, f, where);
    return { format: f, raw: value };
  }
  let raw: string | undefined;
  try {
    raw = f === 'json' ? JSON.stringify(value, null, 2) : stringifyYaml(value);
  } catch (e) {
    throw new CoordError('invalid-argument', `${where}: cannot serialize the value as ${f}: ${(e as Error).message}`, { cause: e });
  }
  if (raw === undefined) throw new CoordError('invalid-argument', `${where}: ${typeof value} cannot be serialized as ${f}`);
  return { format: f, raw };
}

/** The value a stored text stands for; a 'validation' CoordError when it does not parse. */
export function parseValue(raw: string, format: ConfigFormat, where: string): unknown {
  if (format === 'text') return raw;
  try {
    return format === 'json' ? JSON.parse(raw) : parseYaml(raw);
  } catch (e) {
    throw new CoordError('validation', `${where}: not valid ${format === 'json' ? 'JSON' : 'YAML (of the supported subset)'}: ${(e as Error).message}`, { cause: e });
  }
}
