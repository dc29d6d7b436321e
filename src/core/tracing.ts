// Spans for coord's own operations (locks, elections, config, registry, leases), through the
// OpenTelemetry API only: without a registered TracerProvider every call here is a no-op, and
// no layer below observability needs to know whether tracing is on (etcd-coord/observability wires
// the SDK and turns these spans into metrics too). Names and attributes are listed in README.md.
import { INVALID_SPAN_CONTEXT, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';

let cached: { provider: TracerProvider; tracer: Tracer } | undefined;
/** Handed to callbacks while tracing is off: every method is a no-op. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * The 'coord' tracer of the provider registered now (re-read, so a provider set later or replaced
 * is used), or undefined while none is: then the callers skip the span machinery altogether.
 */
function tracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  if (provider instanceof ProxyTracerProvider && provider.getDelegateTracer('coord') === undefined) return undefined;
  if (cached?.provider !== provider) cached = { provider, tracer: provider.getTracer('coord') };
  return cached.tracer;
}

/**
 * Runs `fn` inside an active span `name`: the span records a rejection as an error and ends when
 * `fn` settles. `fn` may add attributes (fencing token, version) to the span it is given. `root`
 * starts a trace of its own, for background work that belongs to no request.
 */
export function traced<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, root = false): Promise<T> {
  const t = tracer();
  if (!t) return fn(NO_SPAN);
  return t.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes, root }, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      span.end();
    }
  });
}

/**
 * Records something that happened in the background (a lease lost, a config reload) as a span of
 * its own trace: it belongs to no request, even when the watch behind it was opened inside one.
 * With `fn`, the span is active while `fn` runs (listeners reacting to the event become children)
 * and ends after it; `error` marks it failed.
 */
export function tracedEvent<T = void>(name: string, attributes: Attributes, fn?: (span: Span) => T, error?: string): T | undefined {
  const t = tracer();
  if (!t) return fn?.(NO_SPAN);
  return t.startActiveSpan(name, { kind: SpanKind.INTERNAL, attributes, root: true }, (span) => {
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    try {
      return fn?.(span);
    } finally {
      span.end();
    }
  });
}
