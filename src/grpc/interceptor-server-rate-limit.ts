// Per-method rate limits: one token bucket per method, refused with RESOURCE_EXHAUSTED and a
// `grpc-retry-pushback-ms` trailer saying when a token will be there (the gRPC retry design's
// server pushback, honoured by clients whose retry policy covers RESOURCE_EXHAUSTED).
import * as grpc from '@grpc/grpc-js';
import { CoordError } from '../core/errors.ts';
import { TokenBucket, type RateLimit } from '../resilience/rate-limiter.ts';
import { gateInterceptor, isInfraMethod, type Gate } from './interceptor-server-gate.ts';
import type { ServerCounters } from './server-stats.ts';

/**
 * Rate limits by method. Keys, most specific first: `/pkg.Service/Method` (or without the leading
 * slash), `/pkg.Service/*` or `pkg.Service` (every method of the service), and `*` (every
 * application method; health and reflection are only limited when named exactly). Every method
 * gets its own bucket, also under a wildcard.
 */
export type RateLimits = Readonly<Record<string, RateLimit>>;

export function rateLimitInterceptor(limits: RateLimits, counters: ServerCounters): grpc.ServerInterceptor {
  const rules = normalize(limits);
  const gates = new Map<string, Gate | null>();
  return gateInterceptor((method) => {
    let gate = gates.get(method.path);
    if (gate === undefined) {
      const limit = ruleFor(rules, method.path);
      gate = limit ? bucketGate(new TokenBucket(limit), method.path, counters) : null;
      // Bounded: grpc-js answers unknown methods itself, so paths here are served methods.
      gates.set(method.path, gate);
    }
    return gate ?? undefined;
  });
}

function bucketGate(bucket: TokenBucket, path: string, counters: ServerCounters): Gate {
  return {
    admit() {
      if (bucket.tryTake()) return undefined;
      counters.rejected(path, 'rate-limit');
      const metadata = new grpc.Metadata();
      metadata.set('grpc-retry-pushback-ms', String(bucket.waitMs()));
      return { code: grpc.status.RESOURCE_EXHAUSTED, details: `rate limit exceeded for ${path} (${bucket.rate}/s)`, metadata };
    },
  };
}

function normalize(limits: RateLimits): Map<string, RateLimit> {
  const rules = new Map<string, RateLimit>();
  for (const [key, limit] of Object.entries(limits)) {
    new TokenBucket(limit); // validates now, not on the first call
    let k = key.trim();
    if (k !== '*' && !k.startsWith('/')) k = `/${k}`;
    if (k !== '*' && !/^\/[^/]+(\/[^/]+)?$/.test(k)) throw new CoordError('invalid-argument', `rate limit key ${JSON.stringify(key)} is not '/pkg.Service/Method', 'pkg.Service', '/pkg.Service/*' or '*'`);
    if (/^\/[^/]+$/.test(k)) k = `${k}/*`;
    rules.set(k, limit);
  }
  return rules;
}

function ruleFor(rules: Map<string, RateLimit>, path: string): RateLimit | undefined {
  const exact = rules.get(path);
  if (exact) return exact;
  if (isInfraMethod(path)) return undefined;
  return rules.get(`${path.slice(0, path.lastIndexOf('/'))}/*`) ?? rules.get('*');
}
