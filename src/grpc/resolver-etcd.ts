// The `etcd:` name resolver for grpc-js: a channel to `etcd:///orders` follows the live set of
// `orders` instances in the registry (a Discovery: get + watch, kept through etcd outages) and
// hands grpc-js one endpoint per serving instance, with the instances' registry facts attached
// for the balancers. Target syntax and filters: resolver-etcd-target.ts.
import * as grpc from '@grpc/grpc-js';
import { connect, type Coord } from '../coord.ts';
import type { Disposable } from '../core/events.ts';
import { Discovery, type DiscoverySnapshot } from '../registry/discovery.ts';
import { INSTANCES_ATTRIBUTE, instanceInfo, type InstanceInfo } from './load-balancer-attributes.ts';
import { grpcAddress, matchesFilter, parseEtcdTarget, type EtcdTarget } from './resolver-etcd-target.ts';
import { resolverServiceConfig, type ServiceConfig } from './service-config.ts';

type Endpoint = grpc.experimental.Endpoint;
type GrpcUri = grpc.experimental.GrpcUri;
type ResolverListener = grpc.experimental.ResolverListener;

/** Channel option: ms to wait for instances before calls fail with "no instances of <service>". */
export const NO_INSTANCES_WAIT_OPTION = 'coord.no_instances_wait_ms';

export interface EtcdResolverDefaults {
  /** The Coord `etcd:///<service>` targets read from. */
  coord?: Coord;
  /** Warnings: malformed records, unusable endpoints. */
  log: (line: string) => void;
  /** See NO_INSTANCES_WAIT_OPTION. */
  noInstancesWaitMs: number;
}

const defaults: EtcdResolverDefaults = {
  log: (line) => console.warn(`coord grpc: ${line}`),
  noInstancesWaitMs: 1000,
};

/** Changes what later-created resolvers use; called by setup(). */
export function configureEtcdResolver(options: Partial<EtcdResolverDefaults>): void {
  Object.assign(defaults, options);
}

/** Connections for `etcd://host:port,…/svc` targets, shared by every channel naming the same endpoints. */
const shared = new Map<string, { coord: Coord; refs: number }>();

function acquireShared(endpoints: string[]): { coord: Coord; release: () => void } {
  const key = endpoints.join(',');
  let entry = shared.get(key);
  if (!entry) {
    entry = { coord: connect({ endpoints, log: (line) => defaults.log(line) }), refs: 0 };
    shared.set(key, entry);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    coord: e.coord,
    release: () => {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      shared.delete(key);
      // This shared client only reads (discovery): it holds no lease or record a failed close could leave behind.
      void e.coord.close().catch(() => {});
    },
  };
}

/** Open shared etcd connections (targets with endpoints in the authority); for tests and diagnostics. */
export function sharedEtcdConnections(): number {
  return shared.size;
}

interface Resolution {
  endpoints: Endpoint[];
  instances: Map<string, InstanceInfo>;
  /** Identity of the resolution, to skip reporting the same set twice. */
  signature: string;
}

export class EtcdResolver implements grpc.experimental.Resolver {
  private readonly target: EtcdTarget;
  private readonly serviceConfig: ServiceConfig | null;
  private readonly waitMs: number;
  private discovery: Discovery | undefined;
  private subscription: Disposable | undefined;
  private release: (() => void) | undefined;
  private waitTimer: NodeJS.Timeout | undefined;
  private failure: string | undefined;
  private lastSignature: string | undefined;
  private reportedNonEmpty = false;
  private scheduled = false;
  /** Instances already warned about, by id + record, so a bad record logs once, not per update. */
  private readonly warned = new Set<string>();

  constructor(
    uri: GrpcUri,
    private readonly listener: ResolverListener,
    options: grpc.ChannelOptions,
  ) {
    this.target = parseEtcdTarget(uri);
    this.serviceConfig = resolverServiceConfig(options);
    const wait: unknown = options[NO_INSTANCES_WAIT_OPTION];
    this.waitMs = typeof wait === 'number' && wait >= 0 ? wait : defaults.noInstancesWaitMs;
  }

  static getDefaultAuthority(uri: GrpcUri): string {
    // A foreign target may be a path (svc/echo): its last segment names the service to the server.
    return parseEtcdTarget(uri).service.split("/").pop()!;
  }

  /**
   * Starts following the registry. Once started, a call is a no-op: the watch pushes every change
   * as it happens, and answering grpc-js's re-resolution requests (sent whenever a connection
   * drops) with a repeat would feed a loop, since round_robin rebuilds its children on every
   * update and asks again when one of them is not READY.
   */
  updateResolution(): void {
    if (this.discovery) return;
    this.failure = undefined;
    this.start();
    this.schedule();
  }

  destroy(): void {
    this.subscription?.dispose();
    this.subscription = undefined;
    this.discovery?.close();
    this.discovery = undefined;
    this.release?.();
    this.release = undefined;
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.failure = undefined;
    this.lastSignature = undefined;
    this.reportedNonEmpty = false;
  }

