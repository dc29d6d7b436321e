// createObservability(): one object wiring OpenTelemetry tracing, Prometheus metrics and
// trace-correlated logs for a service, with the pieces to plug into gRPC (interceptors), Fastify
// (a plugin) and any process (/metrics endpoint).
import type * as grpc from '@grpc/grpc-js';
import { context, propagation, trace, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type Sampler, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CoordError } from '../core/errors.ts';
import type { Disposable } from '../core/events.ts';
import type { CoordServer } from '../grpc/server-handle.ts';
import type { AdaptiveThrottle } from '../resilience/adaptive-throttle.ts';
import { watchServer, watchThrottle, type Refreshers } from './collectors.ts';
import { fastifyObservability, type FastifyObservabilityPlugin } from './fastify-plugin.ts';
import { tracingClientInterceptor, type ClientTracingOptions } from './interceptor-client-tracing.ts';
import { tracingServerInterceptor } from './interceptor-server-tracing.ts';
import { createLogger, type LogOptions } from './logger.ts';
import { metricsHandler, serveMetrics, type MetricsServer, type Scrape, type ServeMetricsOptions } from './metrics-server.ts';
import { createMetrics, type CoordMetrics } from './metrics.ts';
import { otlpHttpExporter } from './otlp-exporter.ts';
import { SpanMetricsProcessor } from './span-metrics-processor.ts';

/** Options for {@link createObservability}; defaults in each field's doc. */
export interface ObservabilityOptions {
  /** The service's name: the `service.name` of its spans and the `service` field of its log lines. Required. */
  serviceName: string;
  /**
   * Export spans with OTLP over HTTP (batched): `{ url, headers }` of a collector
   * (`http://collector:4318/v1/traces`; needs the optional package
   * `@opentelemetry/exporter-trace-otlp-http`), or any SpanExporter. Default none: spans feed the
   * span-derived metrics and your `spanProcessors` only.
   */
  otlp?: { url: string; headers?: Record<string, string> } | SpanExporter;
  /** More span processors, e.g. `new SimpleSpanProcessor(new InMemorySpanExporter())` in tests. Default none. */
  spanProcessors?: SpanProcessor[];
  /** Default parent-based always-on (coord's span-derived metrics count only recorded spans). */
  sampler?: Sampler;
  /** The prom-client registry to put every metric in. Default a new Registry of its own. */
  registry?: Registry;
  /** Also export Node process metrics (CPU, memory, event-loop lag, GC) from prom-client. Default true. */
  processMetrics?: boolean;
  /** pino options for `logger` (level, destination, …). Default: info level to stdout. */
  logger?: LogOptions;
  /** Path of the metrics route the Fastify plugin adds and serveMetrics() answers; false: the plugin adds none. Default `/metrics`. */
  metricsPath?: string | false;
}

/** Tracing, metrics and logging for one service, as `createObservability()` returns them; `shutdown()` flushes and unregisters them. */
export interface Observability extends AsyncDisposable {
  readonly serviceName: string;
  /** Registered as the process's global provider: coord's own spans (locks, config, …) and `trace.getTracer()` go to it. */
  readonly tracerProvider: BasicTracerProvider;
  /** A tracer for your own spans. */
  readonly tracer: Tracer;
  /** W3C trace context + baggage; also the global propagator. */
  readonly propagator: TextMapPropagator;
  readonly registry: Registry;
  /** JSON logs carrying `trace_id`/`span_id` of the active span. */
  readonly logger: Logger;
  /** For serve({ interceptors }) or grpc.Server({ interceptors }): server spans continuing the caller's trace, RED metrics per method. */
  grpcServerInterceptors(): grpc.ServerInterceptor[];
  /** For a client's `interceptors` option, first in the list: client spans, traceparent injection, RED metrics, picks per endpoint. */
  grpcClientInterceptors(options?: ClientTracingOptions): grpc.Interceptor[];
  /** `app.register(obs.fastifyPlugin)` (or `await obs.fastifyPlugin(app)`): request spans, RED metrics per route, and the metrics route. */
  readonly fastifyPlugin: FastifyObservabilityPlugin;
  /** The Prometheus text exposition of `registry`. */
  scrape: Scrape;
  /** A node:http listener serving the metrics at `path` (default `metricsPath`). */
  metricsHandler(path?: string): ReturnType<typeof metricsHandler>;
  /** Starts an HTTP server answering only the metrics path (default listen `127.0.0.1:9464`). */
  serveMetrics(options?: ServeMetricsOptions): Promise<MetricsServer>;
  /** Exports a served server's refusals (shed, rate-limited, past deadline) and calls in flight, labelled `server` (default its registry name). Ends when the server closes. */
  watchServer(server: CoordServer, name?: string): Disposable;
  /** Exports an adaptive throttle's state (reject probability, window, local rejections), labelled `target`. */
  watchThrottle(throttle: AdaptiveThrottle, target: string): Disposable;
  /** Flushes and shuts down span export and unregisters the globals, so another Observability can be created. */
  shutdown(): Promise<void>;
}

