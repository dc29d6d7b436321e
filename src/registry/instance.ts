/** A service instance as stored at `<ns>services/<name>/<id>` (JSON). See docs/keyspace.md. */
export interface ServiceInstance {
  id: string;
  name: string;
  version?: string;
  /** Where to reach it: `grpc://host:port`, `http://host:port`, … */
  endpoints: string[];
  /** Free-form labels: zone, weight, … */
  metadata?: Record<string, string | number | boolean>;
  /** `draining` instances stay listed but should receive no new work. Default `serving`. */
  status?: 'serving' | 'draining';
}

export function serviceKey(ns: string, name: string, id = ''): string {
  return `${ns}services/${name}/${id}`;
}

export function encodeInstance(i: ServiceInstance): string {
  return JSON.stringify({ ...i, status: i.status ?? 'serving' });
}

/** Parses a registry value; returns a reason string for a malformed one. */
export function decodeInstance(value: Buffer): ServiceInstance | string {
  let v: unknown;
  try {
    v = JSON.parse(value.toString());
  } catch {
    return 'value is not JSON';
  }
  const o = v as Partial<ServiceInstance>;
  if (typeof o !== 'object' || o === null) return 'value is not an object';
  if (typeof o.id !== 'string' || typeof o.name !== 'string') return 'id and name must be strings';
  if (!Array.isArray(o.endpoints) || !o.endpoints.every((e) => typeof e === 'string')) return 'endpoints must be an array of strings';
  if (o.status !== undefined && o.status !== 'serving' && o.status !== 'draining') return `unknown status ${String(o.status)}`;
  return { ...o, status: o.status ?? 'serving' } as ServiceInstance;
}
