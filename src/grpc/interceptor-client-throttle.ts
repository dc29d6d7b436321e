// Adaptive throttling (resilience/adaptive-throttle.ts) as a grpc-js client interceptor. It sits
// above grpc-js's retries, so it judges whole calls: a call that succeeded on a retry counts as
// accepted, and a locally rejected call is never retried by grpc-js.
import * as grpc from '@grpc/grpc-js';
import { AdaptiveThrottle, type AdaptiveThrottleOptions } from '../resilience/adaptive-throttle.ts';
import { locallyFailedCall, observedCall } from './interceptor-client-local.ts';

/**
 * Statuses meaning the backend did not take the request: unreachable or shedding (UNAVAILABLE),
 * overloaded or rate-limited (RESOURCE_EXHAUSTED), too slow (DEADLINE_EXCEEDED), or broken
 * (INTERNAL, which coord servers also answer for a handler that threw). Every other status —
 * OK and application errors such as NOT_FOUND or INVALID_ARGUMENT — means the backend had the
 * capacity to answer, so it counts as accepted. CANCELLED is the caller giving up and counts as
 * nothing. go-zero's list, without DATA_LOSS and UNIMPLEMENTED, which say nothing about load.
 */
export const THROTTLE_FAILURE_CODES: ReadonlySet<grpc.status> = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.INTERNAL,
]);

/** Options for `adaptiveThrottleInterceptor()`; defaults in each field's doc. */
export interface ThrottleInterceptorOptions {
  /** Which final statuses count as the backend refusing the call. Default THROTTLE_FAILURE_CODES. */
  isFailure?: (code: grpc.status) => boolean;
}

/**
 * Rejects calls locally with UNAVAILABLE while the backend accepts too few. One throttle judges
 * one backend: give each target (each client or channel) its own interceptor and throttle.
 */
export function adaptiveThrottleInterceptor(throttle: AdaptiveThrottle | AdaptiveThrottleOptions = {}, options: ThrottleInterceptorOptions = {}): grpc.Interceptor {
  const t = throttle instanceof AdaptiveThrottle ? throttle : new AdaptiveThrottle(throttle);
  const isFailure = options.isFailure ?? ((code: grpc.status) => THROTTLE_FAILURE_CODES.has(code));
  // Named in rejections, so a caller sees the cause ("no instances of orders") and not only the effect.
  let lastRefusal = '';
  return (callOptions, nextCall) => {
    const ticket = t.tryAcquire();
    if (!ticket) return locallyFailedCall(grpc.status.UNAVAILABLE, `${t.rejection(callOptions.method_definition.path).message}; last refusal: ${lastRefusal}`);
    return observedCall(nextCall(callOptions), ({ code, details }) => {
      if (code === grpc.status.CANCELLED) ticket.dropped();
      else if (isFailure(code)) {
        ticket.failed();
        lastRefusal = `${grpc.status[code]} ${details}`;
      } else ticket.accepted();
    });
  };
}
