// HTTP server spans and RED metrics for a Fastify app: a SERVER span per request continuing the
// caller's W3C traceparent, active while hooks and the handler run (so the gRPC calls a handler
// makes are its children), and request count and duration per method, route template and status.
//
// Why hooks and not @opentelemetry/instrumentation-http/-fastify: those patch modules through
// require/import hooks, which do not see ESM imports run with tsx unless a loader is registered
// before anything loads. A Fastify hook needs nothing of the sort. The context is entered in
// onRequest (Fastify parses the body under an AsyncResource of the request, so it survives a body
// that arrives later) and entered again in preHandler, right before the handler: a callback-style
// hook of another plugin that completes from some other async context (a pooled connection's
// event) would otherwise leave the handler outside the request's span.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { CoordMetrics } from './metrics.ts';
import { headersGetter } from './propagation.ts';

/** What `fastifyObservability()` records to, and where it serves metrics. */
export interface HttpTelemetry {
  tracer: Tracer;
  propagator?: TextMapPropagator;
  metrics: CoordMetrics;
  /** Serve the registry's metrics at this path on the app; false for none. */
  metricsPath: string | false;
  /** The registry's text exposition, for `metricsPath`. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** What the plugin keeps per request. */
interface RequestTelemetry {
  span: Span;
  context: Context;
  startedAt: number;
}

/** A Fastify plugin function: `app.register(plugin)` or `await plugin(app)` (it skips encapsulation, so its hooks apply to every route). */
export type FastifyObservabilityPlugin = ((app: FastifyInstance) => Promise<void>) & { [key: symbol]: unknown };

/** A Fastify plugin that gives each request a server span (continuing the W3C trace context in its headers) and records HTTP RED metrics. */
export function fastifyObservability(t: HttpTelemetry): FastifyObservabilityPlugin {
  const requests = new WeakMap<FastifyRequest, RequestTelemetry>();
  const plugin = async (app: FastifyInstance) => {
    app.addHook('onRequest', (request, _reply, done) => {
      const parent = (t.propagator ?? propagation).extract(ROOT_CONTEXT, request.raw.headers, headersGetter);
      const route = routeOf(request);
      const span = t.tracer.startSpan(
        `${request.method} ${route}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0], 'client.address': request.ip } },
        parent,
      );
      const active = trace.setSpan(parent, span);
      requests.set(request, { span, context: active, startedAt: performance.now() });
      context.with(active, done);
    });
    app.addHook('preHandler', (request, _reply, done) => {
      const r = requests.get(request);
      if (r) context.with(r.context, done);
      else done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      finish(request, reply, requests, t);
      done();
    });
    // A request whose client went away before the answer may never reach onResponse; finish() runs once either way.
    app.addHook('onRequestAbort', (request, done) => {
      finish(request, undefined, requests, t);
      done();
    });
    if (t.metricsPath !== false) {
      app.get(t.metricsPath, async (_request, reply) => {
        const { contentType, body } = await t.scrape();
        return reply.type(contentType).send(body);
      });
    }
  };
  // fastify-plugin's convention: without it, `app.register(plugin)` would scope the hooks to the plugin's own child context.
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'coord-observability' });
}

function finish(request: FastifyRequest, reply: FastifyReply | undefined, requests: WeakMap<FastifyRequest, RequestTelemetry>, t: HttpTelemetry): void {
  const r = requests.get(request);
  if (!r) return;
  requests.delete(request);
  const route = routeOf(request);
  const status = reply ? reply.statusCode : 499;
  const labels = { method: request.method, route, status_code: String(status) };
  t.metrics.httpRequests.inc(labels);
  t.metrics.httpDuration.observe(labels, (performance.now() - r.startedAt) / 1000);
  // The route is known once routing is done; the span was named before in case it never is.
  r.span.updateName(`${request.method} ${route}`);
  r.span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
  if (status >= 500 || !reply) r.span.setStatus({ code: SpanStatusCode.ERROR, message: reply ? `HTTP ${status}` : 'client closed the request' });
  r.span.end();
}

/**
 * The route template, never the raw URL (one series per user id would explode): the gateway's own
 * (its Fastify route is a catch-all; it decorates requests with `gatewayRoute`, set to
 * `POST /v1/orders/{id}` once matched, of which the path part is taken), else Fastify's
 * (`/users/:id`); `unmatched` when nothing matched.
 */
function routeOf(request: FastifyRequest): string {
  // Not `in`: with the gateway's type augmentation loaded, `in` would narrow the other branch to never.
  if (Reflect.has(request, 'gatewayRoute')) {
    const label: unknown = Reflect.get(request, 'gatewayRoute');
    return typeof label === 'string' ? label.slice(label.indexOf(' ') + 1) : 'unmatched';
  }
  return request.routeOptions.url ?? 'unmatched';
}
