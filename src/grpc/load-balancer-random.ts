// random: every READY endpoint equally likely (kratos' random selector). No state and no
// coordination between clients, at the price of more variance than round robin.
import * as grpc from '@grpc/grpc-js';
import { EndpointBalancer, healthConfigJson, parseHealthConfig, pickChild, type BalancerChild, type CoordLbConfig, type HealthCheckConfig } from './load-balancer-base.ts';

/** Name of the random balancer in a service config's `loadBalancingConfig` (registered by `setup()`). */
export const RANDOM = 'random';

export class RandomConfig implements CoordLbConfig {
  constructor(readonly health: HealthCheckConfig) {}

  getLoadBalancerName(): string {
    return RANDOM;
  }

  toJsonObject(): object {
    return { [RANDOM]: healthConfigJson(this.health) };
  }

  static createFromJson(obj: Record<string, unknown> = {}): RandomConfig {
    return new RandomConfig(parseHealthConfig(RANDOM, obj));
  }
}

class RandomPicker implements grpc.experimental.Picker {
  constructor(private readonly ready: BalancerChild[]) {}

  pick(args: grpc.experimental.PickArgs): grpc.experimental.PickResult {
    return pickChild(this.ready[Math.floor(Math.random() * this.ready.length)], args);
  }
}

export class RandomLoadBalancer extends EndpointBalancer<RandomConfig> {
  getTypeName(): string {
    return RANDOM;
  }

  protected isConfig(c: grpc.experimental.TypedLoadBalancingConfig): c is RandomConfig {
    return c instanceof RandomConfig;
  }

  protected createPicker(ready: BalancerChild[]): grpc.experimental.Picker {
    return new RandomPicker(ready);
  }
}

export function setup(): void {
  grpc.experimental.registerLoadBalancerType(RANDOM, RandomLoadBalancer, RandomConfig);
}
