// startGateway()'s options: one interface with the defaults in its JSDoc, checked with zod and
// merged in one place.
import type * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Coord } from '../coord.ts';
import { CoordError } from '../core/errors.ts';
import type { ServiceConfigOptions } from '../grpc/service-config.ts';
import type { RateLimit } from '../resilience/rate-limiter.ts';
import { JWT_ALGORITHMS, type JwtOptions } from './auth-jwt.ts';
import type { RouteConfig, RoutePolicy } from './bindings.ts';
import type { CorsOptions } from './cors.ts';

/** The gateway's JWT verification and which routes need what; defaults in each field's doc. */
export interface AuthOptions extends JwtOptions {
  /** Policy for routes nothing else names. Default `'authenticated'`. */
  policy?: RoutePolicy;
  /** Policies by `pkg.Service/Method` or `pkg.Service` (the method wins). Route table entries may set their own. */
  methods?: Record<string, RoutePolicy>;
}

/** The gateway's request rate limits; defaults in each field's doc. */
export interface RateLimitOptions {
  /** Per client IP (see `trustProxy` behind a proxy). Default none. */
  perIp?: RateLimit;
  /** Per token subject, on authenticated requests. Default none. */
  perSubject?: RateLimit;
  /** Buckets kept per limit; the oldest go beyond this. Default 100000. */
  maxKeys?: number;
}

/** Options for {@link startGateway}; defaults in each field's doc. */
export interface GatewayOptions {
  /** The registry backends are discovered in: `etcd:///<name>` through this Coord (the gateway calls etcd-coord/grpc `setup({ coord })`). Or give `endpoints`. */
  coord?: Coord;
  /** etcd endpoints to discover backends through, when no `coord` is given (`etcd://<endpoints>/<name>`). */
  endpoints?: string | string[];
  /** Namespace with `endpoints`. Default `/coord/`. */
  namespace?: string;
  /** .proto files to serve. Required. */
  protoFiles: string[];
  /** Import paths. coord's google/api and google/rpc protos are always included. Default none. */
  includeDirs?: string[];
  /** Proto service (`pkg.Service`) → registry name or gRPC target. Default: the service's short name in kebab case without a `Service` suffix (`shop.OrderService` → `order`). */
  services?: Record<string, string>;
  /** Routes for methods without `google.api.http` annotations. Default none. */
  routes?: RouteConfig[];
  /** `host:port` to listen on. Default `127.0.0.1:0` (a free port). */
  listen?: string;
  /** JWT authentication; without it every route is public. */
  auth?: AuthOptions;
  rateLimits?: RateLimitOptions;
  /** CORS; without it no CORS headers are sent. */
  cors?: CorsOptions;
  /** Largest request body, bytes (413 beyond). Default 1 MiB. */
  bodyLimit?: number;
  /** gRPC deadline of a request that asks for none, ms. Default 15000. */
  timeoutMs?: number;
  /** Cap on the deadline a request asks for (`grpc-timeout`, `x-request-timeout`), ms. Default 60000. */
  maxTimeoutMs?: number;
  /** Request headers forwarded as gRPC metadata as they are (besides `grpc-metadata-<key>` headers, always forwarded as `<key>`). Default none. */
  forwardHeaders?: string[];
  /** Unknown JSON fields are a 400 (true) or ignored. Default true. */
  rejectUnknownFields?: boolean;
  /** Fastify's trustProxy: whose X-Forwarded-For to believe for the client IP. Default false. */
  trustProxy?: boolean | string | string[] | number;
  /** Serve `/openapi.json` and `/docs`. Default true. */
  openapi?: boolean | { title?: string; version?: string };
  /** Applied to the Fastify app, in order, before the gateway's routes (hooks, metrics routes, …). */
  plugins?: Array<(app: FastifyInstance) => void | Promise<void>>;
  /** Client interceptors appended after coord's (deadline, adaptive throttle) on every backend. */
  grpcInterceptors?: grpc.Interceptor[];
  /** Balancing and method config for backend channels (etcd-coord/grpc serviceConfig()). Default p2c_ewma with outlier detection. */
  serviceConfig?: ServiceConfigOptions;
  /** Backend channel credentials. Default insecure. */
  credentials?: grpc.ChannelCredentials;
  /** One line per notable event (listening, backend errors answered 5xx). Default: stderr. */
  log?: (line: string) => void;
}

