// least_request: of `choiceCount` endpoints drawn at random, the one with the fewest calls in
// flight per unit of registry weight wins (Envoy's LEAST_REQUEST with its P2C default). Unlike
// p2c_ewma it ignores latency, which suits long or uneven calls where latency says little.
import * as grpc from '@grpc/grpc-js';
import { EndpointBalancer, healthConfigJson, parseHealthConfig, pickTracked, type BalancerChild, type CoordLbConfig, type HealthCheckConfig } from './load-balancer-base.ts';
import { clock } from './picker-load.ts';

type PickArgs = grpc.experimental.PickArgs;
type PickResult = grpc.experimental.PickResult;

/** Name of the least-request balancer in a service config's `loadBalancingConfig` (registered by `setup()`). */
export const LEAST_REQUEST = 'least_request';

/** `{ least_request: { … } }` fields, all optional. */
export interface LeastRequestOptions {
  /** Distinct endpoints drawn per pick, 2–10. Default 2. */
  choiceCount?: number;
}

export class LeastRequestConfig implements CoordLbConfig {
  constructor(
    readonly choiceCount: number,
    readonly health: HealthCheckConfig,
  ) {}

  getLoadBalancerName(): string {
    return LEAST_REQUEST;
  }

  toJsonObject(): object {
    return { [LEAST_REQUEST]: { choiceCount: this.choiceCount, ...healthConfigJson(this.health) } };
  }

  static createFromJson(obj: Record<string, unknown> = {}): LeastRequestConfig {
    const n = obj.choiceCount ?? 2;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > 10) throw new Error(`${LEAST_REQUEST}: choiceCount must be an integer from 2 to 10`);
    return new LeastRequestConfig(n, parseHealthConfig(LEAST_REQUEST, obj));
  }
}

class LeastRequestPicker implements grpc.experimental.Picker {
  constructor(
    private readonly ready: BalancerChild[],
    private readonly choiceCount: number,
  ) {}

  pick(args: PickArgs): PickResult {
    const ready = this.ready;
    let best = ready[0];
    let bestScore = Infinity;
    // Distinct candidates: drawn with replacement, a busy endpoint among 3 would still get a
    // ninth of all calls (both draws landing on it).
    const draws = Math.min(this.choiceCount, ready.length);
    const drawn: number[] = [];
    const now = clock.now();
    while (drawn.length < draws) {
      const i = draws === ready.length ? drawn.length : Math.floor(Math.random() * ready.length);
      if (drawn.includes(i)) continue;
      drawn.push(i);
      const c = ready[i];
      const score = (c.load.load(now) + 1) / c.info.weight;
      if (score < bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return pickTracked(best, args, now);
  }
}

export class LeastRequestLoadBalancer extends EndpointBalancer<LeastRequestConfig> {
  getTypeName(): string {
    return LEAST_REQUEST;
  }

  protected isConfig(c: grpc.experimental.TypedLoadBalancingConfig): c is LeastRequestConfig {
    return c instanceof LeastRequestConfig;
  }

  protected createPicker(ready: BalancerChild[]): grpc.experimental.Picker {
    return new LeastRequestPicker(ready, this.config!.choiceCount);
  }
}

export function setup(): void {
  grpc.experimental.registerLoadBalancerType(LEAST_REQUEST, LeastRequestLoadBalancer, LeastRequestConfig);
}
