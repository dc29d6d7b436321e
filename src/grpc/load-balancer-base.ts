// The part every coord balancing policy shares, modelled on grpc-js's round_robin: one leaf
// pick-first balancer per endpoint (kept across address updates, so connections, stats and
// health streams survive them), client-side health checks, and the aggregate channel state.
// A policy supplies only its config and a synchronous picker over the READY endpoints.
import * as grpc from '@grpc/grpc-js';
import { HealthCheckedSubchannel } from './health-client.ts';
import { instanceMapFrom, type InstanceInfo } from './load-balancer-attributes.ts';
import { clock, EndpointLoad } from './picker-load.ts';

type ChannelControlHelper = grpc.experimental.ChannelControlHelper;
type Endpoint = grpc.experimental.Endpoint;
type LeafLoadBalancer = grpc.experimental.LeafLoadBalancer;
type LoadBalancer = grpc.experimental.LoadBalancer;
type PickArgs = grpc.experimental.PickArgs;
type PickResult = grpc.experimental.PickResult;
type Picker = grpc.experimental.Picker;
type TypedLoadBalancingConfig = grpc.experimental.TypedLoadBalancingConfig;
type StatusOr<T> = grpc.experimental.StatusOr<T>;

const { LeafLoadBalancer: Leaf, createChildChannelControlHelper, QueuePicker, UnavailablePicker, PickResultType, subchannelAddressToString } =
  grpc.experimental;
const { READY, CONNECTING, IDLE, TRANSIENT_FAILURE } = grpc.connectivityState;

/** Config fields every coord policy accepts besides its own. */
export interface HealthCheckConfig {
  /** Watch grpc.health.v1 on every connection and pick only SERVING endpoints. Default true. */
  healthCheck: boolean;
  /** HealthCheckRequest.service. Default '' (the server as a whole). */
  healthCheckServiceName: string;
}

/** A policy's parsed config: grpc-js's typed config plus the shared health fields. */
export interface CoordLbConfig extends TypedLoadBalancingConfig {
  readonly health: HealthCheckConfig;
}

/** Reads the shared fields of a policy's JSON config; throws (config rejected) on wrong types. */
export function parseHealthConfig(policy: string, obj: Record<string, unknown>): HealthCheckConfig {
  const { healthCheck = true, healthCheckServiceName = '' } = obj;
  if (typeof healthCheck !== 'boolean') throw new Error(`${policy}: healthCheck must be a boolean`);
  if (typeof healthCheckServiceName !== 'string') throw new Error(`${policy}: healthCheckServiceName must be a string`);
  return { healthCheck, healthCheckServiceName };
}

export function healthConfigJson(h: HealthCheckConfig): Record<string, unknown> {
  return { healthCheck: h.healthCheck, healthCheckServiceName: h.healthCheckServiceName };
}

