// One HTTP request through a Fastify front → gRPC service A → gRPC service B (real grpc-js
// servers from serve(), found through `etcd:///` in an in-process coord store) is one trace with
// the right parent/child spans, A's log line carries its span's ids, and /metrics counts it.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import Fastify, { type FastifyInstance } from 'fastify';
import { echo, only, sample, startTraceSystem, type EchoStub, type TraceSystem } from './observability-fixture.ts';

describe('observability: HTTP → A → B through a plain Fastify app', () => {
  let sys: TraceSystem;
  let app: FastifyInstance;
  let base: string;
  let toA: EchoStub;

  before(async () => {
    sys = await startTraceSystem();
    toA = sys.clientOfA(sys.obs.grpcClientInterceptors({ target: `etcd:///${sys.aName}` }));
    app = Fastify();
    await app.register(sys.obs.fastifyPlugin);
    app.post('/echo/:who', async (request) => {
      const body = request.body as { message: string; fail?: number };
      return echo(toA, { message: body.message, fail_code: body.fail ?? 0 });
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app?.close();
    await sys?.close();
  });

  it('makes one trace: HTTP server → A client → A server → B client → B server, continuing the caller\'s traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await fetch(`${base}/echo/ana`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ message: 'hi' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { message: 'hi>a>b', server_id: 'a' });

    const spans = await sys.waitForSpans(traceId, 5);
    assert.equal(spans.length, 5, spans.map((s) => s.name).join(', '));
    const http = only(spans, 'POST /echo/:who', SpanKind.SERVER);
    // Walk the tree down from the HTTP span: each hop must have exactly one child of the right kind.
    const childOf = (p: typeof http, kind: SpanKind) => only(spans.filter((s) => s.parentSpanContext?.spanId === p.spanContext().spanId), 'coord.test.Echo/Echo', kind);
    const aClient = childOf(http, SpanKind.CLIENT);
    const aServer = childOf(aClient, SpanKind.SERVER);
    const bClient = childOf(aServer, SpanKind.CLIENT);
    const bServer = childOf(bClient, SpanKind.SERVER);
    const parent = (s: typeof http) => s.parentSpanContext?.spanId;
    assert.equal(parent(http), callerSpan, 'the HTTP span continues the incoming traceparent');
    assert.equal(parent(aClient), http.spanContext().spanId, 'the call to A is made inside the HTTP request');
    assert.equal(parent(aServer), aClient.spanContext().spanId);
    assert.equal(parent(bClient), aServer.spanContext().spanId, 'A\'s handler runs inside its server span');
    assert.equal(parent(bServer), bClient.spanContext().spanId);

    assert.equal(http.attributes['http.route'], '/echo/:who');
    assert.equal(http.attributes['http.response.status_code'], 200);
    assert.equal(aServer.attributes['rpc.grpc.status_code'], 0);
    assert.equal(aClient.attributes['network.peer.address'], sys.a.address, 'the client span names the instance picked');
    assert.equal(bClient.attributes['network.peer.address'], sys.b.address);
    for (const s of spans) assert.equal(s.status.code, SpanStatusCode.UNSET, `${s.name} is not an error`);

    const line = sys.logs.find((l) => l.msg === 'a handling' && l.message === 'hi');
    assert.ok(line, 'A logged');
    assert.equal(line.trace_id, traceId);
    assert.equal(line.span_id, aServer.spanContext().spanId);
    assert.equal(line.service, 'obs-test');
  });

  it('starts a new trace without a traceparent, and /metrics (on the app and on serveMetrics) counts the requests', async () => {
    sys.exporter.reset();
    const res = await fetch(`${base}/echo/bo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'x' }) });
    assert.equal(res.status, 200);
    const http = await sys.waitForSpan('POST /echo/:who');
    assert.equal(http.parentSpanContext, undefined, 'a root span');
    assert.equal((await sys.waitForSpans(http.spanContext().traceId, 5)).length, 5);

    const fromApp = await (await fetch(`${base}/metrics`)).text();
    const server = await sys.obs.serveMetrics({ listen: '127.0.0.1:0' });
    let fromServer: string;
    try {
      const r = await fetch(server.url);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
      fromServer = await r.text();
    } finally {
      await server.close();
    }
    for (const text of [fromApp, fromServer]) {
      // Two requests so far (this test's and the first test's).
      assert.equal(sample(text, 'http_server_requests_total', { method: 'POST', route: '/echo/:who', status_code: '200' }), 2);
      assert.equal(sample(text, 'http_server_request_duration_seconds_count', { method: 'POST', route: '/echo/:who', status_code: '200' }), 2);
      // A and B share this process's registry: two server calls per request.
      assert.equal(sample(text, 'grpc_server_handled_total', { grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'OK' }), 4);
      assert.equal(sample(text, 'grpc_server_handling_seconds_count', { grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'OK' }), 4);
      assert.equal(sample(text, 'grpc_client_handled_total', { target: `etcd:///${sys.aName}`, grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'OK' }), 2);
      assert.equal(sample(text, 'grpc_client_handled_total', { target: `etcd:///${sys.bName}`, grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'OK' }), 2);
      assert.equal(sample(text, 'coord_grpc_client_picks_total', { target: `etcd:///${sys.bName}`, peer: sys.b.address }), 2);
      assert.equal(sample(text, 'coord_grpc_client_picks_total', { target: `etcd:///${sys.aName}`, peer: sys.a.address }), 2);
      // serve() registered both services: the span-derived registry metric saw it.
      assert.equal(sample(text, 'coord_registry_events_total', { service: sys.aName, event: 'registered' }), 1);
    }
  });

  it('keeps the request\'s context for a body that arrives after the headers (a slow client)', async () => {
    sys.exporter.reset();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/echo/slow`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-b7ad6b7169203331-01` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.flushHeaders();
      // The body comes in later socket reads, whose callbacks run outside the request's async context.
      setTimeout(() => req.end(JSON.stringify({ message: 'late' })), 50);
    });
    assert.equal(status, 200);
    const spans = await sys.waitForSpans(traceId, 5);
    assert.equal(spans.length, 5);
    const http = only(spans, 'POST /echo/:who', SpanKind.SERVER);
    assert.equal(spans.filter((s) => s.parentSpanContext?.spanId === http.spanContext().spanId).length, 1, 'the call to A is a child of the HTTP span');
  });

  it('marks a failing hop: status codes in spans and metrics, 500 at the front', async () => {
    sys.exporter.reset();
    const res = await fetch(`${base}/echo/cy`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'boom', fail: 13 }) });
    assert.equal(res.status, 500);
    const http = await sys.waitForSpan('POST /echo/:who');
    const spans = await sys.waitForSpans(http.spanContext().traceId, 5);
    assert.equal(spans.length, 5);
    for (const s of spans) assert.equal(s.status.code, SpanStatusCode.ERROR, `${s.name} (${s.kind}) is an error`);
    const text = await sys.obs.scrape().then((r) => r.body);
    assert.equal(sample(text, 'grpc_server_handled_total', { grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'INTERNAL' }), 2);
    assert.equal(sample(text, 'http_server_requests_total', { method: 'POST', route: '/echo/:who', status_code: '500' }), 1);
  });
});

