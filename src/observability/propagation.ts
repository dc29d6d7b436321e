// W3C trace context (`traceparent`, `tracestate`) carried in gRPC metadata and HTTP headers: the
// getters and setters OpenTelemetry's TextMapPropagator needs for each carrier.
import type * as grpc from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

export const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get(md, key) {
    const values = md.get(key).filter((v): v is string => typeof v === 'string');
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

export const metadataSetter: TextMapSetter<grpc.Metadata> = {
  set: (md, key, value) => md.set(key, value),
};

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
