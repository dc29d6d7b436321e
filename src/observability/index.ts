// etcd-coord/observability: OpenTelemetry tracing across HTTP (Fastify) and gRPC hops with W3C trace
// context, Prometheus metrics (RED per route and method, picks per endpoint, throttling, shedding,
// and coord's locks, elections, config, registry and leases), and pino logs with trace ids.
export { createObservability, type Observability, type ObservabilityOptions } from './observability.ts';
export type { ClientTracingOptions } from './interceptor-client-tracing.ts';
export { tracingServerInterceptor, type GrpcTelemetry } from './interceptor-server-tracing.ts';
export { tracingClientInterceptor } from './interceptor-client-tracing.ts';
export { fastifyObservability, type FastifyObservabilityPlugin, type HttpTelemetry } from './fastify-plugin.ts';
export { createLogger, traceLogFields, type LogOptions } from './logger.ts';
export { metricsHandler, serveMetrics, type MetricsServer, type ServeMetricsOptions, type Scrape } from './metrics-server.ts';
export { createMetrics, type CoordMetrics } from './metrics.ts';
export { SpanMetricsProcessor } from './span-metrics-processor.ts';
export { metadataGetter, metadataSetter, headersGetter } from './propagation.ts';
