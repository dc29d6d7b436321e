// coord's client interceptors in their one sensible order, for grpc-js's `interceptors` option.
// Retries and per-method timeouts are not here: grpc-js implements them from the service config
// (resilience/retry-policy.ts builds that part).
import type * as grpc from '@grpc/grpc-js';
import { AdaptiveThrottle, type AdaptiveThrottleOptions } from '../resilience/adaptive-throttle.ts';
import { deadlinePropagationInterceptor, type DeadlinePropagationOptions } from './interceptor-client-deadline.ts';
import { adaptiveThrottleInterceptor, type ThrottleInterceptorOptions } from './interceptor-client-throttle.ts';

/** Options for `clientInterceptors()`; defaults in each field's doc. */
export interface ClientInterceptorsOptions {
  /** Deadline and cancellation propagation from the incoming call being handled; false for none. Default on, margin 5 ms. */
  deadline?: DeadlinePropagationOptions | false;
  /**
   * Adaptive throttling for this client's target: a throttle you keep (to read its stats), its
   * options, or false for none. Default a new AdaptiveThrottle (K = 2, 5 s window).
   */
  throttle?: AdaptiveThrottle | AdaptiveThrottleOptions | false;
  /** Which statuses the throttle counts as refusals. */
  throttleClassifier?: ThrottleInterceptorOptions['isFailure'];
}

/**
 * Interceptors for one client (one target):
 *
 * ```ts
 * const throttle = new AdaptiveThrottle();
 * const orders = new OrdersClient('etcd:///orders', creds, {
 *   interceptors: clientInterceptors({ throttle }),
 *   'grpc.service_config': serviceConfig({ ...methodPolicies({ 'shop.Orders': { timeoutMs: 2000, retry: { maxAttempts: 3 } } }) }),
 * });
 * ```
 *
 * Deadline propagation runs first, so a call with no time left is refused before the throttle
 * counts it (it says nothing about the backend). Interceptors passed in a call's own options
 * replace these for that call (grpc-js's rule).
 */
export function clientInterceptors(options: ClientInterceptorsOptions = {}): grpc.Interceptor[] {
  const interceptors: grpc.Interceptor[] = [];
  if (options.deadline !== false) interceptors.push(deadlinePropagationInterceptor(options.deadline));
  if (options.throttle !== false) interceptors.push(adaptiveThrottleInterceptor(options.throttle ?? new AdaptiveThrottle(), { isFailure: options.throttleClassifier }));
  return interceptors;
}
