// Service configs for coord channels: the default (p2c_ewma under grpc-js's outlier detection
// with coord's tuned limits), a builder that validates eagerly, and the rule the etcd resolver
// applies to the user's own `grpc.service_config`.
import * as grpc from '@grpc/grpc-js';
// grpc-js does not re-export its service-config validator; the pin test (setup.test.ts) fails
// loudly if this path moves.
import { validateServiceConfig, type LoadBalancingConfig, type MethodConfig, type RetryThrottling, type ServiceConfig } from '@grpc/grpc-js/build/src/service-config.js';
import { CoordError } from '../core/errors.ts';
import type { BalancerPolicy } from './balancer-policy-types.ts';

export type { BalancerPolicy, LoadBalancingConfig, MethodConfig, RetryThrottling, ServiceConfig };
/** grpc-js's outlier detection settings (service-config JSON names), without the child policy coord fills in. */
export type OutlierDetectionConfig = Omit<grpc.experimental.OutlierDetectionRawConfig, 'child_policy'>;

const seconds = (s: number) => ({ seconds: s, nanos: 0 });

/**
 * coord's outlier detection: grpc-js's algorithm, tuned for small fleets and moderate rates.
 * - Every 5 s (grpc default 10 s), an endpoint is ejected for 15 s × its ejection count (max
 *   2 min) when, over the last interval, it
 *   - failed ≥ 90 % of ≥ 20 calls while ≥ 3 endpoints had that volume (failure percentage; the
 *     grpc defaults, 85 % of 50 calls on 5 endpoints, never fire in a 3-instance service), or
 *   - fell 1.9 standard deviations below the mean success rate of ≥ 5 endpoints with ≥ 50 calls.
 * - At most 30 % of endpoints are ejected (at least one always can be). grpc's 10 % means no
 *   ejection below 10 endpoints.
 * "Failure" is any non-OK status, application errors included: that is why the failure
 * threshold stays high, and why p2c_ewma (which counts only transport-level failures) does the
 * fine-grained steering.
 */
export const OUTLIER_DETECTION_DEFAULTS: OutlierDetectionConfig = {
  interval: seconds(5),
  base_ejection_time: seconds(15),
  max_ejection_time: seconds(120),
  max_ejection_percent: 30,
  failure_percentage_ejection: { threshold: 90, enforcement_percentage: 100, minimum_hosts: 3, request_volume: 20 },
  success_rate_ejection: { stdev_factor: 1900, enforcement_percentage: 100, minimum_hosts: 5, request_volume: 50 },
};

/** `policy` (default p2c_ewma) under outlier detection (coord's defaults, merged with `outlierDetection`). */
export function loadBalancingConfig(policy: BalancerPolicy = { p2c_ewma: {} }, outlierDetection: boolean | OutlierDetectionConfig = true): LoadBalancingConfig[] {
  return underOutlierDetection(policyJson(policy), outlierDetection);
}

/** The union's `?: never` keys (one policy per entry) make it no LoadBalancingConfig to the compiler; the JSON is one. */
const policyJson = (policy: BalancerPolicy) => policy as object as LoadBalancingConfig;

/** loadBalancingConfig() for any policy JSON: a name from a raw config need not be one coord knows the type of. */
function underOutlierDetection(policy: LoadBalancingConfig, outlierDetection: boolean | OutlierDetectionConfig): LoadBalancingConfig[] {
  if (outlierDetection === false) return [policy];
  const od = outlierDetection === true ? OUTLIER_DETECTION_DEFAULTS : { ...OUTLIER_DETECTION_DEFAULTS, ...outlierDetection };
  return [{ outlier_detection: { ...od, child_policy: [policy] } }];
}

/** Options for `serviceConfig()`; defaults in each field's doc. */
export interface ServiceConfigOptions {
  /**
   * The balancing policy and its config, e.g. `{ ring_hash: { hashKey: 'x-user-id' } }`: one of
   * BalancerPolicies, so a wrong name or field does not compile. Default `{ p2c_ewma: {} }`.
   */
  policy?: BalancerPolicy;
  /** Outlier detection around the policy: true (coord's defaults), overrides, or false for none. Default true. */
  outlierDetection?: boolean | OutlierDetectionConfig;
  /** grpc `methodConfig` entries: per-method timeouts, retryPolicy, waitForReady (`methodPolicies()` builds them). Default none. */
  methodConfig?: MethodConfig[];
  /** grpc `retryThrottling` (`methodPolicies()` sets it with its retries). Default none. */
  retryThrottling?: RetryThrottling;
}

/**
 * A `grpc.service_config` channel option value. Validated now, because grpc-js drops a balancing
 * config it cannot parse (an unknown or unregistered policy, a bad field) and quietly falls back to
 * pick_first. Call after setup(), which registers coord's policies.
 *
 * ```ts
 * new EchoClient('etcd:///echo', creds, { 'grpc.service_config': serviceConfig({ policy: { ring_hash: { hashKey: 'x-user-id' } } }) });
 * ```
 */
export function serviceConfig(options: ServiceConfigOptions = {}): string {
  const raw = {
    loadBalancingConfig: loadBalancingConfig(options.policy, options.outlierDetection),
    ...(options.methodConfig ? { methodConfig: options.methodConfig } : {}),
    ...(options.retryThrottling ? { retryThrottling: options.retryThrottling } : {}),
  };
  try {
    validateServiceConfig(raw);
    // The policy on its own first: outlier_detection reports a bad child only as "no valid policy".
    grpc.experimental.parseLoadBalancingConfig(policyJson(options.policy ?? { p2c_ewma: {} }));
    for (const lb of raw.loadBalancingConfig) grpc.experimental.parseLoadBalancingConfig(lb);
  } catch (e) {
    const hint = grpc.experimental.isLoadBalancerNameRegistered('p2c_ewma') ? '' : ' (coord policies are registered by setup() from etcd-coord/grpc)';
    throw new CoordError('invalid-argument', `invalid service config: ${(e as Error).message}${hint}`, { cause: e });
  }
  return JSON.stringify(raw);
}

/**
 * What the etcd resolver hands grpc-js as the service config:
 * - no `grpc.service_config` option: coord's default (p2c_ewma + outlier detection);
 * - one with `loadBalancingConfig`: null, so grpc-js uses it as given;
 * - one with only the legacy `loadBalancingPolicy` name (which grpc-js ignores): that policy
 *   under coord's outlier detection;
 * - one without a policy (only timeouts or retries, say): it, plus coord's default policy,
 *   instead of grpc-js's pick_first.
 */
export function resolverServiceConfig(options: grpc.ChannelOptions): ServiceConfig | null {
  const user: unknown = options['grpc.service_config'];
  if (typeof user !== 'string') return validateServiceConfig({ loadBalancingConfig: loadBalancingConfig() });
  // The channel already validated this string; it would have thrown on bad JSON.
  const parsed = JSON.parse(user) as Record<string, unknown>;
  if ('loadBalancingConfig' in parsed) return null;
  const legacy = parsed.loadBalancingPolicy;
  const policy = typeof legacy === 'string' ? { [legacy.toLowerCase()]: {} } : undefined;
  return validateServiceConfig({ ...parsed, loadBalancingConfig: policy ? underOutlierDetection(policy, true) : loadBalancingConfig() });
}
