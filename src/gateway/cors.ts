// CORS: allowed origins get Access-Control-Allow-Origin (and Vary: Origin) on every answer;
// preflights (OPTIONS with Access-Control-Request-Method) are answered 204 here, or 403 for an
// origin that is not allowed, before routing, auth or rate limits see them.
import * as grpc from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayHttpError } from './status-http.ts';

/** The gateway's CORS answers; defaults in each field's doc. */
export interface CorsOptions {
  /** `'*'` (any origin, never with credentials), a list of exact origins (`https://app.example.com`), or a predicate. */
  origins: '*' | string[] | ((origin: string) => boolean);
  /** Allow cookies/Authorization on cross-origin requests (Access-Control-Allow-Credentials). Default false. */
  credentials?: boolean;
  /** Request headers allowed. Default: whatever the preflight asks for. */
  allowHeaders?: string[];
  /** Response headers the page may read. Default `['x-request-id', 'retry-after']`. */
  exposeHeaders?: string[];
  /** How long browsers may cache a preflight, seconds. Default 600. */
  maxAgeSec?: number;
}

export class Cors {
  private readonly allowed: (origin: string) => boolean;
  private readonly expose: string;

  constructor(private readonly options: CorsOptions) {
    const o = options.origins;
    this.allowed = o === '*' ? () => true : typeof o === 'function' ? o : ((set) => (origin: string) => set.has(origin))(new Set(o));
    this.expose = (options.exposeHeaders ?? ['x-request-id', 'retry-after']).join(', ');
  }

  /** Sets the CORS headers; true when the request was a preflight and has been answered. */
  handle(req: FastifyRequest, reply: FastifyReply, methods: () => string[]): boolean {
    const origin = req.headers.origin;
    if (typeof origin !== 'string') return false;
    const ok = this.allowed(origin);
    const preflight = req.method === 'OPTIONS' && typeof req.headers['access-control-request-method'] === 'string';
    if (ok) {
      const any = this.options.origins === '*' && !this.options.credentials;
      reply.header('access-control-allow-origin', any ? '*' : origin);
      if (!any) reply.header('vary', 'Origin');
      if (this.options.credentials) reply.header('access-control-allow-credentials', 'true');
      if (this.expose) reply.header('access-control-expose-headers', this.expose);
    }
    if (!preflight) return false;
    if (!ok) throw new GatewayHttpError(403, grpc.status.PERMISSION_DENIED, `CORS: origin ${origin} is not allowed`);
    const asked = req.headers['access-control-request-headers'];
    const headers = this.options.allowHeaders?.join(', ') ?? (typeof asked === 'string' ? asked : '');
    reply.header('access-control-allow-methods', methods().join(', '));
    if (headers) reply.header('access-control-allow-headers', headers);
    reply.header('access-control-max-age', String(this.options.maxAgeSec ?? 600));
    void reply.code(204).send();
    return true;
  }
}
