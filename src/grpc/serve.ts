// serve(): a grpc-js server that registers itself in coord's registry once it listens, answers
// grpc.health.v1 and reflection, guards its handlers (deadlines, exceptions, load shedding, rate
// limits) and shuts down without dropping a call (see server-handle.ts for the shutdown steps).
import { hostname, networkInterfaces } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { CoordError } from '../core/errors.ts';
import type { ServiceInstance } from '../registry/instance.ts';
import { LoadShedder } from '../resilience/load-shedder.ts';
import { bindCallContext } from './call-context.ts';
import { LiveCalls } from './interceptor-server-call-tracking.ts';
import { resolveServeOptions, type ServeOptions } from './serve-options.ts';
import type { ServiceSource } from './service-types.ts';
import { describeError, guardHandlers } from './server-handlers.ts';
import { ServerHandle, type CoordServer } from './server-handle.ts';
import { HEALTH_SERVICE, ServerHealth, serviceName } from './server-health.ts';
import { serverInterceptors } from './server-interceptors.ts';
import { addReflection } from './server-reflection.ts';
import { ServerCounters } from './server-stats.ts';

/**
 * Starts a gRPC server: binds, serves health and reflection, then registers the instance
 * (endpoint `grpc://<advertiseHost>:<port>`) — only once it listens, so no client is sent to a
 * port that is not open. Resolves when serving and registered. Shuts down gracefully on
 * SIGTERM/SIGINT (unless `signals: false`) or close(). Each service's handlers are type-checked
 * against its generated types (see ServeOptions.services).
 */
export async function serve<const T extends readonly ServiceSource[]>(options: ServeOptions<T>): Promise<CoordServer> {
  const o = resolveServeOptions(options as ServeOptions);
  const counters = new ServerCounters();
  const live = new LiveCalls();
  const shedder = o.shedding ? new LoadShedder(o.shedding === true ? {} : o.shedding) : undefined;
  const server = new grpc.Server({
    ...o.grpcOptions,
    interceptors: [...serverInterceptors({ counters, live, shedder, rateLimits: o.rateLimits, log: o.log }), ...o.interceptors],
  });
  let handle: ServerHandle;
  try {
    const served = new Map<string, grpc.ServiceDefinition>();
    const onHandlerError = (method: string, error: unknown) => {
      counters.internalErrors++;
      o.log(`grpc: ${method} failed, answered INTERNAL: ${describeError(error)}`);
    };
    for (const [definition, implementation] of o.services) {
      const name = serviceName(definition);
      if (served.has(name)) throw new CoordError('invalid-argument', `service ${name} is listed twice`);
      served.set(name, definition);
      server.addService(definition, bindCallContext(definition, guardHandlers(definition, implementation, onHandlerError)));
    }
    const health = o.health ? new ServerHealth(served.keys()) : undefined;
    health?.addTo(server);
    if (o.reflection) {
      const listed = new Map(served);
      if (health) listed.set(HEALTH_SERVICE, ServerHealth.definition());
      const missing = addReflection(server, listed, o.reflection === true ? {} : o.reflection);
      if (missing.length) o.log(`grpc: reflection has no descriptors for ${missing.join(', ')} (not loaded with @grpc/proto-loader): pass reflection.protoPaths`);
    }
    const port = await bind(server, o.host, o.port, o.credentials);
    const host = o.advertiseHost ?? advertisedHost(o.host);
    const instance: ServiceInstance = {
      id: o.id ?? `${hostname()}-${port}`,
      name: o.name,
      ...(o.version === undefined ? {} : { version: o.version }),
      endpoints: [`grpc://${hostPort(host, port)}`],
      ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
      status: 'serving',
    };
    handle = new ServerHandle({ options: o, server, port, address: hostPort(o.host, port), instance, counters, live, shedder, health });
  } catch (e) {
    server.forceShutdown();
    shedder?.close();
    throw e;
  }
  // From here the handle owns the server: a failed start shuts it down through close().
  await handle.start();
  return handle;
}

function bind(server: grpc.Server, host: string, port: number, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(hostPort(host, port), credentials, (err, bound) =>
      err ? reject(new CoordError('unavailable', `serve: cannot listen on ${hostPort(host, port)}: ${err.message}`, { cause: err, recoverable: false })) : resolve(bound),
    ),
  );
}

/** `host:port`, with an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address others reach a server bound to `host` at: a wildcard bind advertises the first external IPv4. */
function advertisedHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '[::]') return host;
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (external) return external.address;
  }
  return '127.0.0.1';
}
