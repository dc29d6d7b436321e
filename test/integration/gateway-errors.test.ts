// Error answers over real HTTP: gRPC statuses by the standard mapping with decoded details, bad
// input as 400 naming the field, 404/405, 413 over the body limit, 503 without instances, 504
// past the deadline — and never a 500 for a client's mistake.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { Gateway } from '../../src/gateway/index.ts';
import { call, gatewayOver, startBackends, type Backends } from './gateway-fixture.ts';

describe('gateway errors', () => {
  let b: Backends;
  let gw: Gateway;
  const logs: string[] = [];
  before(async () => {
    b = await startBackends();
    gw = await gatewayOver(b, { bodyLimit: 1024, services: { 'coord.gwtest.Plain': 'plain-nobody-serves' }, timeoutMs: 5000, maxTimeoutMs: 10_000, log: (line) => logs.push(line) });
  });
  const logFor = (requestId: string | null) => logs.filter((l) => requestId && l.startsWith(`gateway: request ${requestId}: `));
  after(async () => {
    await gw?.close();
    await b?.close();
  });

  it('maps every gRPC status to its HTTP status, with { code, message, details }; unknown detail types and server-fault messages stay behind', async () => {
    const table: Array<[grpc.status, number]> = [
      [grpc.status.CANCELLED, 499],
      [grpc.status.UNKNOWN, 500],
      [grpc.status.INVALID_ARGUMENT, 400],
      [grpc.status.DEADLINE_EXCEEDED, 504],
      [grpc.status.NOT_FOUND, 404],
      [grpc.status.ALREADY_EXISTS, 409],
      [grpc.status.PERMISSION_DENIED, 403],
      [grpc.status.RESOURCE_EXHAUSTED, 429],
      [grpc.status.FAILED_PRECONDITION, 400],
      [grpc.status.ABORTED, 409],
      [grpc.status.OUT_OF_RANGE, 400],
      [grpc.status.UNIMPLEMENTED, 501],
      [grpc.status.INTERNAL, 500],
      [grpc.status.UNAVAILABLE, 503],
      [grpc.status.DATA_LOSS, 500],
      [grpc.status.UNAUTHENTICATED, 401],
    ];
    for (const [code, http] of table) {
      const r = await call(gw, 'GET', `/v1/fail/${code}`);
      assert.equal(r.status, http, `${grpc.status[code]} → ${http}`);
      const serverFault = code === grpc.status.UNKNOWN || code === grpc.status.INTERNAL || code === grpc.status.DATA_LOSS;
      assert.deepEqual(r.json, { code, message: serverFault ? 'the service failed' : `failing with ${grpc.status[code]}`, details: [] });
      const [line, ...more] = logFor(r.headers.get('x-request-id'));
      assert.equal(more.length, 0);
      assert.ok(line.endsWith(`answered ${grpc.status[code]}: "failing with ${grpc.status[code]}"; details withheld: type.googleapis.com/coord.gwtest.Shelf {"id":"7","theme":"detail"}`), line);
    }
  });

  it('a message or detail with internals is not in the answer; the log line has it with the request id', async () => {
    const internal: Array<[grpc.status, string, number, string]> = [
      [grpc.status.UNAVAILABLE, 'cannot reach fd00:10:96::1a:5432', 503, 'the service is unavailable'],
      [grpc.status.FAILED_PRECONDITION, 'replica orders-db.prod.internal is read-only', 400, 'the request cannot be carried out in the current state'],
      [grpc.status.UNAVAILABLE, 'upstream payments.svc.cluster.local:8443 is down', 503, 'the service is unavailable'],
      [grpc.status.NOT_FOUND, 'open /var/lib/orders/ledger.db: no such file or directory', 404, 'not found'],
      [grpc.status.UNKNOWN, 'panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation]\n\ngoroutine 1 [running]:\nmain.(*server).Get(...)\n\t/srv/orders/server.go:42 +0x1d', 500, 'the service failed'],
      [grpc.status.INVALID_ARGUMENT, 'at most 2 items per order', 400, 'at most 2 items per order'],
    ];
    const secrets = ['fd00:10', 'orders-db', 'prod.internal', 'svc.cluster.local', '8443', '5432', '/var/lib', '/srv/', 'goroutine', 'panic', 'SIGSEGV', 'server.go', 'DebugInfo', 'RequestInfo', 'serving'];
    for (const [code, message, http, shown] of internal) {
      const r = await call(gw, 'GET', `/v1/fail/${code}?message=${encodeURIComponent(message)}&details=debug&details=request-info`);
      assert.equal(r.status, http, message);
      assert.deepEqual(r.json, { code, message: shown, details: [] }, message);
      for (const s of secrets) assert.ok(!r.text.includes(s), `${s} in ${r.text}`);
      const id = r.headers.get('x-request-id');
      const lines = logFor(id);
      assert.equal(lines.length, 1, `one log line for request ${id}: ${lines.join('\n')}`);
      assert.ok(lines[0].includes(`/coord.gwtest.Library/Fail answered ${grpc.status[code]}: ${JSON.stringify(message)}; details withheld: `), lines[0]);
      assert.ok(lines[0].includes('type.googleapis.com/google.rpc.DebugInfo {"stackEntries":["goroutine 1 [running]:","main.(*server).Get(0xc000123456)","\\t/srv/orders/server.go:42 +0x1d"],"detail":"dial tcp orders-db.prod.internal:5432: connection refused"}'), lines[0]);
      assert.ok(lines[0].includes('type.googleapis.com/google.rpc.RequestInfo {"requestId":"r-1","servingData":"served by payments.svc.cluster.local:8443"}'), lines[0]);
      assert.doesNotMatch(lines[0], /\n/);
    }
  });

  it('the public google.rpc details (BadRequest, PreconditionFailure, ErrorInfo, LocalizedMessage) pass through, the others do not', async () => {
    const all = ['debug', 'bad-request', 'shelf', 'precondition', 'request-info', 'error-info', 'unknown', 'localized'];
    const r = await call(gw, 'GET', `/v1/fail/${grpc.status.INVALID_ARGUMENT}?message=${encodeURIComponent('at most 2 items per order')}&${all.map((d) => `details=${d}`).join('&')}`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, {
      code: grpc.status.INVALID_ARGUMENT,
      message: 'at most 2 items per order',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'items', description: 'at most 2 items per order', reason: '', localizedMessage: null }] },
        { '@type': 'type.googleapis.com/google.rpc.PreconditionFailure', violations: [{ type: 'TOS', subject: 'orders', description: 'accept the terms first' }] },
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'ORDER_LIMIT', domain: 'orders.example.com', metadata: { limit: '2' } },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'de-DE', message: 'höchstens 2 Artikel pro Bestellung' },
      ],
    });
    const [line] = logFor(r.headers.get('x-request-id'));
    assert.match(line, /details withheld: type\.googleapis\.com\/google\.rpc\.DebugInfo \{.*\} \| type\.googleapis\.com\/coord\.gwtest\.Shelf \{"id":"7","theme":"detail"\} \| type\.googleapis\.com\/google\.rpc\.RequestInfo \{.*\} \| type\.googleapis\.com\/acme\.internal\.Trace \(\d+ bytes, type not in the loaded protos\)$/);
    assert.ok(!r.text.includes('/srv/') && !r.text.includes('acme'), r.text);
  });

  it('malformed JSON is a 400', async () => {
    const r = await call(gw, 'POST', '/v1/echo', { raw: '{"int32Value": ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 3);
    assert.match(r.json.message!, /^malformed JSON body: /);
  });

  it('wrong types are a 400 naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ int32Value: 'abc' }, /field "int32Value": expected an integer \(int32\), got "abc"/],
      [{ int32Value: 1.5 }, /field "int32Value": expected an integer/],
      [{ int32Value: 2147483648 }, /field "int32Value": expected an integer/],
      [{ uint64Value: '-1' }, /field "uint64Value": expected an integer in uint64 range/],
      [{ int64Value: '9223372036854775808' }, /field "int64Value": expected an integer in int64 range/],
      [{ boolValue: 'yes' }, /field "boolValue": expected true or false/],
      [{ genre: 'POETRY' }, /field "genre": expected one of GENRE_UNSPECIFIED, FICTION, HISTORY \(Genre\), got "POETRY"/],
      [{ nested: { value: 'x' } }, /field "nested.value": expected an integer/],
      [{ repeatedNested: [{}, { children: 5 }] }, /field "repeatedNested\[1\].children": expected a JSON array/],
      [{ stringMap: { k: 'v' } }, /field "stringMap\[k\]": expected an integer/],
      [{ intMap: { x: {} } }, /field "intMap\[x\]": expected an integer/],
      [{ timestamp: '2024-13-01T00:00:00Z' }, /field "timestamp": expected a valid date and time/],
      [{ duration: '5m' }, /field "duration": expected a duration string/],
      [{ bytesValue: 'not base64!' }, /field "bytesValue": expected a base64 string/],
      [{ noSuchField: 1 }, /field "noSuchField": no such field in coord.gwtest.Everything/],
      [{ choiceText: 'a', choiceNumber: 1 }, /only one field of oneof choice may be set/],
      [{ int32Value: 1, int32_value: 2 }, /given twice/],
      [[1, 2], /expected a JSON object \(Everything\), got an array/],
    ];
    for (const [body, message] of cases) {
      const r = await call(gw, 'POST', '/v1/echo', { body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.code, 3);
      assert.match(r.json.message!, message);
    }
  });

  it('bad path and query values are a 400 naming the field or parameter', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/v1/shelves/abc', /field "shelfId": expected an integer \(int64/],
      ['/v1/shelves/1/books?pageSize=ten', /field "pageSize": expected an integer/],
      ['/v1/shelves/1/books?genres=POETRY', /field "genres": expected one of/],
      ['/v1/shelves/1/books?nope=1', /"nope": unknown query parameter: nope is not a field/],
      ['/v1/shelves/1/books?filter=x', /a message cannot be set from the query/],
      ['/v1/shelves/1/books?shelfId=2', /set by the path, not the query/],
      ['/v1/shelves/1/books?pageSize=1&pageSize=2', /given more than once/],
      ['/v1/shelves/1/books?filter.minPages=many', /field "filter.minPages": expected an integer/],
      ['/v1/echo?timestamp=yesterday', /field "timestamp": expected an RFC 3339 timestamp/],
    ];
    for (const [path, message] of cases) {
      const r = await call(gw, 'GET', path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.match(r.json.message!, message, path);
    }
    const star = await call(gw, 'POST', '/v1/echo?int32Value=1', { body: {} });
    assert.equal(star.status, 400);
    assert.match(star.json.message!, /query parameters are not accepted by POST \/v1\/echo/);
  });

  it('an unknown route is a 404; a known path with another method is a 405 with Allow', async () => {
    const nf = await call(gw, 'GET', '/v2/nothing');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, { code: 5, message: 'no route for GET /v2/nothing', details: [] });
    const na = await call(gw, 'PUT', '/v1/shelves/1');
    assert.equal(na.status, 405);
    assert.equal(na.headers.get('allow'), 'GET');
    assert.equal(na.json.code, 12);
  });

  it('a body over the limit is a 413', async () => {
    const r = await call(gw, 'POST', '/v1/echo', { body: { stringValue: 'x'.repeat(2000) } });
    assert.equal(r.status, 413);
    assert.deepEqual(r.json, { code: 8, message: 'request body is larger than the limit of 1024 bytes', details: [] });
  });

  it('no registered instances is a 503', async () => {
    const r = await call(gw, 'POST', '/v1/hello', { body: { name: 'x' } });
    assert.equal(r.status, 503);
    assert.equal(r.json.code, 14);
    assert.match(r.json.message!, /no instances of plain-nobody-serves/);
  });

  it('the deadline becomes DEADLINE_EXCEEDED → 504; the backend sees it; bad timeout headers are a 400', async () => {
    const slow = await call(gw, 'GET', '/v1/sleep/3000', { headers: { 'x-request-timeout': '200ms' } });
    assert.equal(slow.status, 504);
    assert.equal(slow.json.code, 4);
    const grpcTimeout = await call(gw, 'GET', '/v1/sleep/3000', { headers: { 'grpc-timeout': '150m' } });
    assert.equal(grpcTimeout.status, 504);
    const seen = await call(gw, 'GET', '/v1/whoami', { headers: { 'x-request-timeout': '2s' } });
    const ms = Number(seen.json.deadlineMs);
    assert.ok(ms > 0 && ms <= 2000, `backend deadline ${ms} ms`);
    const capped = await call(gw, 'GET', '/v1/whoami', { headers: { 'x-request-timeout': '999999' } });
    assert.ok(Number(capped.json.deadlineMs) <= 10_000, 'capped by maxTimeoutMs');
    const dflt = await call(gw, 'GET', '/v1/whoami');
    assert.ok(Number(dflt.json.deadlineMs) <= 5000 && Number(dflt.json.deadlineMs) > 2000, 'the default timeout');
    const bad = await call(gw, 'GET', '/v1/whoami', { headers: { 'grpc-timeout': 'soon' } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message!, /invalid grpc-timeout header "soon"/);
  });

  it('a 504 says the service did not answer in time, without grpc-js internals or backend addresses', async () => {
    const slow = await call(gw, 'GET', '/v1/sleep/3000', { headers: { 'x-request-timeout': '100ms' } });
    assert.equal(slow.status, 504);
    assert.deepEqual(slow.json, { code: 4, message: 'the service did not answer in time', details: [] });
    assert.doesNotMatch(slow.text, /remote_addr|127\.0\.0\.1|\d+\.\d+\.\d+\.\d+:\d+|Deadline exceeded after/);
  });

  it('forwards unary trailers as Grpc-Trailer-* headers (not grpc-* or binary ones), on success and on error', async () => {
    const okCall = await call(gw, 'GET', '/v1/sleep/5');
    assert.equal(okCall.status, 200);
    assert.equal(okCall.headers.get('grpc-trailer-x-slept-ms'), '5');
    assert.equal(okCall.headers.get('grpc-trailer-x-raw-bin'), null);
    const failed = await call(gw, 'GET', `/v1/fail/${grpc.status.NOT_FOUND}`);
    assert.equal(failed.status, 404);
    assert.equal(failed.headers.get('grpc-trailer-x-fail-reason'), 'requested');
    assert.equal(failed.headers.get('grpc-trailer-grpc-status-details-bin'), null);
  });

  it('HEAD on a GET route answers as GET without a body; HEAD where only POST is bound is a 405', async () => {
    const get = await fetch(`${gw.url}/v1/shelves/1`);
    const head = await fetch(`${gw.url}/v1/shelves/1`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), get.headers.get('content-type'));
    assert.equal(await head.text(), '');
    const headPost = await fetch(`${gw.url}/v1/hello`, { method: 'HEAD' });
    assert.equal(headPost.status, 405);
  });

  it('no client mistake yields a 500', async () => {
    const junk: Array<[string, string, string | undefined, Record<string, string>?]> = [
      ['POST', '/v1/echo', 'null'],
      ['POST', '/v1/echo', '"text"'],
      ['POST', '/v1/echo', '{"__proto__": {"x": 1}}'],
      ['POST', '/v1/echo', '{"structValue": 5}'],
      ['POST', '/v1/echo', '{"anyJson": {"a": [1, {"b": null}]}, "listValue": {}}'],
      ['POST', '/v1/echo', '{"fieldMask": 7}'],
      ['POST', '/v1/echo', 'x=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['POST', '/v1/echo', '{}', { 'content-type': 'text/plain' }],
      ['GET', '/v1/shelves/%E0%A4%A', undefined],
      ['GET', '/v1/shelves/99999999999999999999999', undefined],
      ['GET', '/v1/shelves/1/books?%zz=1', undefined],
      ['GET', '/v1/echo?structValue=1', undefined],
      ['GET', '/v1/echo?intMap=1', undefined],
      ['GET', `/v1/files/${'a/'.repeat(500)}b`, undefined],
      ['PATCH', '/v1/shelves/1/books/2', '[1]'],
      ['POST', '/v1/shelves/1/books', '"str"'],
      ['GET', '/v1/whoami', undefined, { 'grpc-metadata-x-bin': '%%%' }],
      ['GET', '/v1/whoami', undefined, { 'grpc-metadata-x-ok': 'bad\u00e9' }],
    ];
    for (const [method, path, raw, headers] of junk) {
      const r = await fetch(gw.url + path, { method, body: raw, headers: { 'content-type': 'application/json', ...headers } });
      const text = await r.text();
      assert.ok(r.status >= 200 && r.status < 500, `${method} ${path} ${raw ?? ''} → ${r.status} ${text}`);
    }
  });
});
