// The server side of a gRPC hop: a SERVER span continuing the caller's trace (W3C traceparent in
// the metadata), RED metrics per method, and the span's context made active for the handler.
//
// grpc-js calls a handler from inside the interceptor chain: unary and server-streaming handlers
// from onReceiveHalfClose, client-streaming and bidi ones from onReceiveMetadata, and incoming
// messages reach a stream from onReceiveMessage. Each of those `next` calls runs inside
// `context.with(span context)`, so the handler — and every promise, timer and stream event it
// starts — sees the span through OpenTelemetry's AsyncLocalStorage context manager, and its
// outgoing calls become children. It must be the innermost interceptor for that (serve() puts
// its `interceptors` after coord's own), and grpc-js never defers those calls past it.
import * as grpc from '@grpc/grpc-js';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import { isInfraMethod } from '../grpc/interceptor-server-gate.ts';
import type { CoordMetrics } from './metrics.ts';
import { codeName, metadataGetter, rpcMethod } from './propagation.ts';

/** What the gRPC tracing interceptors record to: a tracer, a propagator and coord's metrics. */
export interface GrpcTelemetry {
  tracer: Tracer;
  /** Default: the global propagator. */
  propagator?: TextMapPropagator;
  metrics: CoordMetrics;
}

/** A gRPC server interceptor that continues the caller's trace in a server span per call and records RED metrics (health checks and reflection excluded). */
export function tracingServerInterceptor(t: GrpcTelemetry): grpc.ServerInterceptor {
  return (method, call) => {
    // Health checks and reflection are infrastructure: long-lived Watch streams would only add noise.
    if (isInfraMethod(method.path)) return new grpc.ServerInterceptingCall(call);
    const m = rpcMethod(method.path);
    const startedAt = performance.now();
    let span: Span | undefined;
    let active: Context = ROOT_CONTEXT;
    let ended = false;
    const end = (code: grpc.status, details: string) => {
      if (ended) return;
      ended = true;
      const labels = { grpc_service: m.service, grpc_method: m.method, grpc_code: codeName(code) };
      t.metrics.grpcServerHandled.inc(labels);
      t.metrics.grpcServerDuration.observe(labels, (performance.now() - startedAt) / 1000);
      if (!span) return;
      span.setAttribute('rpc.grpc.status_code', code);
      if (isServerError(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: details });
      span.end();
    };
    const inSpan = (next: () => void) => context.with(active, next);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, mdNext) {
            const parent = (t.propagator ?? propagation).extract(ROOT_CONTEXT, metadata, metadataGetter);
            span = t.tracer.startSpan(m.spanName, { kind: SpanKind.SERVER, attributes: { ...m.attributes, 'network.peer.address': call.getPeer() } }, parent);
            active = trace.setSpan(parent, span);
            inSpan(() => mdNext(metadata));
          },
          onReceiveMessage: (message, msgNext) => inSpan(() => msgNext(message)),
          onReceiveHalfClose: (halfCloseNext) => inSpan(halfCloseNext),
          onCancel: () => end(grpc.status.CANCELLED, 'cancelled by the client or past its deadline'),
        });
      },
      sendStatus(status, statusNext) {
        end(status.code, status.details ?? '');
        statusNext(status);
      },
    });
  };
}

/** OpenTelemetry's gRPC convention: on the server only these codes mark the span as an error (others are the caller's mistakes). */
function isServerError(code: grpc.status): boolean {
  return (
    code === grpc.status.UNKNOWN ||
    code === grpc.status.DEADLINE_EXCEEDED ||
    code === grpc.status.UNIMPLEMENTED ||
    code === grpc.status.INTERNAL ||
    code === grpc.status.UNAVAILABLE ||
    code === grpc.status.DATA_LOSS
  );
}
