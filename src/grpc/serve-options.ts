// serve()'s options: one interface with the defaults in its JSDoc, merged and checked in one place.
import * as grpc from '@grpc/grpc-js';
import type { Coord } from '../coord.ts';
import { CoordError } from '../core/errors.ts';
import type { ServiceInstance } from '../registry/instance.ts';
import type { RegisterOptions } from '../registry/registration.ts';
import type { LoadShedderOptions } from '../resilience/load-shedder.ts';
import type { RateLimits } from './interceptor-server-rate-limit.ts';
import type { ReflectionOptions } from './server-reflection.ts';
import type { ServiceEntries, ServiceSource } from './service-types.ts';

/**
 * Options for {@link serve}; defaults in each field's doc. `T` lists the services' sources, inferred
 * from `services`: each entry's handlers are checked against its generated types.
 */
export interface ServeOptions<T extends readonly ServiceSource[] = readonly ServiceSource[]> {
  /** The registry to register in. Without it the server serves but is registered nowhere. */
  coord?: Coord;
  /** Service name in the registry (`etcd:///<name>`); also prefixes log lines. Required. */
  name: string;
  /** Instance id in the registry. Default `<hostname>-<port>` (unique per host while it listens). */
  id?: string;
  /** Version recorded in the registry (for subset routing). Default none. */
  version?: string;
  /** Registry metadata: zone, weight (weighted_round_robin), … Default none. */
  metadata?: ServiceInstance['metadata'];
  /** Address to bind. Default `127.0.0.1`; `0.0.0.0` or `::` for every interface. */
  host?: string;
  /** Host put in the registry endpoint. Default `host`, or for a wildcard `host` the first non-internal IPv4 address. */
  advertiseHost?: string;
  /** Port to bind; 0 picks a free one (reported as `port`). Default 0. */
  port?: number;
  /**
   * `[service, handlers]` pairs. `service` is a generated client constructor (proto-loader-gen-types'
   * `proto.pkg.Service`, ts-proto's `ServiceClient`), its `.service` definition, or an untyped
   * `grpc.ServiceDefinition`; `handlers` must implement every method with the generated types
   * (see ServiceHandlers). Required.
   */
  services: ServiceEntries<T>;
  /** Default insecure. */
  credentials?: grpc.ServerCredentials;
  /** grpc-js server options (message sizes, keepalive, …). Default none. */
  grpcOptions?: Omit<grpc.ServerOptions, 'interceptors'>;
  /** Your interceptors, for every method (health and reflection too); they run after coord's (tracking, deadline, rate limit, shedding), so refused calls never reach them. Default none. */
  interceptors?: grpc.ServerInterceptor[];
  /** Serve grpc.health.v1: '' and every served service, SERVING while up, NOT_SERVING once draining. Default true. */
  health?: boolean;
  /**
   * Serve gRPC server reflection for the served services (and health). Services loaded with
   * @grpc/proto-loader need nothing more; statically generated ones need `protoPaths` or
   * `packageDefinitions`. Default true.
   */
  reflection?: boolean | ReflectionOptions;
  /** Adaptive load shedding (RESOURCE_EXHAUSTED when busy past capacity; see load-shedder.ts). Default true with its defaults. */
  shedding?: boolean | LoadShedderOptions;
  /** Per-method token buckets, keyed `/pkg.Service/Method`, `pkg.Service` or `*` (see interceptor-server-rate-limit.ts). Default none. */
  rateLimits?: RateLimits;
  /** Registry lease TTL in seconds: how long a crashed instance stays listed. Default 10. */
  ttl?: number;
  /** Registry layouts to publish in besides coord's, for Go clients (see `RegisterOptions.formats`). Default none. */
  formats?: RegisterOptions['formats'];
  /** Shutdown: how long to keep serving after announcing `draining`, so clients stop routing here first. Default 1000 ms. */
  drainDelayMs?: number;
  /** Shutdown: how long in-flight calls get to finish once new calls are refused; then they are answered UNAVAILABLE (handlers see a cancel). Default 10000 ms. */
  graceMs?: number;
  /** Signals that start a graceful shutdown; `false` to handle them yourself. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[] | false;
  /** After a signal-started shutdown, exit the process (0, or 1 if the shutdown failed). Default true. */
  exitOnSignal?: boolean;
  /** One line per notable event (serving, draining, handler errors, shedding). Default: stderr. */
  log?: (line: string) => void;
  /** Aborts start-up (e.g. while etcd is unreachable: registering waits for it); serve() then rejects. */
  signal?: AbortSignal;
}

