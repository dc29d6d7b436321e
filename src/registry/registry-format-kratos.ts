import type { ServiceInstance } from './instance.ts';
import type { RegistryFormat } from './registry-format-spec.ts';

/** Kratos' default registry namespace (contrib/registry/etcd/registry.go `New`). */
export const kratosNamespace = '/microservices';

/**
 * Kratos' etcd registry (contrib/registry/etcd/registry.go + service.go): key
 * `/microservices/<name>/<id>`, value `json.Marshal(registry.ServiceInstance)` with the JSON keys
 * id, name, version, metadata (string map), endpoints (`grpc://…`, `http://…`).
 */
export const kratosFormat: RegistryFormat = {
  name: 'kratos',
  prefix: (service) => `${kratosNamespace}/${service}/`,
  key: (instance) => `${kratosNamespace}/${instance.name}/${instance.id}`,
  value(instance) {
    // Kratos' metadata is map[string]string: numbers and booleans travel as strings.
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(instance.metadata ?? {})) metadata[k] = String(v);
    return JSON.stringify({ id: instance.id, name: instance.name, version: instance.version ?? '', metadata, endpoints: instance.endpoints });
  },
  decode(service, _key, value) {
    let v: unknown;
    try {
      v = JSON.parse(value.toString());
    } catch {
      return 'value is not JSON';
    }
    const o = v as { id?: unknown; name?: unknown; version?: unknown; metadata?: unknown; endpoints?: unknown };
    if (typeof o !== 'object' || o === null) return 'value is not an object';
    if (typeof o.id !== 'string' || typeof o.name !== 'string') return 'id and name must be strings';
    // Kratos' own GetService skips records whose name differs from the asked one; so does coord.
    if (o.name !== service) return `name ${JSON.stringify(o.name)} is not ${JSON.stringify(service)}`;
    if (!Array.isArray(o.endpoints) || !o.endpoints.every((e) => typeof e === 'string')) return 'endpoints must be an array of strings';
    const metadata: Record<string, string> = {};
    if (typeof o.metadata === 'object' && o.metadata !== null) {
      for (const [k, x] of Object.entries(o.metadata)) if (typeof x === 'string') metadata[k] = x;
    }
    const inst: ServiceInstance = { id: o.id, name: o.name, endpoints: o.endpoints as string[], metadata, status: 'serving' };
    if (typeof o.version === 'string' && o.version) inst.version = o.version;
    return inst;
  },
};
