// What travels with each gRPC call: forwarded headers, `grpc-metadata-*` headers, the request id,
// the client address and the verified claims; and the backend's response metadata on the way back.
import * as grpc from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CLAIMS_METADATA, RESERVED_METADATA_PREFIX } from './auth-claims.ts';
import type { VerifiedToken } from './auth-jwt.ts';
import { GatewayHttpError } from './status-http.ts';

// Metadata keys a client must not set through `grpc-metadata-*`: HTTP/2 and gRPC protocol headers.
const PROTOCOL_KEYS = new Set(['content-type', 'te', 'user-agent', 'host', 'connection', 'authority']);

export function requestMetadata(req: FastifyRequest, token: VerifiedToken | undefined, forward: readonly string[]): grpc.Metadata {
  const md = new grpc.Metadata();
  const headers = req.headers;
  for (const name of forward) {
    const v = headers[name];
    if (typeof v === 'string' && !name.startsWith(RESERVED_METADATA_PREFIX)) md.set(name, v);
  }
  for (const name in headers) {
    if (!name.startsWith('grpc-metadata-')) continue;
    const key = name.slice('grpc-metadata-'.length);
    const v = headers[name];
    // Only the gateway may set claims metadata; a client sending it is ignored.
    if (!key || key.startsWith(RESERVED_METADATA_PREFIX) || key.startsWith('grpc-') || PROTOCOL_KEYS.has(key) || typeof v !== 'string') continue;
    try {
      if (key.endsWith('-bin')) md.set(key, Buffer.from(v, 'base64'));
      else md.set(key, v);
    } catch {
      throw new GatewayHttpError(400, grpc.status.INVALID_ARGUMENT, `header ${name} cannot be sent as gRPC metadata`);
    }
  }
  // Set last, so nothing a client sends replaces them.
  md.set('x-request-id', req.id);
  md.set('x-forwarded-for', req.ip);
  if (token) {
    md.set(CLAIMS_METADATA.subject, token.subject);
    md.set(CLAIMS_METADATA.scopes, token.scopes.join(' '));
    md.set(CLAIMS_METADATA.claims, JSON.stringify(token.claims));
  }
  return md;
}

/** The backend's response headers, as `grpc-metadata-<key>` HTTP headers (grpc-gateway's convention); binary ones are left out. */
export function forwardResponseMetadata(reply: FastifyReply, md: grpc.Metadata): void {
  const map = md.getMap();
  for (const key in map) {
    const v = map[key];
    if (typeof v === 'string' && !key.startsWith('grpc-')) void reply.header(`grpc-metadata-${key}`, v);
  }
}


/** gRPC trailers as `Grpc-Trailer-<key>` headers (grpc-gateway's convention); grpc-* and binary ones stay behind. */
export function forwardTrailers(reply: FastifyReply, md: grpc.Metadata | undefined): void {
  if (!md) return;
  const map = md.getMap();
  for (const key in map) {
    const v = map[key];
    if (typeof v === 'string' && !key.startsWith('grpc-')) void reply.header(`grpc-trailer-${key}`, v);
  }
}
