// The client side of a gRPC hop: a CLIENT span, child of whatever span is active where the call
// is made (a Fastify request, a gRPC handler), with its context injected into the metadata as
// W3C traceparent; RED metrics per method; and the address each call was sent to (the balancer's
// pick, read back from the call's peer when it ends, so no hook inside the balancers is needed).
import * as grpc from '@grpc/grpc-js';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { GrpcTelemetry } from './interceptor-server-tracing.ts';
import { codeName, metadataSetter, rpcMethod } from './propagation.ts';

/** Options for `tracingClientInterceptor()`. */
export interface ClientTracingOptions {
  /** The `target` label of this client's metrics (e.g. `etcd:///orders`). Default: the called gRPC service's name. */
  target?: string;
}

/** A gRPC client interceptor that wraps each call in a client span and injects the trace context into its metadata. */
export function tracingClientInterceptor(t: GrpcTelemetry, options: ClientTracingOptions = {}): grpc.Interceptor {
  return (callOptions, nextCall) => {
    const m = rpcMethod(callOptions.method_definition.path);
    const target = options.target ?? m.service;
    const parent = context.active();
    const span = t.tracer.startSpan(m.spanName, { kind: SpanKind.CLIENT, attributes: m.attributes }, parent);
    const startedAt = performance.now();
    const call: grpc.InterceptingCall = new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        (t.propagator ?? propagation).inject(trace.setSpan(parent, span), metadata, metadataSetter);
        next(metadata, {
          onReceiveStatus(status, statusNext) {
            const labels = { target, grpc_service: m.service, grpc_method: m.method, grpc_code: codeName(status.code) };
            t.metrics.grpcClientHandled.inc(labels);
            t.metrics.grpcClientDuration.observe(labels, (performance.now() - startedAt) / 1000);
            const peer = call.getPeer();
            if (peer && peer !== 'unknown') {
              t.metrics.grpcClientPicks.inc({ target, peer });
              span.setAttribute('network.peer.address', peer);
            }
            span.setAttribute('rpc.grpc.status_code', status.code);
            if (status.code !== grpc.status.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: status.details });
            span.end();
            statusNext(status);
          },
        });
      },
    });
    return call;
  };
}
