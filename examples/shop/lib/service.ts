// What every shop service shares: connect to coord, open its database (DATABASE_URL, its own
// schema migrated at start), its events engine (NATS JetStream when NATS_URL is set, else the
// embedded etcd engine) and its outbox relay, serve() the gRPC service (registered with its pid so
// `coord demo kill` can find it, and its Prometheus endpoint so the dashboard shows its traffic),
// follow the `shop/faults` config, and shut down gracefully — on SIGTERM/SIGINT, or when the
// `coord dev` that started it goes away: stop serving, stop consuming, stop relaying, close.
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { connect, type Coord } from 'etcd-coord';
import { clientInterceptors, serve, setup, type CoordServer, type ServiceEntries, type ServiceSource } from 'etcd-coord/grpc';
import { etcdEngine, natsEngine, PostgresOutbox, startRelay, type EventEngine, type EventHandler, type Relay, type SqlDatabase, type SubscribeOptions, type Subscription } from 'etcd-coord/events';
import { createObservability } from 'etcd-coord/observability';
import { checkDatabase, describeUrl, migrate, openDatabase, type Database } from './db.ts';
import { FAULTS, FaultsSchema, type Faults } from './faults.ts';

export interface ServiceContext {
  coord: Coord;
  /** This instance's id in the registry, e.g. `inventory-service-1`. */
  id: string;
  /** Prefix of the shop's own data keys (stock, orders): `<coord namespace>shop/`. */
  data: string;
  /** Aborts when shutdown starts. */
  draining: AbortSignal;
  /** The service's database (only for a service with `database`). */
  readonly db: SqlDatabase;
  /** The events engine (only for a service with `database`). */
  readonly engine: EventEngine;
  /** The service's outbox: add events inside a `db.transaction` (only for a service with `outbox`). */
  readonly outbox: PostgresOutbox;
  /** The `shop/faults` config as last seen. */
  faults(): Faults;
  /** A consumer in `group`, closed on shutdown before the engine (one line per failed delivery in the log). */
  subscribe<E>(topic: string, group: string, handler: EventHandler<E>, options?: Omit<SubscribeOptions, 'log'>): Subscription;
  /** Interceptors for a client of `target` (`etcd:///name`): tracing and metrics, deadline propagation, adaptive throttling. */
  clientInterceptors(target: string): grpc.Interceptor[];
  log(line: string): void;
}

export interface ShopServiceOptions<T extends readonly ServiceSource[]> {
  /** Registry name, the `etcd:///<name>` target clients use. */
  name: string;
  /** The schema this service owns and the statements that create its tables (idempotent, `IF NOT EXISTS`). */
  database?: { schema: string; statements: readonly string[] };
  /** The service publishes events: its outbox table is `<outbox>_outbox`, relayed by one instance (election `outbox-relay/shop-<outbox>`). */
  outbox?: string;
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

  let faultsNow: Faults = { slowMs: {} };
  let slowMs = 0;
  const faults = coord.config.typed(FAULTS.namespace, FAULTS.key, FaultsSchema).subscribe((v) => {
    faultsNow = v?.value ?? { slowMs: {} };
    const next = faultsNow.slowMs[id] ?? 0;
    if (next !== slowMs) log(`injected latency now ${next} ms`);
    slowMs = next;
  });
  const fail = async (line: string) => {
    log(line);
    faults.close();
    await coord.close();
    process.exit(1);
  };

  // Business data and events: the database first (one clear line and exit 1 when it is unreachable).
  let database: Database | undefined;
  let engine: EventEngine | undefined;
  let outbox: PostgresOutbox | undefined;
  let relay: Relay | undefined;
  if (options.database) {
    const url = process.env.DATABASE_URL;
    if (!url) return fail(`${options.name} needs DATABASE_URL (a postgres:// URL)`);
    try {
      await checkDatabase(url);
      database = await openDatabase(url, log);
      await migrate(database.sql, options.database.schema, options.database.statements, options.outbox && `${options.outbox}_outbox`);
    } catch (e) {
      await database?.close();
      return fail((e as Error).message);
    }
    log(`database ${describeUrl(url)} ready (schema ${options.database.schema})`);
    try {
      engine = process.env.NATS_URL ? await natsEngine({ servers: process.env.NATS_URL.split(','), log }) : etcdEngine(coord);
    } catch (e) {
      await database.close();
      return fail(`cannot reach NATS at ${process.env.NATS_URL} (NATS_URL): ${(e as Error).message}`);
    }
    log(`events engine: ${engine.name}`);
    if (options.outbox) {
      outbox = new PostgresOutbox(database.sql, { table: `${options.outbox}_outbox` });
      relay = startRelay({ coord, outbox, engine, name: `shop-${options.outbox}`, instance: id, log });
    }
  }
  const subscriptions: Subscription[] = [];
  const need = <V>(v: V | undefined, what: string): V => {
    if (v === undefined) throw new Error(`${options.name}: no ${what} (give runService a \`${what === 'outbox' ? 'outbox' : 'database'}\` option)`);
    return v;
  };

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
    get db() {
      return need(database, 'database').sql;
    },
    get engine() {
      return need(engine, 'events engine');
    },
    get outbox() {
      return need(outbox, 'outbox');
    },
    faults: () => faultsNow,
    subscribe(topic, group, handler, o = {}) {
      const sub = need(engine, 'events engine').subscribe(topic, group, handler, { ...o, log });
      subscriptions.push(sub);
      return sub;
    },
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
    await relay?.close();
    await engine?.close();
    await database?.close();
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
    // Consumers first (what they had not acknowledged is delivered again, to another instance),
    // then the relay (it resigns; another instance's relay takes over), then the connections.
    await Promise.all(subscriptions.map((sub) => sub.close()));
    await relay?.close();
    await engine?.close();
    await database?.close();
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
