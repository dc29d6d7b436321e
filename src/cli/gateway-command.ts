import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JwtAlgorithm, JwtKeyConfig } from '../gateway/auth-jwt.ts';
import type { RouteConfig } from '../gateway/bindings.ts';
import type { AuthOptions, GatewayOptions } from '../gateway/options.ts';
import type { RateLimit } from '../resilience/rate-limiter.ts';
import { action, connectFrom, intArg, untilSignal, UsageError, withConnection, type ConnectionFlags } from './common.ts';

interface GatewayFlags extends ConnectionFlags {
  proto: string[];
  include: string[];
  listen: string;
  service: string[];
  route: string[];
  jwtSecret?: string;
  jwtPublicKey?: string;
  jwtAlg: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  authPolicy?: string;
  rateLimitIp?: string;
  rateLimitSubject?: string;
  corsOrigin: string[];
  bodyLimit?: string;
  requestTimeout?: string;
  maxTimeout?: string;
  openapi: boolean;
}

const collect = (v: string, acc: string[]) => [...acc, v];

/** `coord gateway`: the HTTP/JSON → gRPC gateway over the registry of an etcd (or coord store). */
export function registerGatewayCommand(program: Command): void {
  withConnection(program.command('gateway'))
    .description('serve HTTP/JSON in front of gRPC services found in the registry (google.api.http annotations or --route)')
    .option('--proto <file>', '.proto file to serve (repeatable)', collect, [])
    .option('--include <dir>', 'import path for the protos (repeatable)', collect, [])
    .option('--listen <host:port>', 'address to serve HTTP on', '127.0.0.1:8080')
    .option('--service <pkg.Service=name>', 'registry name (or gRPC target) of a proto service (repeatable; default: short name in kebab case without "Service")', collect, [])
    .option('--route <"METHOD /path pkg.Service/Method [body]">', 'route for an unannotated method (repeatable)', collect, [])
    .option('--jwt-secret <secret>', 'accept HS256 tokens signed with this secret (env COORD_JWT_SECRET)', process.env.COORD_JWT_SECRET)
    .option('--jwt-public-key <pem-file>', 'accept tokens signed by this public key (PEM, SPKI)')
    .option('--jwt-alg <alg>', 'algorithm of --jwt-public-key', 'RS256')
    .option('--jwks-url <url>', 'accept tokens signed by keys from this JWKS URL (RS256, ES256)')
    .option('--issuer <iss>', 'required token issuer')
    .option('--audience <aud>', 'required token audience')
    .option('--auth-policy <policy>', 'routes need a token (authenticated) or not (public); default authenticated when auth is configured')
    .option('--rate-limit-ip <rate[/burst]>', 'requests per second per client IP')
    .option('--rate-limit-subject <rate[/burst]>', 'requests per second per token subject')
    .option('--cors-origin <origin>', "allowed CORS origin, or '*' (repeatable)", collect, [])
    .option('--body-limit <bytes>', 'largest request body (default 1048576)')
    .option('--request-timeout <ms>', 'gRPC deadline of requests that ask for none (default 15000)')
    .option('--max-timeout <ms>', 'largest deadline a request may ask for (default 60000)')
    .option('--no-openapi', 'do not serve /openapi.json and /docs')
    .action(
      action(async (f: GatewayFlags) => {
        const options = gatewayOptionsFrom(f);
        // Loaded here, not at the top: every other coord command would pay for Fastify, jose and protobufjs.
        const { startGateway } = await import('../gateway/gateway.ts');
        const coord = connectFrom(f);
        try {
          const gw = await startGateway({ ...options, coord, log: (line) => console.error(line) });
          console.log(`coord gateway on ${gw.url} (${gw.routes.length} routes; etcd ${f.endpoints}, namespace ${coord.namespace})${f.openapi ? `; docs at ${gw.url}/docs` : ''}`);
          const signal = await untilSignal();
          console.error(`coord gateway: ${signal}, shutting down`);
          await gw.close();
        } finally {
          await coord.close();
        }
      }),
    );
}

