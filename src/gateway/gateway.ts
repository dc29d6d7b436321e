// startGateway(): a Fastify server transcoding HTTP/JSON to gRPC backends found in the registry.
// Per request: CORS and request id (onRequest), then in the handler per-IP limit → route match →
// auth → per-subject limit → deadline → request message → gRPC call → proto3 JSON answer. The
// call starts inside the handler, so an async context (an OpenTelemetry span set by a plugin's
// hook) reaches the gRPC client interceptors.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CoordError } from '../core/errors.ts';
import { setup } from '../grpc/setup.ts';
import { JwtVerifier } from './auth-jwt.ts';
import { authenticate, policyResolver } from './auth-policy.ts';
import { Backends } from './backends.ts';
import { collectBindings, type Binding, type RoutePolicy } from './bindings.ts';
import { Cors } from './cors.ts';
import { docsPage } from './docs-page.ts';
import { JsonCodec } from './json-codec.ts';
import { forwardResponseMetadata, forwardTrailers, requestMetadata } from './metadata.ts';
import { openApiDocument } from './openapi.ts';
import { resolveGatewayOptions, type GatewayOptions } from './options.ts';
import { loadProtos } from './protos.ts';
import { KeyedBuckets } from './rate-limit.ts';
import { buildRequest } from './request-message.ts';
import { Router } from './router.ts';
import { errorAnswer, GatewayHttpError, grpcErrorAnswer, httpStatusOf, tooManyRequests, type ErrorBody } from './status-http.ts';
import { sendStream, streamFormat } from './streaming.ts';
import { requestTimeoutMs } from './timeout.ts';

/** A running gateway, as `startGateway()` returns it. */
export interface Gateway extends AsyncDisposable {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The Fastify app (for inject() in tests, or more routes before traffic arrives). */
  readonly app: FastifyInstance;
  /** The routes served: `GET /v1/shelves/{shelf_id}` → `/pkg.Service/Method`. */
  readonly routes: ReadonlyArray<{ route: string; rpc: string }>;
  /** The OpenAPI 3 document served at /openapi.json. */
  readonly openApi: Record<string, unknown>;
  /** Stops accepting, ends open connections, closes backend channels. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The route template the gateway matched (`GET /v1/shelves/{shelf_id}`), for metrics and logs; undefined before routing or when none matched. */
    gatewayRoute: string | undefined;
    /** The gRPC method it called (`/pkg.Service/Method`). */
    grpcMethod: string | undefined;
  }
}

interface Route {
  binding: Binding;
  policy: RoutePolicy;
  serialize: (msg: object) => Buffer;
  deserialize: (buf: Buffer) => unknown;
  toJson: (msg: unknown) => unknown;
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** Starts the gateway and resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const o = resolveGatewayOptions(options);
  const protos = loadProtos(o.protoFiles, o.includeDirs);
  const codec = new JsonCodec(protos.root, { rejectUnknownFields: o.rejectUnknownFields });
  const bindings = collectBindings(protos, o.routes);
  if (bindings.length === 0) throw new CoordError('invalid-argument', `gateway: no routes: ${protos.services.join(', ') || 'the protos'} have no google.api.http annotations and no routes were given`);
  for (const svc of Object.keys(o.services)) {
    if (!protos.services.includes(svc)) throw new CoordError('invalid-argument', `gateway: services names ${svc}, which is not a service in the loaded protos (${protos.services.join(', ')})`);
  }
  for (const key of Object.keys(o.auth?.methods ?? {})) {
    if (!protos.byName.has(key) && !protos.services.includes(key)) throw new CoordError('invalid-argument', `gateway: auth.methods names ${key}, which is neither a service nor a pkg.Service/Method in the loaded protos`);
  }
  const router = new Router(bindings);
  const policyOf = policyResolver(o);
  const routes = new Map<Binding, Route>(bindings.map((b) => [b, makeRoute(codec, b, policyOf(b))]));
  const verifier = o.auth ? await JwtVerifier.create(o.auth) : undefined;
  const perIp = o.rateLimits?.perIp ? new KeyedBuckets(o.rateLimits.perIp, o.rateLimits.maxKeys) : undefined;
  const perSubject = o.rateLimits?.perSubject ? new KeyedBuckets(o.rateLimits.perSubject, o.rateLimits.maxKeys) : undefined;
  const cors = o.cors ? new Cors(o.cors) : undefined;

