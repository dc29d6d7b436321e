// What every shop service shares: connect to coord, serve() the gRPC service (registered with its
// pid so `coord demo kill` can find it, and its Prometheus endpoint so the dashboard shows its
// traffic), follow the `shop/faults` config for `coord demo slow`, and shut down gracefully — on
// SIGTERM/SIGINT, or when the `coord dev` that started it goes away.
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { connect, type Coord } from 'etcd-coord';
import { clientInterceptors, serve, setup, type CoordServer, type ServiceEntries, type ServiceSource } from 'etcd-coord/grpc';
import { createObservability } from 'etcd-coord/observability';
import { FAULTS, FaultsSchema } from './faults.ts';

export interface ServiceContext {
  coord: Coord;
  /** This instance's id in the registry, e.g. `inventory-service-1`. */
  id: string;
  /** Prefix of the shop's own data keys (stock, orders): `<coord namespace>shop/`. */
  data: string;
  /** Aborts when shutdown starts. */
  draining: AbortSignal;
  /** Interceptors for a client of `target` (`etcd:///name`): tracing and metrics, deadline propagation, adaptive throttling. */
  clientInterceptors(target: string): grpc.Interceptor[];
  log(line: string): void;
}

export interface ShopServiceOptions<T extends readonly ServiceSource[]> {
  /** Registry name, the `etcd:///<name>` target clients use. */
  name: string;
  /** Builds the `[service, handlers]` pairs to serve; each one's handlers are checked against the service's generated types. */
  services(ctx: ServiceContext): ServiceEntries<T>;
  /** Runs once serving; its promise is awaited on shutdown before the client closes. */
  background?(ctx: ServiceContext): Promise<void>;
}

/** `any` as a type with no fields, so an unannotated request is a compile error instead of unchecked. */
type Typed<T> = 0 extends 1 & T ? { 'give the request its generated type': never } : T;

/**
 * A unary handler as an async function; throw a `grpcError(...)` to answer with that status. Give
 * the request its generated type (`GetUserRequest__Output`): TypeScript cannot infer it for a
 * handler made by a generic function, and serve() then checks it against the service.
 */
export function unary<Req, Res>(fn: (request: Typed<Req>, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  // Returning the promise lets serve() see a rejection (a bug) and answer INTERNAL.
  return ((call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) =>
    fn(call.request as Typed<Req>, call).then(
      (reply) => callback(null, reply),
      (e: Partial<grpc.ServiceError>) => {
        if (typeof e?.code === 'number') callback({ code: e.code, details: e.details ?? e.message });
        else throw e;
      },
    )) as grpc.handleUnaryCall<Req, Res>;
}

/** Starts the service from the environment `coord dev` sets (COORD_ENDPOINTS, COORD_NAMESPACE, SHOP_ID). */
export async function runService<const T extends readonly ServiceSource[]>(options: ShopServiceOptions<T>): Promise<void> {
  const id = process.env.SHOP_ID ?? `${options.name}-${process.pid}`;
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${id}: ${line}\n`);
  const coord = connect({ endpoints: (process.env.COORD_ENDPOINTS ?? '127.0.0.1:2379').split(','), namespace: process.env.COORD_NAMESPACE, log });
  setup({ coord, log }); // etcd:///<service> targets for calls to the other services

  let slowMs = 0;
  const faults = coord.config.typed(FAULTS.namespace, FAULTS.key, FaultsSchema).subscribe((v) => {
    const next = v?.value.slowMs[id] ?? 0;
    if (next !== slowMs) log(`injected latency now ${next} ms`);
    slowMs = next;
  });

  // Traces and RED metrics; the dashboard scrapes the endpoint advertised in the registry.
  const obs = createObservability({ serviceName: options.name });
  // In a container or pod (deploy/, docs/deploy.md): HOST=0.0.0.0, fixed PORT and METRICS_PORT, POD_IP advertised.
  const host = process.env.HOST ?? '127.0.0.1';
  const metrics = await obs.serveMetrics({ listen: `${host}:${process.env.METRICS_PORT ?? 0}` });

  const draining = new AbortController();
  const ctx: ServiceContext = {
    coord,
    id,
    data: `${coord.namespace}shop/`,
    draining: draining.signal,
    log,
    clientInterceptors: (target) => [...obs.grpcClientInterceptors({ target }), ...clientInterceptors()],
  };
  const services = options.services(ctx).map(([definition, handlers]) => [definition, withLatency(handlers, () => slowMs)] as const);
  let server: CoordServer;
  try {
    server = await serve({
      coord,
      name: options.name,
      id,
      version: '1.0.0',
      metadata: { pid: process.pid, host: hostname(), zone: process.env.SHOP_ZONE ?? 'local', metrics: metrics.url },
      services,
      interceptors: obs.grpcServerInterceptors(),
      host,
      port: Number(process.env.PORT ?? 0),
      ...(process.env.POD_IP ? { advertiseHost: process.env.POD_IP } : {}),
      ttl: 5, // a kill -9'd instance leaves the registry within 5 s
      exitOnSignal: false,
      log,
    });
  } catch (e) {
    log(`could not start: ${(e as Error).message}`);
    await metrics.close();
    faults.close();
    await coord.close();
    process.exit(1);
  }
  obs.watchServer(server);
  server.draining.addEventListener('abort', () => draining.abort());
  const background = options.background?.(ctx).catch((e) => log(`background job failed: ${(e as Error).stack}`));

  // Started by `coord dev`, which keeps our stdin open: end of input means it is gone (killed), so
  // nobody will SIGTERM us.
  if (process.env.SHOP_STDIN_LIFELINE === '1') {
    process.stdin.on('end', () => {
      log('parent process gone: shutting down');
      setTimeout(() => process.exit(1), 10_000).unref();
      void server.close({ drainDelayMs: 0 });
    });
    process.stdin.resume();
  }

  void server.closed.then(async () => {
    await background;
    faults.close();
    await coord.close();
    await metrics.close();
    await obs.shutdown();
    process.stdout.write(`${JSON.stringify({ event: 'stopped', id })}\n`);
    process.exit(0);
  });
  process.stdout.write(`${JSON.stringify({ event: 'listening', id, name: options.name, pid: process.pid, endpoint: server.endpoint })}\n`);
}

/** Delays every unary call by the injected latency (demo fault injection). */
function withLatency(handlers: grpc.UntypedServiceImplementation, slowMs: () => number): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const ms = slowMs();
      const run = () => (handler as (c: typeof call, cb: typeof callback) => unknown)(call, callback);
      return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)).then(run) : run();
    }) as grpc.UntypedHandleCall;
  }
  return out;
}

/** Aborts when the call is cancelled by the client or passes its deadline. */
export function callSignal(call: grpc.ServerUnaryCall<unknown, unknown>): AbortSignal {
  const ac = new AbortController();
  call.once('cancelled', () => ac.abort(new Error('call cancelled')));
  const deadline = call.getDeadline();
  // A Deadline is a Date or epoch ms (Infinity: none).
  const ms = (deadline instanceof Date ? deadline.getTime() : deadline) - Date.now();
  return Number.isFinite(ms) ? AbortSignal.any([ac.signal, AbortSignal.timeout(Math.max(0, ms))]) : ac.signal;
}
