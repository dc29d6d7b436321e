// The interceptors serve() puts in front of every handler, in order from the wire inwards:
// call tracking (graceful shutdown waits for in-flight calls, then ends the rest), expired-deadline refusal,
// per-method rate limits, adaptive load shedding; then the user's interceptors. The cheap and
// certain checks come first, and a call refused by one is never seen (or counted) by the next.
import type * as grpc from '@grpc/grpc-js';
import type { LoadShedder } from '../resilience/load-shedder.ts';
import { callTrackingInterceptor, type LiveCalls } from './interceptor-server-call-tracking.ts';
import { deadlineInterceptor } from './interceptor-server-deadline.ts';
import { loadSheddingInterceptor } from './interceptor-server-load-shedding.ts';
import { rateLimitInterceptor, type RateLimits } from './interceptor-server-rate-limit.ts';
import type { ServerCounters } from './server-stats.ts';

export interface ServerInterceptorOptions {
  counters: ServerCounters;
  live: LiveCalls;
  shedder?: LoadShedder;
  rateLimits?: RateLimits;
  log: (line: string) => void;
}

/** coord's server interceptors in grpc-js order (index 0 sees incoming events first and the status last). */
export function serverInterceptors(o: ServerInterceptorOptions): grpc.ServerInterceptor[] {
  const chain = [callTrackingInterceptor(o.counters, o.live), deadlineInterceptor(o.counters)];
  if (o.rateLimits && Object.keys(o.rateLimits).length > 0) chain.push(rateLimitInterceptor(o.rateLimits, o.counters));
  if (o.shedder) chain.push(loadSheddingInterceptor(o.shedder, o.counters, o.log));
  return chain;
}
