// W3C trace context (`traceparent`, `tracestate`) carried in gRPC metadata and HTTP headers: the
// getters and setters OpenTelemetry's TextMapPropagator needs for each carrier.
import type * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes, TextMapGetter, TextMapSetter } from '@opentelemetry/api';

/** Reads trace context from gRPC metadata (for `propagator.extract`). */
export const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get(md, key) {
    const values = md.get(key).filter((v): v is string => typeof v === 'string');
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

/** Writes trace context into gRPC metadata (for `propagator.inject`). */
export const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (md, key, value) => md.set(key, value),
};

/** Reads trace context from Node HTTP request headers (for `propagator.extract`). */
export const headersGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key.toLowerCase()],
};

/** `/pkg.Service/Method` → its service and method; a malformed path keeps the whole in `method`. */
export function splitMethodPath(path: string): { service: string; method: string } {
  const slash = path.lastIndexOf('/');
  if (slash <= 0) return { service: 'unknown', method: path };
  return { service: path.slice(path.startsWith('/') ? 1 : 0, slash), method: path.slice(slash + 1) };
}

/** What the server and client tracing interceptors derive from a method path: span name, base attributes, metric labels. */
export interface RpcMethod {
  readonly service: string;
  readonly method: string;
  /** `pkg.Service/Method`. */
  readonly spanName: string;
  /** rpc.system, rpc.service, rpc.method (copied by the SDK into each span). */
  readonly attributes: Attributes;
}

const rpcMethods = new Map<string, RpcMethod>();
/** Bounds the cache should callers make up paths; past it each call derives its own. */
const MAX_RPC_METHODS = 4096;

/** The RpcMethod of a path, derived once per path rather than on every call. */
export function rpcMethod(path: string): RpcMethod {
  let m = rpcMethods.get(path);
  if (m) return m;
  const { service, method } = splitMethodPath(path);
  m = { service, method, spanName: `${service}/${method}`, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } };
  if (rpcMethods.size < MAX_RPC_METHODS) rpcMethods.set(path, m);
  return m;
}

/** A status code's name as a metric label (`OK`, `UNAVAILABLE`), or its number when unknown. */
export function codeName(code: grpc.status): string {
  return status[code] ?? String(code);
}
