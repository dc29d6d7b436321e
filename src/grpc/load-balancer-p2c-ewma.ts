// p2c_ewma, coord's default policy: power of two choices over a latency × load cost (go-zero's
// p2c, kratos' p2c/ewma and Finagle's PeakEwma are the anchors). Two random READY endpoints are
// compared and the cheaper one wins, so a slow or overloaded endpoint loses almost every
// comparison within a few calls, while randomness keeps clients from herding onto one endpoint.
import * as grpc from '@grpc/grpc-js';
import { EndpointBalancer, healthConfigJson, parseHealthConfig, pickTracked, positiveNumber, type BalancerChild, type CoordLbConfig, type HealthCheckConfig } from './load-balancer-base.ts';
import { clock } from './picker-load.ts';

type PickArgs = grpc.experimental.PickArgs;
type PickResult = grpc.experimental.PickResult;
type TypedLoadBalancingConfig = grpc.experimental.TypedLoadBalancingConfig;

export const P2C_EWMA = 'p2c_ewma';

/** `{ p2c_ewma: { … } }` fields, all optional. */
export interface P2cEwmaOptions {
  /** Time constant of the latency and success EWMAs, ms. Default 1000. */
  decayMs?: number;
  /**
   * An endpoint that lost every comparison for this long, and has nothing in flight, is picked
   * once anyway, so a recovered endpoint gets the sample that clears its record. Doubled for
   * each failure in a row (up to 8×), so an endpoint that keeps failing costs fewer calls.
   * Default 1000.
   */
  forcePickMs?: number;
  /** Latency assumed for an endpoint with no completed call yet, ms. Default 1000. */
  penaltyMs?: number;
}

/** Below this success EWMA an endpoint loses to any healthier one, and is avoided as a candidate. */
const HEALTHY_SUCCESS = 0.5;
/** Cap on the force-pick backoff: 2^3 × forcePickMs. */
const MAX_PROBE_DOUBLINGS = 3;
/** Tries to draw two healthy candidates before comparing whatever was drawn (go-zero: 3). */
const DRAWS = 3;

export class P2cEwmaConfig implements CoordLbConfig {
  constructor(
    readonly options: Required<P2cEwmaOptions>,
    readonly health: HealthCheckConfig,
  ) {}

  getLoadBalancerName(): string {
    return P2C_EWMA;
  }

  toJsonObject(): object {
    return { [P2C_EWMA]: { ...this.options, ...healthConfigJson(this.health) } };
  }

  static createFromJson(obj: Record<string, unknown> = {}): P2cEwmaConfig {
    return new P2cEwmaConfig(
      {
        decayMs: positiveNumber(P2C_EWMA, obj, 'decayMs', 1000),
        forcePickMs: positiveNumber(P2C_EWMA, obj, 'forcePickMs', 1000),
        penaltyMs: positiveNumber(P2C_EWMA, obj, 'penaltyMs', 1000),
      },
      parseHealthConfig(P2C_EWMA, obj),
    );
  }
}

/**
 * cost = latency × (calls in flight + 1) / success rate / registry weight, where latency is the
 * peak EWMA or, when most in-flight calls are already older than it, their mean age (an endpoint
 * that just stalled looks slow before any call returns). Lower is better; it decides between two
 * endpoints only when both are healthy or both are not.
 */
function cost(c: BalancerChild, now: number, penaltyMs: number): number {
  const l = c.load;
  return (Math.max(l.latency(now, penaltyMs), 0.001) * (l.load(now) + 1)) / Math.max(l.success, 0.01) / c.info.weight;
}

export class P2cEwmaPicker implements grpc.experimental.Picker {
  constructor(
    private readonly ready: BalancerChild[],
    private readonly options: Required<P2cEwmaOptions>,
  ) {}

  pick(args: PickArgs): PickResult {
    const ready = this.ready;
    const now = clock.now();
    if (ready.length === 1) return pickTracked(ready[0], args, now);
    let a = ready[0];
    let b = ready[1];
    for (let i = 0; i < DRAWS; i++) {
      const x = Math.floor(Math.random() * ready.length);
      let y = Math.floor(Math.random() * (ready.length - 1));
      if (y >= x) y++;
      a = ready[x];
      b = ready[y];
      if (a.load.success > HEALTHY_SUCCESS && b.load.success > HEALTHY_SUCCESS) break;
    }
    const { penaltyMs, forcePickMs } = this.options;
    const aHealthy = a.load.success > HEALTHY_SUCCESS;
    // Health first: an endpoint that fails fast would otherwise look cheap.
    const aWins = aHealthy !== b.load.success > HEALTHY_SUCCESS ? aHealthy : cost(a, now, penaltyMs) <= cost(b, now, penaltyMs);
    const loser = aWins ? b : a;
    // Calls still in flight will refresh the loser's record by themselves; don't add one.
    const probeAfter = forcePickMs * 2 ** Math.min(loser.load.failStreak, MAX_PROBE_DOUBLINGS);
    const probe = loser.load.load(now) === 0 && now - loser.load.lastPickAt > probeAfter;
    return pickTracked(aWins !== probe ? a : b, args, now);
  }
}

export class P2cEwmaLoadBalancer extends EndpointBalancer<P2cEwmaConfig> {
  getTypeName(): string {
    return P2C_EWMA;
  }

  protected isConfig(c: TypedLoadBalancingConfig): c is P2cEwmaConfig {
    return c instanceof P2cEwmaConfig;
  }

  protected override loadDecayMs(): number {
    return this.config?.options.decayMs ?? 1000;
  }

  protected createPicker(ready: BalancerChild[]): grpc.experimental.Picker {
    return new P2cEwmaPicker(ready, this.config!.options);
  }
}

export function setup(): void {
  grpc.experimental.registerLoadBalancerType(P2C_EWMA, P2cEwmaLoadBalancer, P2cEwmaConfig);
}
