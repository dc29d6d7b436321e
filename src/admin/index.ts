import { connect, type Coord } from '../coord.ts';
import { CoordError } from '../core/errors.ts';
import type { ClientOptions } from '../client/etcd-client.ts';
import { checkBind, parseListen } from './auth.ts';
import { ClusterInfo } from './cluster-info.ts';
import type { AdminContext } from './context.ts';
import { registryFormat } from '../registry/registry-format.ts';
import { ensureDashboard } from './dashboard-build.ts';
import { EventsSource, type AdminEventsOptions } from './events-source.ts';
import { ForeignServices, type ForeignServiceSource } from './foreign-services.ts';
import type { InstanceMetricsSource } from './instance-metrics.ts';
import { InstanceProbe } from './instance-probe.ts';
import { LiveView } from './live-view.ts';
import { createServer, type ServerOptions } from './server.ts';

export type * from './api-types.ts';
export type { InstanceMetricsSource, TopologyEdge } from './instance-metrics.ts';
export type { ForeignServiceSource } from './foreign-services.ts';
export type { AdminEventsOptions } from './events-source.ts';

/** Options for {@link startAdmin}; defaults in each field's doc. */
export interface AdminOptions extends Pick<ClientOptions, 'endpoints' | 'tls' | 'auth' | 'requestTimeoutMs'> {
  /**
   * An existing client to use (it is not closed by `close()`). Without it the admin server connects
   * to `endpoints` (default `127.0.0.1:2379`) in `namespace` itself.
   */
  coord?: Coord;
  /** Key prefix, when no `coord` is given. Default `/coord/`. */
  namespace?: string;
  /** Where to serve, `host:port`. Default `127.0.0.1:0` (any free port). */
  listen?: string;
  /**
   * Bearer token every API request must carry. Required when `listen` is not 127.0.0.1, localhost
   * or [::1]. Default: none.
   */
  token?: string;
  /** Refuse every change (403) and hide the UI's actions. Default false. */
  readOnly?: boolean;
  /** Serve the web UI, building it first when its build is missing or older than its sources. Default true. */
  dashboard?: boolean;
  /**
   * Health and traffic figures per instance (see InstanceMetricsSource). Default an InstanceProbe:
   * grpc.health.v1 Check on each instance's grpc:// endpoint, and RPS / error rate / p99 from its
   * Prometheus endpoint when it advertises one. `false`: none (the UI shows "n/a").
   */
  instanceMetrics?: InstanceMetricsSource | false;
  /**
   * Services published in a Go framework's registry layout to list beside coord's own (marked with
   * their format, read-only): grpc-go and go-zero keys have no fixed prefix, so name their targets,
   * e.g. `[{ format: 'grpc-go', target: 'svc/echo' }]`. Also listed without naming them: every
   * Kratos service under `kratosNamespace`, and the foreign records coord instances publish
   * (`register(…, { formats })`) with the other records of their target. Default none.
   */
  foreignServices?: ForeignServiceSource[];
  /** Kratos' registry namespace to list every service of, or false for none. Default `/microservices`. */
  kratosNamespace?: string | false;
  /** The events engine of the Events page: default the one the services announced at `<ns>events/engine`. */
  events?: AdminEventsOptions;
  /** Author recorded for config changes that name none. Default `dashboard`. */
  author?: string;
  /** One line per notable event (dashboard build, watch re-read, internal errors). Default: none. */
  log?: (line: string) => void;
}

/** A running admin server, as `startAdmin()` returns it. */
export interface AdminHandle {
  /** `http://host:port/`: the dashboard, with the API under `api/`. */
  readonly url: string;
  readonly port: number;
  /** Stops serving (open live streams are ended), stops watching, closes the client it opened. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the admin HTTP API and the dashboard over the coord keyspace of one etcd (or coord store).
 * etcd need not be up: the server starts anyway, answers 503 until etcd does, and catches up.
 */
export async function startAdmin(options: AdminOptions = {}): Promise<AdminHandle> {
  const log = options.log ?? (() => {});
  const { host, port } = parseListen(options.listen ?? '127.0.0.1:0');
  checkBind(host, options.token);
  for (const s of options.foreignServices ?? []) registryFormat(s.format); // unknown: invalid-argument
  const coord =
    options.coord ??
    connect({ endpoints: options.endpoints, namespace: options.namespace, tls: options.tls, auth: options.auth, requestTimeoutMs: options.requestTimeoutMs, log });
  const live = new LiveView(coord.etcd, coord.namespace, log);
  const probe = options.instanceMetrics === undefined ? new InstanceProbe() : undefined;
  const metrics = options.instanceMetrics === false ? undefined : (options.instanceMetrics ?? probe);
  const foreign = new ForeignServices(coord.etcd, { sources: options.foreignServices, kratosNamespace: options.kratosNamespace }, (i) => metrics?.metrics(i) ?? null, log);
  const cluster = new ClusterInfo({ client: coord.etcd, tls: options.tls });
  const events = new EventsSource(coord, options.events ?? {}, log);
  const cleanup = async () => {
    await events.close().catch((e: unknown) => log(`admin: closing the events engine failed (${(e as Error).message})`));
    live.close();
    cluster.close();
    probe?.close();
    if (!options.coord) await coord.close();
  };
  try {
    const ctx: AdminContext = {
      coord,
      live,
      cluster,
      foreign,
      metrics,
      events,
      info: {
        namespace: coord.namespace,
        endpoints: coord.etcd.endpoints,
        readOnly: !!options.readOnly,
        authRequired: !!options.token,
        startedAt: live.mirror.since,
        metricsAvailable: !!metrics,
      },
      streams: new Set(),
      defaultAuthor: options.author ?? 'dashboard',
      log,
    };
    let dashboard: ServerOptions['dashboard'] = { unavailable: 'the dashboard is turned off for this server' };
    if (options.dashboard ?? true) {
      try {
        dashboard = { dist: await ensureDashboard(log) };
      } catch (e) {
        log(`admin: the dashboard could not be built (${(e as Error).message}); serving the API only`);
        dashboard = { unavailable: `the dashboard could not be built: ${(e as Error).message}` };
      }
    }
    const app = await createServer(ctx, { policy: { token: options.token, readOnly: !!options.readOnly }, dashboard, log });
    try {
      await app.listen({ host, port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
        throw new CoordError('invalid-argument', `cannot serve the admin API on ${options.listen ?? `${host}:${port}`}: ${code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EACCES' ? 'permission denied' : 'no such local address'}`, { cause: e });
      }
      throw e;
    }
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        for (const end of [...ctx.streams]) end();
        await app.close();
        await cleanup();
      })());
    return { url, port: bound, close, [Symbol.asyncDispose]: close };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