/** The gateway options the flags describe; a UsageError (exit 2) for anything malformed. */
export function gatewayOptionsFrom(f: GatewayFlags): Omit<GatewayOptions, 'coord'> {
  if (f.proto.length === 0) throw new UsageError('--proto is required (one or more .proto files)');
  const services: Record<string, string> = {};
  for (const s of f.service) {
    const [k, v] = s.split('=');
    if (!k || !v) throw new UsageError(`--service must be pkg.Service=name, got '${s}'`);
    services[k] = v;
  }
  const routes: RouteConfig[] = f.route.map((r) => {
    const parts = r.trim().split(/\s+/);
    if (parts.length < 3 || parts.length > 4 || !parts[1].startsWith('/')) throw new UsageError(`--route must be "METHOD /path pkg.Service/Method [body]", got '${r}'`);
    return { method: parts[0].toUpperCase(), path: parts[1], rpc: parts[2], ...(parts[3] ? { body: parts[3] } : {}) };
  });
  const keys: JwtKeyConfig[] = [];
  if (f.jwtSecret) keys.push({ alg: 'HS256', secret: f.jwtSecret });
  if (f.jwtPublicKey) {
    let pem: string;
    try {
      pem = readFileSync(f.jwtPublicKey, 'utf8');
    } catch (e) {
      throw new UsageError(`--jwt-public-key: cannot read ${f.jwtPublicKey}: ${(e as Error).message}`);
    }
    keys.push({ alg: f.jwtAlg as JwtAlgorithm, publicKey: pem });
  }
  let auth: AuthOptions | undefined;
  if (keys.length || f.jwksUrl) {
    if (f.authPolicy !== undefined && f.authPolicy !== 'public' && f.authPolicy !== 'authenticated') throw new UsageError(`--auth-policy must be public or authenticated, got '${f.authPolicy}'`);
    auth = {
      ...(keys.length ? { keys } : {}),
      ...(f.jwksUrl ? { jwks: { url: f.jwksUrl } } : {}),
      ...(f.issuer ? { issuer: f.issuer } : {}),
      ...(f.audience ? { audience: f.audience } : {}),
      ...(f.authPolicy ? { policy: f.authPolicy as 'public' | 'authenticated' } : {}),
    };
  } else if (f.issuer || f.audience || f.authPolicy) {
    throw new UsageError('--issuer, --audience and --auth-policy need --jwt-secret, --jwt-public-key or --jwks-url');
  }
  const perIp = rateArg('--rate-limit-ip', f.rateLimitIp);
  const perSubject = rateArg('--rate-limit-subject', f.rateLimitSubject);
  const bodyLimit = intArg('--body-limit', f.bodyLimit);
  const timeoutMs = intArg('--request-timeout', f.requestTimeout);
  const maxTimeoutMs = intArg('--max-timeout', f.maxTimeout);
  return {
    protoFiles: f.proto,
    includeDirs: f.include,
    services,
    routes,
    listen: f.listen,
    ...(auth ? { auth } : {}),
    ...(perIp || perSubject ? { rateLimits: { ...(perIp ? { perIp } : {}), ...(perSubject ? { perSubject } : {}) } } : {}),
    ...(f.corsOrigin.length ? { cors: { origins: f.corsOrigin.includes('*') ? '*' : f.corsOrigin } } : {}),
    ...(bodyLimit ? { bodyLimit } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(maxTimeoutMs ? { maxTimeoutMs } : {}),
    openapi: f.openapi,
  };
}

function rateArg(name: string, v: string | undefined): RateLimit | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(v);
  if (!m || !(Number(m[1]) > 0)) throw new UsageError(`${name} must be <rate>[/<burst>] with rate > 0, got '${v}'`);
  return { rate: Number(m[1]), ...(m[2] ? { burst: Number(m[2]) } : {}) };
}
