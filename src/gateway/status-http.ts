// The one place the gateway maps gRPC status to HTTP (grpc-gateway's table, also Google's
// API design guide) and builds the error body `{ code, message, details }`: `code` is the gRPC
// code, `details` the google.rpc.Status details from `grpc-status-details-bin`, each rendered as
// proto3 JSON `Any` (`{"@type": …, …fields}`) when its type is in the loaded protos.
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import type { JsonCodec } from './json-codec.ts';
import { publicMessage } from './public-message.ts';

const HTTP_STATUS: Record<number, number> = {
  [grpc.status.OK]: 200,
  [grpc.status.CANCELLED]: 499,
  [grpc.status.UNKNOWN]: 500,
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.ABORTED]: 409,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.INTERNAL]: 500,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DATA_LOSS]: 500,
};

/** The HTTP status the gateway answers for a gRPC status code (500 for unknown codes). */
export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The JSON body of a gateway error response. */
export interface ErrorBody {
  /** The gRPC status code (3 = INVALID_ARGUMENT, …). */
  code: number;
  message: string;
  details: unknown[];
}

/** An answer the gateway gives itself (bad request, auth, limits): HTTP status + gRPC code. */
export class GatewayHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: grpc.status,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayHttpError';
  }

  body(): ErrorBody {
    return { code: this.code, message: this.message, details: [] };
  }
}

/** The error body for a failed gRPC call, with its details decoded where possible. */
export function grpcErrorBody(codec: JsonCodec, e: grpc.ServiceError | grpc.StatusObject): ErrorBody {
  const details: unknown[] = [];
  const raw = e.metadata?.get('grpc-status-details-bin')[0];
  if (raw instanceof Buffer) {
    try {
      const st = codec.root.lookupType('google.rpc.Status').decode(raw) as unknown as { details?: Array<Record<string, unknown>> };
      const anyType = codec.root.lookupType('google.protobuf.Any');
      for (const d of st.details ?? []) details.push(codec.toJson(anyType, d));
    } catch {
      // Undecodable details are left out; code and message still say what happened.
    }
  }
  return { code: e.code, message: publicMessage(e.code, e.details), details };
}

/** 429 with Retry-After (whole seconds, at least 1) for a refused rate-limit key. */
export function tooManyRequests(waitMs: number, who: string): GatewayHttpError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new GatewayHttpError(429, grpc.status.RESOURCE_EXHAUSTED, `rate limit exceeded for ${who}; retry in ${seconds} s`, { 'retry-after': String(seconds) });
}

/** Everything that is not an answered gRPC call: the gateway's own refusals, bad input, Fastify's request errors. */
export function errorAnswer(err: unknown, bodyLimit: number): { status: number; body: ErrorBody; headers: Record<string, string> } {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  if (err instanceof GatewayHttpError) return { status: err.status, body: err.body(), headers: { ...json, ...err.headers } };
  if (isCoordError(err, 'invalid-argument')) return { status: 400, body: { code: grpc.status.INVALID_ARGUMENT, message: err.message, details: [] }, headers: json };
  const fe = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, body: { code: grpc.status.RESOURCE_EXHAUSTED, message: `request body is larger than the limit of ${bodyLimit} bytes`, details: [] }, headers: json };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { code: grpc.status.INVALID_ARGUMENT, message: String(fe.message), details: [] }, headers: json };
  }
  return { status: 500, body: { code: grpc.status.INTERNAL, message: 'internal gateway error', details: [] }, headers: json };
}

