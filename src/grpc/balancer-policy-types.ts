// The balancing policies a coord channel can name in its service config, as a union of their JSON
// shapes: a wrong policy name or field is a compile error. The policies still check their JSON at
// run time (createFromJson in each load-balancer-*.ts), for JavaScript callers and raw configs.
import type { HealthCheckConfig } from './load-balancer-base.ts';
import type { LeastRequestOptions } from './load-balancer-least-request.ts';
import type { P2cEwmaOptions } from './load-balancer-p2c-ewma.ts';
import type { RingHashOptions } from './load-balancer-ring-hash.ts';

/** The client-side health check fields every coord policy accepts; defaults in HealthCheckConfig. */
export type HealthCheckOptions = Partial<HealthCheckConfig>;

/**
 * Each policy's config, by the name it is registered under. coord's own policies are registered
 * by `setup()`; round_robin and pick_first are grpc-js's. A policy of your own (registered with
 * `grpc.experimental.registerLoadBalancerType`) is added by augmenting this interface:
 *
 * ```ts
 * declare module 'etcd-coord/grpc' {
 *   interface BalancerPolicies { my_policy: { spread?: number } }
 * }
 * ```
 */
export interface BalancerPolicies {
  /** coord's default: power of two choices over latency × load. */
  p2c_ewma: P2cEwmaOptions & HealthCheckOptions;
  /** Fewest calls in flight per unit of registry weight, of `choiceCount` random endpoints. */
  least_request: LeastRequestOptions & HealthCheckOptions;
  /** Smooth weighted round robin over the registry's `metadata.weight`. */
  weighted_round_robin: HealthCheckOptions;
  /** A uniformly random READY endpoint. */
  random: HealthCheckOptions;
  /** Consistent hashing on a request metadata key (sticky routing). */
  ring_hash: RingHashOptions & HealthCheckOptions;
  /** grpc-js's round robin (no registry weights, no coord health checks). */
  round_robin: Record<string, never>;
  /** grpc-js's default: the first address that connects. */
  pick_first: { shuffleAddressList?: boolean };
}

/** Names of the balancing policies a config can name. */
export type BalancerPolicyName = keyof BalancerPolicies;

/**
 * One balancing policy as a service config's `loadBalancingConfig` entry: exactly one key, the
 * policy's name, whose value is that policy's config, e.g. `{ ring_hash: { hashKey: 'x-user-id' } }`.
 */
export type BalancerPolicy = {
  [N in BalancerPolicyName]: { [K in N]: BalancerPolicies[N] } & { [K in Exclude<BalancerPolicyName, N>]?: never };
}[BalancerPolicyName];
