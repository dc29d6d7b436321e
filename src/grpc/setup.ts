// The one explicit step that plugs coord into grpc-js (nothing registers on import, as in
// grpc-js itself): the `etcd:` resolver and coord's balancing policies.
import type { Coord } from '../coord.ts';
import { setBalancerLog } from './load-balancer-base.ts';
import { setup as setupLeastRequest } from './load-balancer-least-request.ts';
import { setup as setupP2cEwma } from './load-balancer-p2c-ewma.ts';
import { setup as setupRandom } from './load-balancer-random.ts';
import { setup as setupRingHash } from './load-balancer-ring-hash.ts';
import { setup as setupWeightedRoundRobin } from './load-balancer-weighted-round-robin.ts';
import { configureEtcdResolver, setup as setupEtcdResolver } from './resolver-etcd.ts';

/** Options for `setup()`; defaults in each field's doc. */
export interface SetupOptions {
  /**
   * The Coord that `etcd:///<service>` targets read the registry through (its connection,
   * TLS, auth and namespace). Targets that name endpoints (`etcd://host:port/<service>`) open
   * their own shared connection instead. Pass `coord: undefined` to unset.
   */
  coord?: Coord;
  /** Warnings: malformed registry records, unusable endpoints, health-check trouble. Default: console.warn. */
  log?: (line: string) => void;
  /**
   * How long calls wait for instances to appear before failing with UNAVAILABLE "no instances
   * of <service>", ms; also how long a set that just became empty keeps being used. Per channel:
   * the `coord.no_instances_wait_ms` option. Default 1000.
   */
  noInstancesWaitMs?: number;
}

/**
 * Registers the `etcd:` resolver and the policies p2c_ewma, least_request, weighted_round_robin
 * (registry weights; replaces grpc-js's ORCA-based policy of that name), random and ring_hash
 * with the process's grpc-js, and sets the defaults of channels created from now on. round_robin
 * is grpc-js's own. Safe to call again (later options win). Clients must use the same
 * @grpc/grpc-js copy as coord; a second copy in node_modules has its own registry.
 */
export function setup(options: SetupOptions = {}): void {
  configureEtcdResolver({
    ...('coord' in options ? { coord: options.coord } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.noInstancesWaitMs !== undefined ? { noInstancesWaitMs: options.noInstancesWaitMs } : {}),
  });
  if (options.log) setBalancerLog(options.log);
  setupEtcdResolver();
  setupP2cEwma();
  setupLeastRequest();
  setupWeightedRoundRobin();
  setupRandom();
  setupRingHash();
}
