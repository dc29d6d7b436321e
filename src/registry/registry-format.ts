import { CoordError } from '../core/errors.ts';
import type { RegistryFormat, RegistryFormatName } from './registry-format-spec.ts';
import { grpcGoFormat } from './registry-format-grpc-go.ts';
import { kratosFormat } from './registry-format-kratos.ts';
import { goZeroFormat } from './registry-format-go-zero.ts';

export type { RegistryFormat, RegistryFormatName } from './registry-format-spec.ts';

const formats: Record<RegistryFormatName, RegistryFormat> = {
  'grpc-go': grpcGoFormat,
  kratos: kratosFormat,
  'go-zero': goZeroFormat,
};

/** Names of the foreign formats coord knows. */
export const registryFormatNames = Object.keys(formats) as RegistryFormatName[];

/** Looks a format up by name; an unknown name is an `invalid-argument` error naming the known ones. */
export function registryFormat(name: string): RegistryFormat {
  const f = (formats as Record<string, RegistryFormat | undefined>)[name];
  if (!f || !Object.hasOwn(formats, name)) {
    throw new CoordError('invalid-argument', `unknown registry format ${JSON.stringify(name)}; known: coord, ${registryFormatNames.join(', ')}`);
  }
  return f;
}

/** Validates a `formats` option; `coord` (always published) is accepted and dropped. */
export function resolveFormats(names: readonly string[] | undefined): RegistryFormat[] {
  const out: RegistryFormat[] = [];
  for (const n of names ?? []) {
    if (n === 'coord') continue;
    const f = registryFormat(n);
    if (!out.includes(f)) out.push(f);
  }
  return out;
}
