// Which routes need a token, and checking the one a request brings: the per-route policy
// (route table entry, then `auth.methods` by method, then by service, then `auth.policy`).
import * as grpc from '@grpc/grpc-js';
import type { FastifyRequest } from 'fastify';
import { CoordError } from '../core/errors.ts';
import type { JwtVerifier, VerifiedToken } from './auth-jwt.ts';
import type { Binding, RoutePolicy } from './bindings.ts';
import type { ResolvedGatewayOptions } from './options.ts';
import { GatewayHttpError } from './status-http.ts';

export function policyResolver(o: ResolvedGatewayOptions): (b: Binding) => RoutePolicy {
  const auth = o.auth;
  if (!auth) {
    const needy = o.routes.find((r) => r.auth && r.auth !== 'public');
    if (needy) throw new CoordError('invalid-argument', `gateway: route ${needy.method} ${needy.path} requires auth, but no auth options are set`);
    return () => 'public';
  }
  return (b) => b.policy ?? auth.methods?.[`${b.method.service}/${b.method.name}`] ?? auth.methods?.[b.method.service] ?? auth.policy ?? 'authenticated';
}

const BEARER = /^bearer\s+(.*?)\s*$/is;

export async function authenticate(req: FastifyRequest, policy: RoutePolicy, verifier: JwtVerifier): Promise<VerifiedToken | undefined> {
  const header = req.headers.authorization;
  const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
  if (policy === 'public') {
    // A token on a public route is used when valid (its claims are forwarded). A bad one is refused
    // (401), not taken as anonymous: a client presenting a token must learn that it does not work.
    if (!token) return undefined;
    return verifier.verify(token);
  }
  if (!token) {
    throw new GatewayHttpError(401, grpc.status.UNAUTHENTICATED, 'this route needs a bearer token (Authorization: Bearer <jwt>)', { 'www-authenticate': 'Bearer' });
  }
  const verified = await verifier.verify(token);
  if (typeof policy === 'object') {
    const missing = policy.scopes.filter((s) => !verified.scopes.includes(s));
    if (missing.length > 0) {
      throw new GatewayHttpError(403, grpc.status.PERMISSION_DENIED, `missing scope ${missing.join(' ')}`, {
        'www-authenticate': `Bearer error="insufficient_scope", scope="${policy.scopes.join(' ')}"`,
      });
    }
  }
  return verified;
}

