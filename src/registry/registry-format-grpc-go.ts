import { CoordError } from '../core/errors.ts';
import type { ServiceInstance } from './instance.ts';
import { hostPort } from './registry-format-address.ts';
import type { RegistryFormat } from './registry-format-spec.ts';

// etcd's naming/endpoints records, the registry grpc-go's etcd resolver (`etcd:///<target>`) reads:
// key `<target>/<host:port>`, value the JSON `endpoints.Manager` writes for an internal.Update
// (go.etcd.io/etcd/clientv3/naming/endpoints/endpoints_impl.go, internal/update.go):
// `{"Op":0,"Addr":"<host:port>","Metadata":<any JSON, null when unset>}` — Op 0 is Add; the
// manager deletes the key for a Delete, so a stored record is always an Add.

/** One endpoint as grpc-go's etcd registry holds it. */
export interface GrpcGoEndpoint {
  addr: string;
  metadata: unknown;
}

/** The key for `addr` under `target`, as endpoints.Manager builds it. */
export function grpcGoKey(target: string, addr: string): string {
  return `${target}/${addr}`;
}

/** The exact bytes endpoints.Manager writes for an Add of `addr` (Go's field order, no spaces). */
export function encodeGrpcGo(addr: string, metadata: unknown = null): string {
  return JSON.stringify({ Op: 0, Addr: addr, Metadata: metadata ?? null });
}

/** The endpoint a stored record describes, or a sentence saying why it is not one. */
export function decodeGrpcGo(value: Buffer | string): GrpcGoEndpoint | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  const u = parsed as { Op?: unknown; Addr?: unknown; Metadata?: unknown };
  if (typeof u !== 'object' || u === null) return 'not a JSON object';
  if (u.Op !== undefined && u.Op !== 0) return `Op ${String(u.Op)} is not an Add`;
  if (typeof u.Addr !== 'string' || u.Addr === '') return 'no Addr';
  return { addr: u.Addr, metadata: u.Metadata ?? null };
}

/**
 * The grpc-go format for register()/discover(): the target is the service name. coord writes
 * `Metadata: null`, as Go's own `endpoints.Endpoint{Addr: …}` does, because etcd's resolver hands
 * Metadata to grpc-go as `resolver.Address.Metadata` and a JSON object there (a Go map) crashes
 * the Go client: grpc-go 1.33's round_robin keys a map by Address ("hash of unhashable type
 * map[string]interface {}", seen with etcd 3.4.23), later grpc-go compares Addresses with ==
 * (etcd-io/etcd#19700, "comparing uncomparable type"). Reading, an object Metadata a Go publisher
 * wrote is still mapped to id, version and metadata.
 */
export const grpcGoFormat: RegistryFormat = {
  name: 'grpc-go',
  prefix: (service) => `${service}/`,
  key: (instance) => grpcGoKey(instance.name, requireAddr(instance)),
  value: (instance) => encodeGrpcGo(requireAddr(instance)),
  decode(service, key, value) {
    const ep = decodeGrpcGo(value);
    if (typeof ep === 'string') return ep;
    const md = typeof ep.metadata === 'object' && ep.metadata !== null && !Array.isArray(ep.metadata) ? (ep.metadata as Record<string, unknown>) : {};
    const metadata: NonNullable<ServiceInstance['metadata']> = {};
    for (const [k, x] of Object.entries(md)) {
      if (k !== 'id' && k !== 'version' && (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) metadata[k] = x;
    }
    const inst: ServiceInstance = { id: typeof md.id === 'string' ? md.id : key.slice(key.lastIndexOf('/') + 1), name: service, endpoints: [`grpc://${ep.addr}`], metadata, status: 'serving' };
    if (typeof md.version === 'string') inst.version = md.version;
    return inst;
  },
};

function requireAddr(instance: ServiceInstance): string {
  const a = hostPort(instance, 'grpc');
  if (!a) throw new CoordError('invalid-argument', `instance ${instance.name}/${instance.id} has no endpoint to publish in grpc-go format`);
  return a;
}
