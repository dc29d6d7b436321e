// weighted_round_robin by registry weight (`metadata.weight`), with nginx's smooth weighted
// round robin: weights 5,1,1 give a a b a c a a rather than a a a a a b c, so no endpoint gets a
// burst. grpc-js ships an ORCA-driven policy under the same name (weights reported by backends);
// setup() replaces it for the process, since coord's weights come from the registry.
import * as grpc from '@grpc/grpc-js';
import { EndpointBalancer, healthConfigJson, parseHealthConfig, pickChild, type BalancerChild, type CoordLbConfig, type HealthCheckConfig } from './load-balancer-base.ts';

/** Name of the weighted round-robin balancer in a service config's `loadBalancingConfig` (registered by `setup()`). */
export const WEIGHTED_ROUND_ROBIN = 'weighted_round_robin';

/** Longest random warm-up, in picks: clients that start together do not march in step. */
const MAX_WARMUP = 1000;

export class WeightedRoundRobinConfig implements CoordLbConfig {
  constructor(readonly health: HealthCheckConfig) {}

  getLoadBalancerName(): string {
    return WEIGHTED_ROUND_ROBIN;
  }

  toJsonObject(): object {
    return { [WEIGHTED_ROUND_ROBIN]: healthConfigJson(this.health) };
  }

  /** Fields of grpc-js's ORCA policy (blackout_period, …) are accepted and ignored. */
  static createFromJson(obj: Record<string, unknown> = {}): WeightedRoundRobinConfig {
    return new WeightedRoundRobinConfig(parseHealthConfig(WEIGHTED_ROUND_ROBIN, obj));
  }
}

export class SmoothWeightedPicker implements grpc.experimental.Picker {
  private readonly current: Float64Array;
  private readonly weights: Float64Array;
  private readonly total: number;

  constructor(private readonly ready: BalancerChild[]) {
    this.weights = Float64Array.from(ready, (c) => c.info.weight);
    this.current = new Float64Array(ready.length);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    const warmup = Math.floor(Math.random() * Math.min(MAX_WARMUP, Math.ceil(this.total)));
    for (let i = 0; i < warmup; i++) this.next();
  }

  /** nginx: every endpoint gains its weight; the richest is chosen and pays the total. */
  next(): number {
    const { current, weights } = this;
    let best = 0;
    for (let i = 0; i < current.length; i++) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= this.total;
    return best;
  }

  pick(args: grpc.experimental.PickArgs): grpc.experimental.PickResult {
    return pickChild(this.ready[this.next()], args);
  }
}

export class WeightedRoundRobinLoadBalancer extends EndpointBalancer<WeightedRoundRobinConfig> {
  getTypeName(): string {
    return WEIGHTED_ROUND_ROBIN;
  }

  protected isConfig(c: grpc.experimental.TypedLoadBalancingConfig): c is WeightedRoundRobinConfig {
    return c instanceof WeightedRoundRobinConfig;
  }

  protected createPicker(ready: BalancerChild[]): grpc.experimental.Picker {
    return new SmoothWeightedPicker(ready);
  }
}

export function setup(): void {
  grpc.experimental.registerLoadBalancerType(WEIGHTED_ROUND_ROBIN, WeightedRoundRobinLoadBalancer, WeightedRoundRobinConfig);
}
