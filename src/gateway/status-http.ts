// The one place the gateway maps gRPC status to HTTP (grpc-gateway's table, also Google's
// API design guide) and builds the error body `{ code, message, details }`: `code` is the gRPC
// code, `message` the service's message when it is a plain sentence for users (public-message.ts),
// `details` the public google.rpc details from `grpc-status-details-bin` (error-details.ts), each
// rendered as proto3 JSON `Any` (`{"@type": …, …fields}`).
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import type { JsonCodec } from './json-codec.ts';
import { sortDetails } from './error-details.ts';
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

/** A failed gRPC call as the HTTP client sees it, and what the operator's log must keep. */
export interface GrpcErrorAnswer {
  body: ErrorBody;
  /** The original message and the withheld details, when the body differs from what the service sent; undefined otherwise. */
  withheld: string | undefined;
}

/** The error body for a failed gRPC call: its public message (public-message.ts) and public details (error-details.ts). */
export function grpcErrorAnswer(codec: JsonCodec, e: grpc.ServiceError | grpc.StatusObject): GrpcErrorAnswer {
  const details = sortDetails(codec, e.metadata);
  const message = publicMessage(e.code, e.details);
  const body = { code: e.code, message, details: details.public };
  if (message === e.details && details.withheld.length === 0) return { body, withheld: undefined };
  const withheld = details.withheld.length ? `; details withheld: ${details.withheld.join(' | ')}` : '';
  return { body, withheld: `${JSON.stringify(e.details)}${withheld}` };
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

