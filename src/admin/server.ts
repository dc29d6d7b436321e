import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { authorize, type AccessPolicy } from './auth.ts';
import type { AdminContext } from './context.ts';
import { HttpError, toHttpError } from './errors-http.ts';
import { configRoutes } from './routes-config.ts';
import { coordinationRoutes } from './routes-coordination.ts';
import { eventsRoutes } from './routes-events.ts';
import { kvRoutes } from './routes-kv.ts';
import { overviewRoutes } from './routes-overview.ts';
import { servicesRoutes } from './routes-services.ts';

export interface ServerOptions {
  policy: AccessPolicy;
  /** The built dashboard to serve, or why there is none (the API works either way). */
  dashboard: { dist: string } | { unavailable: string };
  log: (line: string) => void;
}

// The SPA talks only to its own origin; nothing may frame it (its buttons change production state).
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The admin HTTP server: JSON API under /api/ (token, read-only and error policy in one place) and the dashboard. */
export async function createServer(ctx: AdminContext, options: ServerOptions): Promise<FastifyInstance> {
  // Config values may be as large as etcd accepts (1.5 MiB by default), and JSON-escaped on top.
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, forceCloseConnections: true });

  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/api/') || req.url === '/api') authorize(req, options.policy);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toHttpError(err, ctx.info.endpoints);
    if (status >= 500 && status !== 503) options.log(`admin: ${req.method} ${req.url} failed: ${(err as Error).stack ?? String(err)}`);
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="coord admin"');
    void reply.code(status).send(body);
  });

  overviewRoutes(app, ctx);
  servicesRoutes(app, ctx);
  configRoutes(app, ctx);
  coordinationRoutes(app, ctx);
  kvRoutes(app, ctx);
  eventsRoutes(app, ctx);

  const dash = options.dashboard;
  if ('dist' in dash) {
    // Only the fingerprinted assets are files; every other path is the app (client-side routes).
    await app.register(fastifyStatic, {
      root: join(dash.dist, 'assets'),
      prefix: '/assets/',
      index: false,
      immutable: true,
      maxAge: '365d',
      cacheControl: true,
    });
  }

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    if (path.startsWith('/api/') || path === '/api') throw new HttpError(404, 'not-found', `no such API endpoint: ${req.method} ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(404, 'not-found', `${req.method} ${path} not found`);
    if ('unavailable' in dash) {
      return reply.code(503).type('text/html; charset=utf-8').send(unavailablePage(dash.unavailable));
    }
    if (path.startsWith('/assets/')) return reply.code(404).type('text/plain').send('not found');
    // Client-side routes (/services, /config/shop/db.json) all get the app.
    if (!existsSync(join(dash.dist, 'index.html'))) return reply.code(503).type('text/plain').send('the dashboard build is missing; run npm run build:dashboard');
    return reply.header('cache-control', 'no-cache').sendFile('index.html', dash.dist, { cacheControl: false });
  });

  return app;
}

function unavailablePage(reason: string): string {
  const esc = reason.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>coord admin</title><body style="font-family:system-ui;margin:3rem">
<h1>coord dashboard unavailable</h1><p>${esc}</p><p>The admin API under <code>/api/</code> works; run <code>npm run build:dashboard</code> and restart to get the UI.</p>`;
}