/**
 * Sets up tracing (registered globally, with an AsyncLocalStorage context manager and W3C
 * propagation), a Prometheus registry with coord's metrics, and a logger. One per process: a
 * second one fails until the first is shut down.
 */
export function createObservability(options: ObservabilityOptions): Observability {
  if (!options.serviceName) throw new CoordError('invalid-argument', 'observability: serviceName is required');
  const registry = options.registry ?? new Registry();
  const refreshers: Refreshers = new Set();
  const metrics: CoordMetrics = createMetrics([registry], () => refreshers.forEach((f) => f()));
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const processors: SpanProcessor[] = [new SpanMetricsProcessor(metrics), ...(options.spanProcessors ?? [])];
  if (options.otlp) processors.push(new BatchSpanProcessor(isExporter(options.otlp) ? options.otlp : otlpHttpExporter({ url: options.otlp.url, headers: options.otlp.headers })));
  const tracerProvider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: processors,
    ...(options.sampler ? { sampler: options.sampler } : {}),
  });
  const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(contextManager)) {
    contextManager.disable();
    throw new CoordError('invalid-argument', 'observability: an OpenTelemetry context manager is already registered in this process (another createObservability() not shut down?)');
  }
  trace.setGlobalTracerProvider(tracerProvider);
  propagation.setGlobalPropagator(propagator);

  const tracer = tracerProvider.getTracer('coord/observability');
  const telemetry = { tracer, propagator, metrics };
  const metricsPath = options.metricsPath ?? '/metrics';
  const scrape: Scrape = async () => ({ contentType: registry.contentType, body: await registry.metrics() });
  let down: Promise<void> | undefined;
  const shutdown = () =>
    (down ??= (async () => {
      try {
        await tracerProvider.shutdown();
      } finally {
        trace.disable();
        propagation.disable();
        context.disable();
      }
    })());

  return {
    serviceName: options.serviceName,
    tracerProvider,
    tracer,
    propagator,
    registry,
    logger: createLogger(options.serviceName, options.logger),
    grpcServerInterceptors: () => [tracingServerInterceptor(telemetry)],
    grpcClientInterceptors: (o) => [tracingClientInterceptor(telemetry, o)],
    fastifyPlugin: fastifyObservability({ ...telemetry, metricsPath, scrape }),
    scrape,
    metricsHandler: (path) => metricsHandler(scrape, path ?? (metricsPath || '/metrics')),
    serveMetrics: (o = {}) => serveMetrics(scrape, { path: metricsPath || '/metrics', ...o }),
    watchServer: (server, name) => watchServer(metrics, refreshers, server, name ?? server.instance.name),
    watchThrottle: (throttle, target) => watchThrottle(metrics, refreshers, throttle, target),
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

function isExporter(o: ObservabilityOptions['otlp']): o is SpanExporter {
  return typeof (o as SpanExporter).export === 'function';
}
