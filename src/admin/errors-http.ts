import type { z } from 'zod';
import { CoordError, isCoordError, type CoordErrorCode } from '../core/errors.ts';
import type { ApiError } from './api-types.ts';

/** An error the admin API answers with a given HTTP status (auth, read-only, routing). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS: Record<CoordErrorCode, number> = {
  'invalid-argument': 400,
  validation: 400,
  'future-revision': 400,
  'not-found': 404,
  'lease-not-found': 404,
  compacted: 410,
  'history-lost': 410,
  conflict: 409,
  'lock-not-held': 409,
  'not-leader': 409,
  // etcd refused the admin server's own credentials: the caller did nothing wrong.
  'permission-denied': 502,
  unavailable: 503,
  aborted: 503,
  closed: 503,
  'lease-lost': 503,
  internal: 500,
};

/**
 * The one place the admin API turns an error into an HTTP answer. Client mistakes are 4xx with a
 * message that says what to fix; an unreachable etcd is 503 naming the endpoints; only a bug is 500.
 */
export function toHttpError(e: unknown, endpoints: readonly string[]): { status: number; body: ApiError } {
  if (e instanceof HttpError) return { status: e.status, body: { error: e.code, message: e.message } };
  if (isCoordError(e)) {
    const status = STATUS[e.code] ?? 500;
    const message = status === 503 ? `etcd is unreachable at ${endpoints.join(',')}: ${e.message}` : e.message;
    return { status, body: { error: e.code, message } };
  }
  // Fastify's own request errors (malformed JSON body, unsupported content type, body too large)
  // carry a 4xx statusCode and a message meant for the caller.
  const fe = e as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = ({ 401: 'unauthorized', 403: 'forbidden', 404: 'not-found', 405: 'method-not-allowed', 413: 'too-large', 415: 'unsupported-media-type' } as Record<number, string>)[fe.statusCode];
    return { status: fe.statusCode, body: { error: code ?? 'invalid-argument', message: String(fe.message) } };
  }
  return { status: 500, body: { error: 'internal', message: `internal error: ${(e as Error)?.message ?? String(e)}` } };
}

/** Parses `value` with a zod schema; an 'invalid-argument' CoordError lists what is wrong, naming `what`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const detail = r.error.issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : what}: ${i.message}`).join('; ');
  throw new CoordError('invalid-argument', `invalid ${what}: ${detail}`);
}
