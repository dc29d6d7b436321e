// The deadline of the gRPC call behind an HTTP request: the `grpc-timeout` header (gRPC's
// format: `100m`, `5S`) or `x-request-timeout` (ms, or with a unit: `250ms`, `2s`), else the
// gateway's default; never more than its maximum.
import * as grpc from '@grpc/grpc-js';
import { GatewayHttpError } from './status-http.ts';

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

export function requestTimeoutMs(headers: Record<string, string | string[] | undefined>, defaultMs: number, maxMs: number): number {
  const grpcTimeout = headers['grpc-timeout'];
  const httpTimeout = headers['x-request-timeout'];
  let ms: number | undefined;
  if (typeof grpcTimeout === 'string') {
    const m = /^(\d{1,8})([HMSmun])$/.exec(grpcTimeout.trim());
    if (!m) throw badTimeout('grpc-timeout', grpcTimeout, 'an integer of at most 8 digits and a unit H, M, S, m, u or n (e.g. 500m)');
    ms = Number(m[1]) * GRPC_UNITS[m[2]];
  } else if (typeof httpTimeout === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(httpTimeout.trim());
    if (!m) throw badTimeout('x-request-timeout', httpTimeout, 'milliseconds, or a number with ms or s (e.g. 1500, 250ms, 2s)');
    ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  }
  if (ms === undefined) return Math.min(defaultMs, maxMs);
  if (!(ms > 0)) throw badTimeout(typeof grpcTimeout === 'string' ? 'grpc-timeout' : 'x-request-timeout', String(grpcTimeout ?? httpTimeout), 'a positive duration');
  return Math.min(ms, maxMs);
}

function badTimeout(header: string, value: string, expected: string): GatewayHttpError {
  return new GatewayHttpError(400, grpc.status.INVALID_ARGUMENT, `invalid ${header} header ${JSON.stringify(value)}: expected ${expected}`);
}