/** Reads an optional positive number field; throws on anything else. */
export function positiveNumber(policy: string, obj: Record<string, unknown>, field: string, fallback: number): number {
  const v = obj[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${policy}: ${field} must be a positive number`);
  return v;
}

/** One endpoint (one registry instance) under a policy. */
export interface BalancerChild {
  /** The endpoint's addresses, joined: identity across address updates. */
  readonly key: string;
  readonly info: InstanceInfo;
  readonly state: grpc.connectivityState;
  readonly picker: Picker;
  /** Client-side load, kept for the endpoint's lifetime (used by p2c_ewma and least_request). */
  readonly load: EndpointLoad;
}

class Child implements BalancerChild {
  state: grpc.connectivityState = IDLE;
  picker!: Picker;
  leaf!: LeafLoadBalancer;
  /** Health-checked subchannels that are connected (their state is not `idle`). */
  readonly subchannels = new Set<HealthCheckedSubchannel>();
  constructor(
    readonly key: string,
    public info: InstanceInfo,
    readonly load: EndpointLoad,
  ) {}
}

let logLine: (line: string) => void = (line) => console.warn(`coord grpc: ${line}`);

/** Where balancers report health-check events; set by setup(). */
export function setBalancerLog(log: (line: string) => void): void {
  logLine = log;
}

export abstract class EndpointBalancer<C extends CoordLbConfig> implements LoadBalancer {
  private children = new Map<string, Child>();
  protected config: C | undefined;
  private paused = false;
  private lastError = '';
  private note = '';
  private destroyed = false;

  constructor(private readonly helper: ChannelControlHelper) {}

  abstract getTypeName(): string;
  protected abstract isConfig(c: TypedLoadBalancingConfig): c is C;
  /** The picker over `ready` (non-empty); `all` includes endpoints not READY, in update order. */
  protected abstract createPicker(ready: BalancerChild[], all: BalancerChild[]): Picker;
  /** Hook for policies that derive state from the membership (ring_hash builds its ring). */
  protected membershipChanged(): void {}

  updateAddressList(endpoints: StatusOr<Endpoint[]>, lbConfig: TypedLoadBalancingConfig, options: grpc.ChannelOptions, note: string): boolean {
    if (!this.isConfig(lbConfig)) return false;
    const healthChanged = this.config !== undefined && !sameHealth(this.config.health, lbConfig.health);
    this.config = lbConfig;
    this.note = note;
    if (!endpoints.ok) {
      // A resolver error keeps the endpoints we have; with none, calls fail with its status.
      if (this.children.size === 0) this.report(TRANSIENT_FAILURE, new UnavailablePicker(endpoints.error), endpoints.error.details);
      return true;
    }
    if (healthChanged) this.clearChildren();
    const infos = instanceMapFrom(options);
    const next = new Map<string, Child>();
    this.paused = true;
    let membership = healthChanged;
    for (const endpoint of endpoints.value) {
      const addresses = endpoint.addresses.map(subchannelAddressToString);
      const key = addresses.join(',');
      if (next.has(key)) continue;
      const info = infos?.get(addresses[0]) ?? { id: key, weight: 1, metadata: {} };
      const existing = this.children.get(key);
      if (existing) {
        if (existing.info.weight !== info.weight || existing.info.id !== info.id) membership = true;
        existing.info = info;
        next.set(key, existing);
      } else {
        next.set(key, this.createChild(key, endpoint, info, options));
        membership = true;
      }
    }
    for (const [key, child] of this.children) {
      if (!next.has(key)) {
        child.leaf.destroy();
        membership = true;
      }
    }
    this.children = next;
    if (membership) this.membershipChanged();
    for (const child of next.values()) if (child.state === IDLE) child.leaf.startConnecting();
    this.paused = false;
    this.recompute();
    return true;
  }

  private createChild(key: string, endpoint: Endpoint, info: InstanceInfo, options: grpc.ChannelOptions): Child {
    const child = new Child(key, info, new EndpointLoad({ decayMs: this.loadDecayMs() }));
    const current = () => this.children.get(key) === child;
    const helper = createChildChannelControlHelper(this.helper, {
      createSubchannel: (address, args) => {
        const sc = this.helper.createSubchannel(address, args);
        const health = this.config?.health;
        if (!health?.healthCheck) return sc;
        const wrapped: HealthCheckedSubchannel = new HealthCheckedSubchannel(sc, {
          serviceName: health.healthCheckServiceName,
          onChange: () => {
            if (wrapped.healthState === 'idle') child.subchannels.delete(wrapped);
            else child.subchannels.add(wrapped);
            // Deferred: this runs inside pick-first's own bookkeeping (ref, unref), which a
            // synchronous recompute (it may call exitIdle on the same leaf) must not re-enter.
            queueMicrotask(() => {
              if (current()) this.recompute();
            });
          },
          log: logLine,
        });
        return wrapped;
      },
      updateState: (state, picker, error) => {
        if (!current() && !this.paused) return;
        const wasReady = child.state === READY;
        child.state = state;
        child.picker = picker;
        if (error) this.lastError = error;
        // As round_robin does: a lost connection may mean stale addresses (for DNS targets).
        if (wasReady && state !== READY) this.helper.requestReresolution();
        this.recompute();
      },
    });
    child.leaf = new Leaf(endpoint, helper, options, this.note);
    child.picker = child.leaf.getPicker();
    return child;
  }

  /** Decay constant for endpoint load statistics; p2c_ewma makes it configurable. */
  protected loadDecayMs(): number {
    return 1000;
  }

  /** Reports READY with the policy's picker, CONNECTING while any endpoint may still come up, else TRANSIENT_FAILURE. */
  protected recompute(): void {
    if (this.paused || this.destroyed) return;
    const all = [...this.children.values()];
    const ready = all.filter((c) => c.state === READY);
    if (ready.length > 0) {
      this.report(READY, this.createPicker(ready, all), null);
    } else if (all.some((c) => c.state === CONNECTING || c.state === IDLE || healthPending(c))) {
      this.report(CONNECTING, new QueuePicker(this), null);
    } else {
      const details =
        all.length === 0
          ? this.note || 'no addresses to balance over'
          : `${this.getTypeName()}: none of ${all.length} endpoints is ready${this.lastError ? ` (last error: ${this.lastError})` : ''}`;
      this.report(TRANSIENT_FAILURE, new UnavailablePicker({ details }), details);
    }
    // Keep every endpoint connected, so a pick never waits for a connection.
    for (const c of all) if (c.state === IDLE) c.leaf.exitIdle();
  }

  private report(state: grpc.connectivityState, picker: Picker, error: string | null): void {
    this.helper.updateState(state, picker, error);
  }

  private clearChildren(): void {
    for (const c of this.children.values()) c.leaf.destroy();
    this.children = new Map();
  }

  exitIdle(): void {
    for (const c of this.children.values()) c.leaf.exitIdle();
  }

  resetBackoff(): void {}

  destroy(): void {
    this.destroyed = true;
    this.clearChildren();
  }
}

function sameHealth(a: HealthCheckConfig, b: HealthCheckConfig): boolean {
  return a.healthCheck === b.healthCheck && a.healthCheckServiceName === b.healthCheckServiceName;
}

/** Connected, and waiting for the first health answer: a start-up wait, not a failure. */
function healthPending(c: Child): boolean {
  for (const sc of c.subchannels) if (sc.healthState === 'pending') return true;
  return false;
}

/**
 * Picks through `child`'s leaf picker and attaches call tracking. The leaf returns our health
 * wrapper; grpc-js (and any parent policy such as outlier_detection) must get the subchannel it
 * created, so the wrapper is peeled off here.
 */
export function pickChild(
  child: BalancerChild,
  args: PickArgs,
  onCallStarted: (() => void) | null = null,
  onCallEnded: grpc.experimental.PickResult['onCallEnded'] = null,
): PickResult {
  const r = child.picker.pick(args);
  if (r.pickResultType !== PickResultType.COMPLETE) return r;
  const subchannel = r.subchannel instanceof HealthCheckedSubchannel ? r.subchannel.unwrap() : r.subchannel;
  return { pickResultType: r.pickResultType, subchannel, status: null, onCallStarted, onCallEnded };
}

/** Picks with in-flight, latency and success tracking on `child.load`. */
export function pickTracked(child: BalancerChild, args: PickArgs, now: number): PickResult {
  const load = child.load;
  load.picked(now);
  let id = -1;
  return pickChild(
    child,
    args,
    () => {
      id = load.started(clock.now());
    },
    (code) => load.ended(id, code, clock.now()),
  );
}
