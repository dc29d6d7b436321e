// The same three hops as observability-trace.test.ts with the gateway as the HTTP front:
// startGateway({ plugins: [obs.fastifyPlugin], grpcInterceptors: obs.grpcClientInterceptors() })
// → service A → service B is one trace, and the gateway's /metrics counts the request by its route.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { startGateway, type Gateway } from '../../src/gateway/index.ts';
import { ECHO_PROTO } from '../helpers/echo.ts';
import { only, sample, startTraceSystem, type TraceSystem } from './observability-fixture.ts';

describe('observability: HTTP → gateway → A → B', () => {
  let sys: TraceSystem;
  let gateway: Gateway;

  before(async () => {
    sys = await startTraceSystem();
    gateway = await startGateway({
      coord: sys.coord,
      protoFiles: [ECHO_PROTO],
      services: { 'coord.test.Echo': sys.aName },
      routes: [{ method: 'POST', path: '/v1/echo/{message}', rpc: 'coord.test.Echo/Echo', body: '*' }],
      plugins: [sys.obs.fastifyPlugin],
      grpcInterceptors: sys.obs.grpcClientInterceptors(),
      openapi: false,
      log: () => {},
    });
  });
  after(async () => {
    await gateway?.close();
    await sys?.close();
  });

  it('is one trace with correct parent/child spans, and the gateway\'s /metrics counts it', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const callerSpan = '10f067aa0ba902b8';
    const res = await fetch(`${gateway.url}/v1/echo/hello`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: '{}',
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { message: 'hello>a>b', serverId: 'a' });

    const spans = await sys.waitForSpans(traceId, 5);
    assert.equal(spans.length, 5, spans.map((s) => s.name).join(', '));
    const http = only(spans, 'POST /v1/echo/{message}', SpanKind.SERVER);
    const childOf = (p: typeof http, kind: SpanKind) => only(spans.filter((s) => s.parentSpanContext?.spanId === p.spanContext().spanId), 'coord.test.Echo/Echo', kind);
    assert.equal(http.parentSpanContext?.spanId, callerSpan);
    const aClient = childOf(http, SpanKind.CLIENT);
    const aServer = childOf(aClient, SpanKind.SERVER);
    const bClient = childOf(aServer, SpanKind.CLIENT);
    childOf(bClient, SpanKind.SERVER);
    assert.equal(aClient.attributes['network.peer.address'], sys.a.address);
    assert.equal(sys.logs.find((l) => l.msg === 'a handling' && l.message === 'hello')?.trace_id, traceId);

    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    assert.equal(sample(text, 'http_server_requests_total', { method: 'POST', route: '/v1/echo/{message}', status_code: '200' }), 1);
    assert.equal(sample(text, 'grpc_client_handled_total', { target: 'coord.test.Echo', grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'OK' }), 1);
    assert.equal(sample(text, 'coord_grpc_client_picks_total', { target: 'coord.test.Echo', peer: sys.a.address }), 1);
    assert.equal(sample(text, 'grpc_server_handled_total', { grpc_service: 'coord.test.Echo', grpc_method: 'Echo', grpc_code: 'OK' }), 2);
  });

  it('labels a request no route matched as unmatched', async () => {
    assert.equal((await fetch(`${gateway.url}/nowhere`)).status, 404);
    const text = (await sys.obs.scrape()).body;
    assert.equal(sample(text, 'http_server_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' }), 1);
  });
});
