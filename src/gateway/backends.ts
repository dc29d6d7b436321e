// One grpc-js client per backend service, on `etcd:///<name>` with coord's resolver and
// balancers: the registry name comes from the `services` option, or is derived from the proto
// service name (`shop.OrderService` → `order`, `coord.gwtest.Library` → `library`).
import * as grpc from '@grpc/grpc-js';
import { clientInterceptors } from '../grpc/client-interceptors.ts';
import { serviceConfig, type ServiceConfigOptions } from '../grpc/service-config.ts';

export interface BackendsOptions {
  /** Fully qualified proto service → registry name, or a gRPC target (anything with ':' in it, e.g. `dns:///host:50051`, `127.0.0.1:50051`). */
  services: Record<string, string>;
  /** etcd endpoints for `etcd://<endpoints>/<name>` targets; empty for `etcd:///<name>` (the Coord given to setup()). */
  endpoints: string[];
  /** Namespace for endpoint targets. */
  namespace: string | undefined;
  credentials: grpc.ChannelCredentials;
  serviceConfig: ServiceConfigOptions | undefined;
  interceptors: grpc.Interceptor[];
}

/** The registry name the gateway uses for a proto service by default. */
export function defaultRegistryName(fqService: string): string {
  const short = fqService.slice(fqService.lastIndexOf('.') + 1);
  const trimmed = short.length > 'Service'.length && short.endsWith('Service') ? short.slice(0, -'Service'.length) : short;
  return trimmed.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();
}

export class Backends {
  /** By target; `byService` caches the lookup for the hot path. */
  private readonly clients = new Map<string, grpc.Client>();
  private readonly byService = new Map<string, grpc.Client>();
  private readonly config: string;

  constructor(private readonly o: BackendsOptions) {
    this.config = serviceConfig(o.serviceConfig);
  }

  /** The target a proto service is reached at. */
  target(fqService: string): string {
    const name = this.o.services[fqService] ?? defaultRegistryName(fqService);
    if (name.includes(':')) return name;
    if (this.o.endpoints.length === 0) return `etcd:///${encodeURIComponent(name)}`;
    const ns = this.o.namespace ? `?namespace=${encodeURIComponent(this.o.namespace)}` : '';
    return `etcd://${this.o.endpoints.join(',')}/${encodeURIComponent(name)}${ns}`;
  }

  client(fqService: string): grpc.Client {
    const cached = this.byService.get(fqService);
    if (cached) return cached;
    const target = this.target(fqService);
    let c = this.clients.get(target);
    if (!c) {
      c = new grpc.Client(target, this.o.credentials, {
        interceptors: [...clientInterceptors(), ...this.o.interceptors],
        ...(target.startsWith('etcd:') ? { 'grpc.service_config': this.config } : {}),
      });
      this.clients.set(target, c);
    }
    this.byService.set(fqService, c);
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.byService.clear();
  }
}
