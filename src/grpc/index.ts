// etcd-coord/grpc: the etcd:/// resolver and coord's balancers for grpc-js clients, client
// resilience (deadline propagation, adaptive throttling, retry policies) and serve(), a grpc-js
// Server with registry, health, reflection, load shedding and graceful shutdown.

// Client: resolver + balancers (call setup() once per process).
export { setup, type SetupOptions } from './setup.ts';
export { client, type ClientOptions } from './client.ts';
export {
  serviceConfig,
  loadBalancingConfig,
  OUTLIER_DETECTION_DEFAULTS,
  type ServiceConfigOptions,
  type LoadBalancingConfig,
  type MethodConfig,
  type RetryThrottling,
  type OutlierDetectionConfig,
} from './service-config.ts';
export type { BalancerPolicies, BalancerPolicy, BalancerPolicyName, HealthCheckOptions } from './balancer-policy-types.ts';
export { NO_INSTANCES_WAIT_OPTION, sharedEtcdConnections } from './resolver-etcd.ts';
export { P2C_EWMA, type P2cEwmaOptions } from './load-balancer-p2c-ewma.ts';
export { LEAST_REQUEST, type LeastRequestOptions } from './load-balancer-least-request.ts';
export { WEIGHTED_ROUND_ROBIN } from './load-balancer-weighted-round-robin.ts';
export { RANDOM } from './load-balancer-random.ts';
export { RING_HASH, type RingHashOptions } from './load-balancer-ring-hash.ts';
export type { HealthCheckConfig } from './load-balancer-base.ts';
export { INSTANCES_ATTRIBUTE, type InstanceInfo } from './load-balancer-attributes.ts';

// Client resilience.
export {
  clientInterceptors,
  type ClientInterceptorsOptions,
} from './client-interceptors.ts';
export { deadlinePropagationInterceptor, type DeadlinePropagationOptions } from './interceptor-client-deadline.ts';
export { adaptiveThrottleInterceptor, THROTTLE_FAILURE_CODES, type ThrottleInterceptorOptions } from './interceptor-client-throttle.ts';
export {
  bindCallContext,
  currentCallContext,
  detachCallContext,
  runWithCallContext,
  type CallContext,
} from './call-context.ts';
export { AdaptiveThrottle, type AdaptiveThrottleOptions, type AdaptiveThrottleStats } from '../resilience/adaptive-throttle.ts';
export {
  methodPolicies,
  withMethodConfig,
  DEFAULT_RETRY_BUDGET,
  type MethodPolicy,
  type MethodPolicies,
  type RetryOptions,
  type RetryBudget,
} from '../resilience/retry-policy.ts';

// Server.
export { serve } from './serve.ts';
export { service } from './service-entry.ts';
export type { ServeOptions } from './serve-options.ts';
export type { ServiceClientConstructor, ServiceEntries, ServiceEntry, ServiceHandlers, ServiceSource } from './service-types.ts';
export type { CoordServer, CloseOptions } from './server-handle.ts';
export type { ServerStats, RejectEvent, RejectReason } from './server-stats.ts';
export type { HealthStatus } from './server-health.ts';
export type { ReflectionOptions } from './server-reflection.ts';
export type { RateLimits } from './interceptor-server-rate-limit.ts';
export { LoadShedder, Admission, type LoadShedderOptions, type LoadShedderStats } from '../resilience/load-shedder.ts';
export { TokenBucket, type RateLimit } from '../resilience/rate-limiter.ts';
export type { LoadSource } from '../resilience/load-shedder-sampler.ts';
export type { MethodConfigFragment } from '../resilience/retry-policy.ts';
export type { ThrottleTicket } from '../resilience/adaptive-throttle.ts';
