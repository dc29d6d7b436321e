// ring_hash: consistent hashing on a request metadata key, for sticky routing (a user's calls go
// to the instance that has their cache). Each instance owns points on a 32-bit ring, as many as
// `virtualNodes` × its weight relative to the lightest instance; a key goes to the first point
// clockwise of its hash. Points are placed by instance id, so adding or removing an instance
// moves only the keys on that instance's arcs, and an instance that restarts on a new port keeps
// its keys. An endpoint that is not READY is skipped clockwise, so its keys spread over the
// others and come back when it does.
import * as grpc from '@grpc/grpc-js';
import { EndpointBalancer, healthConfigJson, parseHealthConfig, pickChild, positiveNumber, type BalancerChild, type CoordLbConfig, type HealthCheckConfig } from './load-balancer-base.ts';

/** Name of the ring-hash balancer in a service config's `loadBalancingConfig` (registered by `setup()`). */
export const RING_HASH = 'ring_hash';

/** `{ ring_hash: { … } }` fields. */
export interface RingHashOptions {
  /** Request metadata key to hash (required), e.g. `x-user-id`. Calls without it go to a random endpoint. */
  hashKey: string;
  /** Ring points per unit of relative weight. Default 100. */
  virtualNodes?: number;
  /** Cap on all points together; weights are scaled down to fit. Default 16384. */
  maxRingSize?: number;
}

export class RingHashConfig implements CoordLbConfig {
  constructor(
    readonly options: Required<RingHashOptions>,
    readonly health: HealthCheckConfig,
  ) {}

  getLoadBalancerName(): string {
    return RING_HASH;
  }

  toJsonObject(): object {
    return { [RING_HASH]: { ...this.options, ...healthConfigJson(this.health) } };
  }

  static createFromJson(obj: Record<string, unknown> = {}): RingHashConfig {
    const { hashKey } = obj;
    if (typeof hashKey !== 'string' || hashKey === '') throw new Error(`${RING_HASH}: hashKey (a request metadata key) is required`);
    return new RingHashConfig(
      {
        // grpc-js stores metadata keys lowercased.
        hashKey: hashKey.toLowerCase(),
        virtualNodes: Math.round(positiveNumber(RING_HASH, obj, 'virtualNodes', 100)),
        maxRingSize: Math.round(positiveNumber(RING_HASH, obj, 'maxRingSize', 16384)),
      },
      parseHealthConfig(RING_HASH, obj),
    );
  }
}

/** FNV-1a over UTF-16 code units (or bytes), finished with murmur3's fmix32 for avalanche. */
export function hash32(value: string | Uint8Array): number {
  let h = 0x811c9dc5;
  if (typeof value === 'string') {
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value[i], 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Ring points sorted by hash; `owners[i]` is the endpoint key owning `hashes[i]`. */
export interface Ring {
  hashes: Uint32Array;
  owners: string[];
}

/** Places `virtualNodes × weight / min weight` points per endpoint (scaled to fit `maxRingSize`). */
export function buildRing(endpoints: Array<{ key: string; id: string; weight: number }>, virtualNodes: number, maxRingSize: number): Ring {
  if (endpoints.length === 0) return { hashes: new Uint32Array(0), owners: [] };
  const minWeight = Math.min(...endpoints.map((e) => e.weight));
  const wanted = endpoints.map((e) => (virtualNodes * e.weight) / minWeight);
  const total = wanted.reduce((a, b) => a + b, 0);
  const scale = total > maxRingSize ? maxRingSize / total : 1;
  const points: Array<{ hash: number; owner: string }> = [];
  endpoints.forEach((e, i) => {
    const n = Math.max(1, Math.round(wanted[i] * scale));
    for (let p = 0; p < n; p++) points.push({ hash: hash32(`${e.id}#${p}`), owner: e.key });
  });
  points.sort((a, b) => a.hash - b.hash || (a.owner < b.owner ? -1 : 1));
  return { hashes: Uint32Array.from(points, (p) => p.hash), owners: points.map((p) => p.owner) };
}

/** Index of the first point at or after `h`, wrapping to 0. */
export function ringIndex(ring: Ring, h: number): number {
  let lo = 0;
  let hi = ring.hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring.hashes[mid] < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === ring.hashes.length ? 0 : lo;
}

class RingHashPicker implements grpc.experimental.Picker {
  private readonly byKey: Map<string, BalancerChild>;

  constructor(
    private readonly ready: BalancerChild[],
    private readonly ring: Ring,
    private readonly hashKey: string,
  ) {
    this.byKey = new Map(ready.map((c) => [c.key, c]));
  }

  pick(args: grpc.experimental.PickArgs): grpc.experimental.PickResult {
    const value = args.metadata.get(this.hashKey)[0];
    if (value === undefined || this.ring.owners.length === 0) {
      return pickChild(this.ready[Math.floor(Math.random() * this.ready.length)], args);
    }
    const { owners } = this.ring;
    const start = ringIndex(this.ring, hash32(value));
    for (let i = 0; i < owners.length; i++) {
      const c = this.byKey.get(owners[(start + i) % owners.length]);
      if (c) return pickChild(c, args);
    }
    return pickChild(this.ready[0], args);
  }
}

export class RingHashLoadBalancer extends EndpointBalancer<RingHashConfig> {
  private ring: Ring | undefined;
  private ringFor: Required<RingHashOptions> | undefined;

  getTypeName(): string {
    return RING_HASH;
  }

  protected isConfig(c: grpc.experimental.TypedLoadBalancingConfig): c is RingHashConfig {
    return c instanceof RingHashConfig;
  }

  protected override membershipChanged(): void {
    this.ring = undefined;
  }

  protected createPicker(ready: BalancerChild[], all: BalancerChild[]): grpc.experimental.Picker {
    const options = this.config!.options;
    if (!this.ring || this.ringFor?.virtualNodes !== options.virtualNodes || this.ringFor.maxRingSize !== options.maxRingSize) {
      this.ring = buildRing(
        all.map((c) => ({ key: c.key, id: c.info.id, weight: c.info.weight })),
        options.virtualNodes,
        options.maxRingSize,
      );
      this.ringFor = options;
    }
    return new RingHashPicker(ready, this.ring, options.hashKey);
  }
}

export function setup(): void {
  grpc.experimental.registerLoadBalancerType(RING_HASH, RingHashLoadBalancer, RingHashConfig);
}