  private start(): void {
    this.release?.();
    this.release = undefined;
    let coord: Coord | undefined;
    if (this.target.endpoints.length > 0) {
      const s = acquireShared(this.target.endpoints);
      coord = s.coord;
      this.release = s.release;
    } else {
      coord = defaults.coord;
    }
    if (!coord) {
      this.failure = `no etcd for etcd:///${this.target.service}: call setup({ coord }) from etcd-coord/grpc, or name etcd endpoints in the target (etcd://host:port/${this.target.service})`;
      return;
    }
    const d = new Discovery(coord.etcd, this.target.namespace ?? coord.namespace, this.target.service, { log: defaults.log, format: this.target.format });
    this.discovery = d;
    this.subscription = d.onChange(() => this.schedule());
    d.ready.then(
      () => this.schedule(),
      (e: unknown) => {
        if (this.discovery !== d) return;
        // Not retryable here (a closed Coord, say); grpc-js asks again with backoff, and then
        // updateResolution starts over.
        this.subscription?.dispose();
        d.close();
        this.discovery = undefined;
        this.failure = `registry read failed: ${(e as Error).message}`;
        this.schedule();
      },
    );
    this.armWait();
  }

  /** Bounds how long calls queue for a set that is empty (or not read yet). */
  private armWait(): void {
    if (this.waitTimer) return;
    this.waitTimer = setTimeout(() => {
      this.waitTimer = undefined;
      this.schedule();
    }, this.waitMs);
    this.waitTimer.unref();
  }

  /** Reports on a later microtask: grpc-js forbids calling the listener from updateResolution. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.report();
    });
  }

  private report(): void {
    const service = this.target.service;
    const filtered = this.target.filterText ? ` matching ${this.target.filterText}` : '';
    if (this.failure !== undefined) {
      this.emitError(`no instances of ${service}: ${this.failure}`);
      return;
    }
    const d = this.discovery;
    if (!d) return;
    const snap = d.snapshot();
    const ready = snap.revision > 0;
    const r = ready ? this.resolve(snap) : undefined;
    if (r && r.endpoints.length > 0) {
      clearTimeout(this.waitTimer);
      this.waitTimer = undefined;
      this.reportedNonEmpty = true;
      if (r.signature === this.lastSignature) return;
      this.lastSignature = r.signature;
      this.listener(grpc.experimental.statusOrFromValue(r.endpoints), { [INSTANCES_ATTRIBUTE]: r.instances }, this.config(), '');
      return;
    }
    // Nothing to route to (yet). Instances often appear moments later (a deploy, a client started
    // with its servers), so calls queue, or keep using the last set, for up to the wait.
    if (this.reportedNonEmpty) {
      this.reportedNonEmpty = false;
      this.armWait();
    }
    if (this.waitTimer) return;
    if (!ready) {
      this.emitError(`no instances of ${service}${filtered}: the service registry has not answered yet`);
      return;
    }
    const signature = `empty:${filtered}`;
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    // An empty list, not an error: the registry answered, and a balancer must drop endpoints it
    // still has (after an error it would keep them). Balancers fail calls with this note.
    this.listener(grpc.experimental.statusOrFromValue([]), { [INSTANCES_ATTRIBUTE]: new Map() }, this.config(), `no instances of ${service}${filtered}`);
  }

  private emitError(details: string): void {
    if (this.lastSignature === `error:${details}`) return;
    this.lastSignature = `error:${details}`;
    this.listener(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details }), {}, this.config(), '');
  }

  private config(): grpc.experimental.StatusOr<ServiceConfig> | null {
    return this.serviceConfig ? grpc.experimental.statusOrFromValue(this.serviceConfig) : null;
  }

  /** Serving instances that pass the filter, one endpoint each (all their grpc:// addresses). */
  private resolve(snap: DiscoverySnapshot): Resolution {
    const endpoints: Endpoint[] = [];
    const instances = new Map<string, InstanceInfo>();
    const parts: string[] = [];
    const seen = new Set<string>();
    const sorted = [...snap.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const inst of sorted) {
      if (inst.status === 'draining' || !matchesFilter(this.target.filter, inst)) continue;
      const { info, badWeight } = instanceInfo(inst);
      if (badWeight) this.warnOnce(inst.id, JSON.stringify(inst.metadata), `instance ${inst.id} of ${inst.name}: ${badWeight}`);
      const addresses = [];
      for (const e of inst.endpoints) {
        const a = grpcAddress(e);
        if (!a) continue;
        const s = grpc.experimental.subchannelAddressToString(a);
        // Two records claiming one address (a restart under a new id before the old lease
        // expired): the address is one backend, so it is one endpoint.
        if (seen.has(s)) continue;
        seen.add(s);
        addresses.push(a);
        instances.set(s, info);
      }
      if (addresses.length === 0) {
        const grpcLike = inst.endpoints.filter((e) => /^grpcs?:/.test(e));
        if (grpcLike.length > 0 || inst.endpoints.length === 0) {
          this.warnOnce(inst.id, JSON.stringify(inst.endpoints), `instance ${inst.id} of ${inst.name} skipped: no usable grpc://host:port endpoint in ${JSON.stringify(inst.endpoints)}`);
        }
        continue;
      }
      endpoints.push({ addresses });
      parts.push(`${inst.id}@${addresses.map((a) => grpc.experimental.subchannelAddressToString(a)).join(',')}#${JSON.stringify(info)}`);
    }
    return { endpoints, instances, signature: parts.join('|') };
  }

  private warnOnce(id: string, what: string, line: string): void {
    const key = `${id}\0${what}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    defaults.log(line);
  }
}

export function setup(): void {
  grpc.experimental.registerResolver('etcd', EtcdResolver);
}
