// The server interceptor makes its span active in handlers of all four kinds, including in the
// 'data' events of streaming requests, and continues the caller's traceparent; the client
// interceptor injects it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createObservability } from './observability.ts';

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Trace/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
});
const service: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  ClientStream: method('ClientStream', true, false),
  ServerStream: method('ServerStream', false, true),
  Bidi: method('Bidi', true, true),
};
const Client = grpc.makeGenericClientConstructor(service, 'Trace');
type AnyStub = grpc.Client & Record<string, (...args: unknown[]) => any>;

/** The span id active here, and the traceparent the call carried, as a reply. */
const activeSpanId = () => trace.getSpan(context.active())?.spanContext().spanId ?? 'none';
const report = (call: { metadata: grpc.Metadata }, where: string[]) => Buffer.from(JSON.stringify({ where, traceparent: call.metadata.get('traceparent')[0] ?? null }));

describe('gRPC tracing interceptors', () => {
  const exporter = new InMemorySpanExporter();
  const obs = createObservability({ serviceName: 'grpc-trace-test', processMetrics: false, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let server: grpc.Server;
  let stub: AnyStub;

  before(async () => {
    server = new grpc.Server({ interceptors: obs.grpcServerInterceptors() });
    server.addService(service, {
      Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const first = activeSpanId();
        if (call.request.toString() === 'fail') return cb({ code: grpc.status.INTERNAL, details: 'asked to fail' });
        setTimeout(() => cb(null, report(call, [first, activeSpanId()])), 1);
      },
      ClientStream(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const where = [activeSpanId()];
        call.on('data', () => where.push(activeSpanId()));
        call.on('end', () => cb(null, report(call, where)));
      },
      ServerStream(call: grpc.ServerWritableStream<Buffer, Buffer>) {
        const first = activeSpanId();
        setImmediate(() => {
          call.write(report(call, [first, activeSpanId()]));
          call.end();
        });
      },
      Bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
        const where = [activeSpanId()];
        call.on('data', () => where.push(activeSpanId()));
        call.on('end', () => {
          call.write(report(call, where));
          call.end();
        });
      },
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    stub = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { interceptors: obs.grpcClientInterceptors() }) as unknown as AnyStub;
  });
  after(async () => {
    stub?.close();
    server?.forceShutdown();
    await obs.shutdown();
  });

  const kinds: Record<string, () => Promise<Buffer>> = {
    Unary: () => new Promise((res, rej) => stub.Unary(Buffer.from('x'), (e: Error | null, r: Buffer) => (e ? rej(e) : res(r)))),
    ClientStream: () =>
      new Promise((res, rej) => {
        const c = stub.ClientStream((e: Error | null, r: Buffer) => (e ? rej(e) : res(r)));
        c.write(Buffer.from('1'));
        c.write(Buffer.from('2'));
        c.end();
      }),
    // Streams settle on 'status', after the call (and both spans) ended.
    ServerStream: () =>
      new Promise((res, rej) => {
        const c = stub.ServerStream(Buffer.from('x'));
        let reply: Buffer;
        c.on('data', (r: Buffer) => (reply = r));
        c.on('status', () => res(reply));
        c.on('error', rej);
      }),
    Bidi: () =>
      new Promise((res, rej) => {
        const c = stub.Bidi();
        let reply: Buffer;
        c.on('data', (r: Buffer) => (reply = r));
        c.on('status', () => res(reply));
        c.on('error', rej);
        c.write(Buffer.from('1'));
        c.write(Buffer.from('2'));
        c.end();
      }),
  };

  for (const [kind, run] of Object.entries(kinds)) {
    it(`${kind}: the server span is active in the handler, its callbacks and its stream events; it continues the client span`, async () => {
      exporter.reset();
      const caller = obs.tracer.startSpan('caller');
      const reply = await context.with(trace.setSpan(ROOT_CONTEXT, caller), run);
      caller.end();
      const { where, traceparent } = JSON.parse(reply.toString()) as { where: string[]; traceparent: string };
      const spans = exporter.getFinishedSpans();
      const client = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === `test.Trace/${kind}`)!;
      const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === `test.Trace/${kind}`)!;
      assert.ok(client && serverSpan, `client and server spans of ${kind}`);
      assert.equal(client.parentSpanContext?.spanId, caller.spanContext().spanId);
      assert.equal(traceparent, `00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`);
      assert.equal(serverSpan.parentSpanContext?.spanId, client.spanContext().spanId);
      assert.ok(where.length >= 2);
      for (const w of where) assert.equal(w, serverSpan.spanContext().spanId);
    });
  }

  it('continues a traceparent sent by a client without interceptors; a malformed one starts a new trace', async () => {
    exporter.reset();
    const plain = new Client(stub.getChannel().getTarget().replace(/^dns:/, ''), grpc.credentials.createInsecure()) as unknown as AnyStub;
    const unary = (traceparent: string) => {
      const md = new grpc.Metadata();
      md.set('traceparent', traceparent);
      return new Promise((res, rej) => plain.Unary(Buffer.from('x'), md, (e: Error | null, r: Buffer) => (e ? rej(e) : res(r))));
    };
    await unary('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    await unary('00-not-a-trace-01');
    plain.close();
    const [first, second] = exporter.getFinishedSpans();
    assert.equal(first.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(first.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(second.parentSpanContext, undefined);
    assert.notEqual(second.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
  });

  it('a failed call: error status on both spans and the code in the metrics', async () => {
    exporter.reset();
    await assert.rejects(new Promise((res, rej) => stub.Unary(Buffer.from('fail'), (e: Error | null, r: Buffer) => (e ? rej(e) : res(r)))), /asked to fail/);
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    for (const s of spans) {
      assert.equal(s.status.code, SpanStatusCode.ERROR);
      assert.equal(s.attributes['rpc.grpc.status_code'], grpc.status.INTERNAL);
    }
    const text = (await obs.scrape()).body;
    assert.match(text, /grpc_server_handled_total\{grpc_service="test.Trace",grpc_method="Unary",grpc_code="INTERNAL"\} 1/);
    assert.match(text, /grpc_client_handled_total\{target="test.Trace",grpc_service="test.Trace",grpc_method="Unary",grpc_code="INTERNAL"\} 1/);
  });
});
