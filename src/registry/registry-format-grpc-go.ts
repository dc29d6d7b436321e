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