/** A service as grpc-js's addService takes it. */
export type ServicePair = readonly [grpc.ServiceDefinition, grpc.UntypedServiceImplementation];

/** The settings serve() runs with: options merged over defaults, each service as its definition. */
export type ResolvedServeOptions = Required<Omit<ServeOptions, 'coord' | 'id' | 'version' | 'metadata' | 'signal' | 'advertiseHost' | 'formats' | 'services'>> &
  Pick<ServeOptions, 'coord' | 'id' | 'version' | 'metadata' | 'signal' | 'advertiseHost' | 'formats'> & { services: readonly ServicePair[] };

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  grpcOptions: {},
  interceptors: [],
  health: true,
  reflection: true,
  shedding: true,
  rateLimits: {},
  ttl: 10,
  drainDelayMs: 1000,
  graceMs: 10_000,
  signals: ['SIGTERM', 'SIGINT'],
  exitOnSignal: true,
  log: (line: string) => void process.stderr.write(`${line}\n`),
} satisfies Partial<ServeOptions>;

/** Merges `options` over the defaults and checks them. */
export function resolveServeOptions(options: ServeOptions): ResolvedServeOptions {
  const { services, ...rest } = options;
  const o: ResolvedServeOptions = {
    ...DEFAULTS,
    ...stripUndefined(rest),
    name: options.name,
    services: resolveServices(services),
    credentials: options.credentials ?? grpc.ServerCredentials.createInsecure(),
  };
  validate(o);
  return o;
}

function validate(o: ResolvedServeOptions): void {
  if (!o.name || o.name.includes('/')) throw new CoordError('invalid-argument', `serve: name must be non-empty without '/', got ${JSON.stringify(o.name)}`);
  if (o.id !== undefined && (!o.id || o.id.includes('/'))) throw new CoordError('invalid-argument', `serve: id must be non-empty without '/', got ${JSON.stringify(o.id)}`);
  if (!o.services.length) throw new CoordError('invalid-argument', 'serve: services must list at least one [service, handlers]');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new CoordError('invalid-argument', `serve: port must be 0..65535, got ${o.port}`);
  for (const k of ['drainDelayMs', 'graceMs'] as const) {
    if (!(o[k] >= 0)) throw new CoordError('invalid-argument', `serve: ${k} must be >= 0, got ${o[k]}`);
  }
}

/** Each `[service, handlers]` as `[definition, handlers]`; checked, since JavaScript callers have no compiler to do it. */
function resolveServices(services: unknown): ServicePair[] {
  if (!Array.isArray(services)) throw new CoordError('invalid-argument', 'serve: services must be an array of [service, handlers]');
  return services.map((entry: unknown, i) => {
    const [source, handlers] = Array.isArray(entry) ? (entry as unknown[]) : [];
    // A generated client constructor carries its definition as `.service`.
    const definition: unknown = typeof source === 'function' ? (source as { service?: unknown }).service : source;
    if (definition === null || typeof definition !== 'object') {
      throw new CoordError('invalid-argument', `serve: services[${i}] must start with a service definition or a generated client constructor (with .service)`);
    }
    if (handlers === null || typeof handlers !== 'object') throw new CoordError('invalid-argument', `serve: services[${i}] must be [service, handlers], with handlers an object`);
    return [definition as grpc.ServiceDefinition, handlers as grpc.UntypedServiceImplementation] as const;
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

