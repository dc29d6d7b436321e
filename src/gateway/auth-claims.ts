// Verified claims travel from the gateway to services as gRPC metadata; services read them with
// gatewayClaims() or require them with the requireClaims() server interceptor. The gateway drops
// any such metadata a client sends, so only the gateway can set it — services must therefore be
// reachable only through the gateway (or over mTLS from it) for these to mean anything.
import * as grpc from '@grpc/grpc-js';
import { isInfraMethod } from '../grpc/interceptor-server-gate.ts';

/** The gRPC metadata keys the gateway sets on calls it forwards, from the verified token (clients cannot set them). */
export const CLAIMS_METADATA = {
  subject: 'x-coord-sub',
  scopes: 'x-coord-scopes',
  claims: 'x-coord-claims',
} as const;

/** Metadata keys with this prefix are the gateway's: stripped from what clients send. */
export const RESERVED_METADATA_PREFIX = 'x-coord-';

/** The caller the gateway verified, as a service reads it with `gatewayClaims()`. */
export interface GatewayClaims {
  subject: string;
  scopes: string[];
  /** Every claim of the verified token. */
  claims: Record<string, unknown>;
}

/** The claims the gateway forwarded with a call, or undefined for a call without them. */
export function gatewayClaims(metadata: grpc.Metadata): GatewayClaims | undefined {
  const raw = metadata.get(CLAIMS_METADATA.claims)[0];
  if (typeof raw !== 'string') return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const sub = metadata.get(CLAIMS_METADATA.subject)[0];
  const scopes = metadata.get(CLAIMS_METADATA.scopes)[0];
  return {
    subject: typeof sub === 'string' ? sub : '',
    scopes: typeof scopes === 'string' ? scopes.split(' ').filter(Boolean) : [],
    claims,
  };
}

/** Options for the `requireClaims()` server interceptor; defaults in each field's doc. */
export interface RequireClaimsOptions {
  /** Scopes every call must carry (all of them). Default none: any verified caller. */
  scopes?: string[];
  /** Methods to leave alone, by full path. Default: health and reflection. */
  skip?: (path: string) => boolean;
}

/**
 * A server interceptor (for serve()'s `interceptors`) refusing calls that did not come through
 * the gateway with verified claims (UNAUTHENTICATED) or lack a required scope (PERMISSION_DENIED).
 */
export function requireClaims(options: RequireClaimsOptions = {}): grpc.ServerInterceptor {
  const required = options.scopes ?? [];
  const skip = options.skip ?? isInfraMethod;
  return (method, call) => {
    if (skip(method.path)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const claims = gatewayClaims(metadata);
            if (!claims) {
              call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: 'this method requires a caller authenticated by the gateway' });
              return;
            }
            const missing = required.filter((s) => !claims.scopes.includes(s));
            if (missing.length > 0) {
              call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: `this method requires scope ${missing.join(' ')}` });
              return;
            }
            nextMetadata(metadata);
          },
        });
      },
    });
  };
}