const policy = z.union([z.literal('public'), z.literal('authenticated'), z.object({ scopes: z.array(z.string().min(1)).min(1) }).strict()]);
const rateLimit = z.object({ rate: z.number().positive(), burst: z.number().min(1).optional() }).strict();
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'expected a function');
const strings = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const schema = z
  .object({
    coord: z.custom<Coord>((v) => typeof v === 'object' && v !== null, 'expected a Coord').optional(),
    endpoints: strings.optional(),
    namespace: z.string().min(1).optional(),
    protoFiles: z.array(z.string().min(1)).min(1),
    includeDirs: z.array(z.string().min(1)).optional(),
    services: z.record(z.string(), z.string().min(1)).optional(),
    routes: z
      .array(
        z
          .object({
            method: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/),
            path: z.string().startsWith('/'),
            rpc: z.string().regex(/^[\w.]+[./]\w+$/, 'expected pkg.Service/Method'),
            body: z.string().optional(),
            responseBody: z.string().optional(),
            auth: policy.optional(),
          })
          .strict(),
      )
      .optional(),
    listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:]+):\d{1,5}$/, 'expected host:port').optional(),
    auth: z
      .object({
        keys: z
          .array(
            z
              .object({
                kid: z.string().min(1).optional(),
                alg: z.enum(JWT_ALGORITHMS),
                secret: z.string().optional(),
                publicKey: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
              })
              .strict(),
          )
          .optional(),
        jwks: z
          .object({
            url: z.string().url(),
            algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
            cooldownMs: z.number().min(0).optional(),
            cacheMaxAgeMs: z.number().positive().optional(),
            timeoutMs: z.number().positive().optional(),
          })
          .strict()
          .optional(),
        issuer: strings.optional(),
        audience: strings.optional(),
        clockToleranceSec: z.number().min(0).optional(),
        requireExp: z.boolean().optional(),
        policy: policy.optional(),
        methods: z.record(z.string(), policy).optional(),
      })
      .strict()
      .refine((a) => (a.keys?.length ?? 0) > 0 || a.jwks, 'auth needs keys or jwks')
      .optional(),
    rateLimits: z.object({ perIp: rateLimit.optional(), perSubject: rateLimit.optional(), maxKeys: z.number().int().positive().optional() }).strict().optional(),
    cors: z
      .object({
        origins: z.union([z.literal('*'), z.array(z.string().min(1)), fn]),
        credentials: z.boolean().optional(),
        allowHeaders: z.array(z.string()).optional(),
        exposeHeaders: z.array(z.string()).optional(),
        maxAgeSec: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    bodyLimit: z.number().int().positive().optional(),
    timeoutMs: z.number().positive().optional(),
    maxTimeoutMs: z.number().positive().optional(),
    forwardHeaders: z.array(z.string().min(1)).optional(),
    rejectUnknownFields: z.boolean().optional(),
    trustProxy: z.union([z.boolean(), z.string(), z.array(z.string()), z.number()]).optional(),
    openapi: z.union([z.boolean(), z.object({ title: z.string().optional(), version: z.string().optional() }).strict()]).optional(),
    plugins: z.array(fn).optional(),
    grpcInterceptors: z.array(fn).optional(),
    serviceConfig: z.record(z.string(), z.unknown()).optional(),
    credentials: z.custom<grpc.ChannelCredentials>((v) => typeof v === 'object' && v !== null).optional(),
    log: fn.optional(),
  })
  .strict();

export type ResolvedGatewayOptions = Required<Pick<GatewayOptions, 'protoFiles' | 'includeDirs' | 'services' | 'routes' | 'listen' | 'bodyLimit' | 'timeoutMs' | 'maxTimeoutMs' | 'forwardHeaders' | 'rejectUnknownFields' | 'trustProxy' | 'plugins' | 'grpcInterceptors' | 'log'>> &
  Pick<GatewayOptions, 'coord' | 'auth' | 'rateLimits' | 'cors' | 'serviceConfig' | 'credentials'> & {
    endpoints: string[];
    namespace: string | undefined;
    openapi: false | { title: string; version: string };
  };

/** Checks `options` and merges them over the defaults; a CoordError('invalid-argument') lists every problem. */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  const r = schema.safeParse(options);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'options'}: ${i.message}`).join('; ');
    throw new CoordError('invalid-argument', `gateway: invalid options: ${detail}`);
  }
  if (!options.coord && !options.endpoints) throw new CoordError('invalid-argument', 'gateway: give coord (a Coord from connect()) or endpoints (etcd host:port list)');
  const endpoints = options.coord ? [] : typeof options.endpoints === 'string' ? options.endpoints.split(',').map((s) => s.trim()).filter(Boolean) : [...(options.endpoints ?? [])];
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxTimeoutMs = options.maxTimeoutMs ?? Math.max(60_000, timeoutMs);
  if (timeoutMs > maxTimeoutMs) throw new CoordError('invalid-argument', `gateway: timeoutMs (${timeoutMs}) is above maxTimeoutMs (${maxTimeoutMs})`);
  const openapi = options.openapi ?? true;
  return {
    ...options,
    protoFiles: options.protoFiles,
    includeDirs: options.includeDirs ?? [],
    services: options.services ?? {},
    routes: options.routes ?? [],
    listen: options.listen ?? '127.0.0.1:0',
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    timeoutMs,
    maxTimeoutMs,
    forwardHeaders: (options.forwardHeaders ?? []).map((h) => h.toLowerCase()),
    rejectUnknownFields: options.rejectUnknownFields ?? true,
    trustProxy: options.trustProxy ?? false,
    plugins: options.plugins ?? [],
    grpcInterceptors: options.grpcInterceptors ?? [],
    log: options.log ?? ((line: string) => void process.stderr.write(`${line}\n`)),
    endpoints,
    namespace: options.coord ? undefined : (options.namespace ?? '/coord/'),
    openapi: openapi === false ? false : { title: 'coord gateway', version: '1.0.0', ...(openapi === true ? {} : openapi) },
  };
}
