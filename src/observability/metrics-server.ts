// `/metrics` over plain node:http, for processes that have no HTTP server of their own (a gRPC
// service): `serveMetrics({ listen: '0.0.0.0:9464' })`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoordError } from '../core/errors.ts';

/** Produces one Prometheus scrape: its content type and body (e.g. a prom-client Registry's). */
export type Scrape = () => Promise<{ contentType: string; body: string }>;

/** Options for `serveMetrics()`; defaults in each field's doc. */
export interface ServeMetricsOptions {
  /** `host:port` (`[::1]:9464`), or a port on 127.0.0.1; port 0 picks a free one. Default `127.0.0.1:9464`. */
  listen?: string | number;
  /** Path answered. Default `/metrics`. */
  path?: string;
}

/** A running metrics endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** `http://host:port/metrics`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A node:http request listener answering GET `path` with the exposition, 404 for other paths, 405 for other methods. */
export function metricsHandler(scrape: Scrape, path = '/metrics'): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== path) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${path}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${e instanceof Error ? e.message : String(e)}\n`),
    );
  };
}

/** Serves `scrape` as Prometheus text on `options.path` over plain node:http, for processes without an HTTP server of their own. */
export async function serveMetrics(scrape: Scrape, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const { host, port } = parseListen(options.listen ?? '127.0.0.1:9464');
  const path = options.path ?? '/metrics';
  const server = createServer(metricsHandler(scrape, path));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new CoordError('unavailable', `metrics: cannot listen on ${host}:${port}: ${e.message}`, { cause: e, recoverable: false })));
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return { url: `http://${hostPart}:${bound}${path}`, port: bound, close, [Symbol.asyncDispose]: close };
}

function parseListen(listen: string | number): { host: string; port: number } {
  if (typeof listen === 'number') return { host: '127.0.0.1', port: checkPort(listen, String(listen)) };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new CoordError('invalid-argument', `metrics: listen must be host:port or a port, got ${JSON.stringify(listen)}`);
  return { host: m[1] ?? m[2], port: checkPort(Number(m[3]), listen) };
}

function checkPort(port: number, given: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CoordError('invalid-argument', `metrics: port must be 0..65535, got ${JSON.stringify(given)}`);
  return port;
}