  // The coord policies must be registered before serviceConfig() validates a config naming them.
  setup(o.coord ? { coord: o.coord } : {});
  const backends = new Backends({
    services: o.services,
    endpoints: o.endpoints,
    namespace: o.namespace,
    credentials: o.credentials ?? grpc.credentials.createInsecure(),
    serviceConfig: o.serviceConfig,
    interceptors: o.grpcInterceptors,
  });

  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    // A hop count is valid for Fastify (proxy-addr) though its types leave it out.
    trustProxy: o.trustProxy as boolean | string | string[],
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    forceCloseConnections: true,
    exposeHeadRoutes: false,
  });
  app.decorateRequest('gatewayRoute', undefined);
  app.decorateRequest('grpcMethod', undefined);
  app.removeAllContentTypeParsers();
  // Every body is read as text and parsed here, so a malformed one is a clear 400 for any content type.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // Callback style: cheaper than an async hook on every request.
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    try {
      if (cors?.handle(req, reply, () => [...router.methodsFor(req.url.split('?')[0]), 'OPTIONS'])) return;
    } catch (e) {
      return done(e as Error);
    }
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, headers } = errorAnswer(err, o.bodyLimit);
    if (status === 500) o.log(`gateway: ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
    void reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((req) => {
    throw new GatewayHttpError(404, grpc.status.NOT_FOUND, `no route for ${req.method} ${req.url.split('?')[0]}`);
  });

  try {
    for (const plugin of o.plugins) await plugin(app);
  } catch (e) {
    await app.close();
    throw e;
  }

  const openApi = o.openapi ? openApiDocument(bindings, { ...o.openapi, policyOf: verifier ? policyOf : undefined }) : {};
  if (o.openapi) {
    const json = JSON.stringify(openApi);
    const html = docsPage(o.openapi.title);
    app.get('/openapi.json', (_req, reply) => reply.type('application/json; charset=utf-8').send(json));
    app.get('/docs', (_req, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'").send(html));
  }

  const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const url = req.url;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (perIp) {
      const wait = perIp.take(req.ip);
      if (wait) throw tooManyRequests(wait, `client address ${req.ip}`);
    }
    // HEAD is GET without a body (Node's http leaves the body out of a HEAD answer).
    const match = router.match(req.method === 'HEAD' ? 'GET' : req.method, path);
    if (match.kind === 'not-found') throw new GatewayHttpError(404, grpc.status.NOT_FOUND, `no route for ${req.method} ${path}`);
    if (match.kind === 'method-not-allowed') {
      throw new GatewayHttpError(405, grpc.status.UNIMPLEMENTED, `${req.method} is not allowed on ${path}; allowed: ${match.allow.join(', ')}`, { allow: match.allow.join(', ') });
    }
    const b = match.binding;
    const route = routes.get(b)!;
    req.gatewayRoute = b.label;
    req.grpcMethod = b.method.path;
    const token = verifier ? await authenticate(req, route.policy, verifier) : undefined;
    if (perSubject && token) {
      const wait = perSubject.take(token.subject);
      if (wait) throw tooManyRequests(wait, `subject ${token.subject}`);
    }
    const timeoutMs = requestTimeoutMs(req.headers, o.timeoutMs, o.maxTimeoutMs);
    const body = b.body ? parseBody(req.body) : undefined;
    const msg = buildRequest(codec, b, match.params, q < 0 ? '' : url.slice(q + 1), body);
    const metadata = requestMetadata(req, token, o.forwardHeaders);
    const client = backends.client(b.method.service);
    const deadline = Date.now() + timeoutMs;
    if (b.method.serverStreaming) {
      const call = relay(client.makeServerStreamRequest(b.method.path, route.serialize, route.deserialize, msg, metadata, { deadline }), reply);
      try {
        await sendStream(reply, call, streamFormat(req.headers.accept), route.toJson, (e) => publicError(reply, e));
      } catch (e) {
        return sendGrpcError(reply, e as grpc.ServiceError);
      }
      return reply;
    }
    const res = await new Promise<{ error: grpc.ServiceError | null; value: unknown }>((resolve) => {
      relay(client.makeUnaryRequest(b.method.path, route.serialize, route.deserialize, msg, metadata, { deadline }, (error, value) => resolve({ error, value })), reply);
    });
    if (res.error) return sendGrpcError(reply, res.error);
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(route.toJson(res.value)));
  };

  // The client gets the public message and details only (public-message.ts, error-details.ts);
  // the log keeps the original message and the withheld details with the request id.
  const publicError = (reply: FastifyReply, e: grpc.ServiceError): ErrorBody => {
    const { body, withheld } = grpcErrorAnswer(codec, e);
    if (withheld !== undefined) o.log(`gateway: request ${reply.request.id}: ${reply.request.grpcMethod} answered ${grpc.status[e.code] ?? e.code}: ${withheld}`);
    return body;
  };

  const sendGrpcError = (reply: FastifyReply, e: grpc.ServiceError) => {
    const body = publicError(reply, e);
    forwardTrailers(reply, e.metadata);
    return reply.code(httpStatusOf(e.code)).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  };

  // Custom methods (google.api.http `custom`, e.g. SEARCH) must be known to Fastify's router.
  const methods = [...new Set([...app.supportedMethods, ...bindings.map((b) => b.httpMethod)])];
  for (const m of methods) if (!app.supportedMethods.includes(m)) app.addHttpMethod(m, { hasBody: true });
  app.route({ method: methods, url: '*', handler: handle });

  const { host, port } = splitListen(o.listen);
  try {
    await app.listen({ host, port });
  } catch (e) {
    backends.close();
    await app.close();
    throw new CoordError('unavailable', `gateway: cannot listen on ${o.listen}: ${(e as Error).message}`, { cause: e, recoverable: false });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  o.log(`gateway: listening on http://${urlHost}:${bound} (${bindings.length} routes${verifier ? ', auth on' : ''})`);
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await app.close();
      backends.close();
    })());
  return {
    url: `http://${urlHost}:${bound}`,
    port: bound,
    app,
    routes: router.bindings.map((b) => ({ route: b.label, rpc: b.method.path })),
    openApi,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function makeRoute(codec: JsonCodec, b: Binding, policy: RoutePolicy): Route {
  const req = b.method.requestType;
  const res = b.method.responseType;
  const field = b.responseField;
  return {
    binding: b,
    policy,
    serialize: (msg) => req.encode(msg).finish() as Buffer,
    deserialize: (buf) => res.decode(buf),
    toJson: field
      ? (msg) => codec.fieldToJson(field, (msg as Record<string, unknown>)[field.name])
      : (msg) => codec.toJson(res, msg as Record<string, unknown>),
  };
}

/**
 * Forwards the call's response metadata as headers and, for unary calls, its trailers (grpc-js
 * reports the status, with them, before the answer is written); cancels the call when the client
 * goes away before the answer is written.
 */
function relay<C extends grpc.ClientUnaryCall | grpc.ClientReadableStream<unknown>>(call: C, reply: FastifyReply): C {
  call.once('metadata', (md: grpc.Metadata) => forwardResponseMetadata(reply, md));
  call.once('status', (st: grpc.StatusObject) => {
    if (!reply.raw.headersSent) forwardTrailers(reply, st.metadata);
  });
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) call.cancel();
  });
  return call;
}

function parseBody(raw: unknown): unknown {
  if (raw === undefined || raw === null || raw === '') return undefined;
  try {
    return JSON.parse(raw as string);
  } catch (e) {
    throw new GatewayHttpError(400, grpc.status.INVALID_ARGUMENT, `malformed JSON body: ${(e as Error).message}`);
  }
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CoordError('invalid-argument', `gateway: listen port must be 0..65535, got ${listen}`);
  return { host, port };
}
