// HTTP → gRPC mapping over real HTTP against real grpc-js backends registered in a coord store:
// path variables (simple, nested, multi-segment, `**`, verbs), query parameters (nested, repeated,
// enums, wrappers), body "*" and body "<field>", response_body, additional bindings, custom
// methods, the route table, server streaming (NDJSON and SSE), and the proto3 JSON mapping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../../src/gateway/index.ts';
import { call, gatewayOver, startBackends, type Backends } from './gateway-fixture.ts';

describe('gateway mapping', () => {
  let b: Backends;
  let gw: Gateway;
  before(async () => {
    b = await startBackends();
    gw = await gatewayOver(b);
  });
  after(async () => {
    await gw?.close();
    await b?.close();
  });

  it('fills an int64 path variable and answers int64 as a string', async () => {
    const r = await call(gw, 'GET', '/v1/shelves/9007199254740993');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { id: '9007199254740993', theme: 'theme-9007199254740993' });
    assert.match(r.headers.get('content-type')!, /^application\/json/);
  });

  it('maps query parameters: scalars, nested with dots (JSON or proto names), repeated, enums, wrappers', async () => {
    const r = await call(gw, 'GET', '/v1/shelves/3/books?pageSize=5&page_token=tok&filter.author=Ann%20Lee&filter.min_pages=100&tags=a&tags=b&genres=FICTION&genres=2&includeDrafts=true');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.echo, {
      shelfId: '3',
      pageSize: 5,
      pageToken: 'tok',
      filter: { author: 'Ann Lee', genre: 'GENRE_UNSPECIFIED', minPages: 100 },
      tags: ['a', 'b'],
      genres: ['FICTION', 'HISTORY'],
      includeDrafts: true,
    });
  });

  it('emits default values, lowerCamelCase names, enums by name and timestamps in RFC 3339', async () => {
    const r = await call(gw, 'GET', '/v1/shelves/3/books');
    assert.deepEqual(r.json, {
      books: [{ name: 'shelves/1/books/1', title: 'Title of shelves/1/books/1', author: 'Ann', genre: 'HISTORY', published: '2023-11-14T22:13:20.500Z', tags: ['a', 'b'], pageCount: '9007199254740993' }],
      nextPageToken: 'next',
      echo: { shelfId: '3', pageSize: 0, pageToken: '', filter: null, tags: [], genres: [], includeDrafts: false },
    });
  });

  it('body "<field>" fills that field; the path and query fill the rest', async () => {
    const r = await call(gw, 'POST', '/v1/shelves/7/books?requestId=r1', { body: { title: 'T', author: 'A', page_count: 12, genre: 'FICTION', published: '2020-02-29T12:00:00+02:00' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { name: 'shelves/7/books/r1', title: 'T', author: 'A', genre: 'FICTION', published: '2020-02-29T10:00:00Z', tags: [], pageCount: '12' });
  });

  it('multi-segment variables ({name=shelves/*/books/*}) and their additional bindings', async () => {
    assert.equal((await call(gw, 'GET', '/v1/shelves/1/books/2')).json.name, 'shelves/1/books/2');
    assert.equal((await call(gw, 'GET', '/v1/books/b%20x')).json.name, 'b x', 'single-segment variable, percent-decoded');
    const post = await call(gw, 'POST', '/v1/books:get', { body: { name: 'shelves/9/books/9' } });
    assert.equal(post.status, 200);
    assert.equal(post.json.title, 'Title of shelves/9/books/9');
    // A multi-segment variable keeps %2F encoded, so the value still splits into its segments.
    assert.equal((await call(gw, 'GET', '/v1/shelves/a%2Fb/books/c')).json.name, 'shelves/a%2Fb/books/c');
    assert.equal((await call(gw, 'GET', '/v1/shelves/1/books')).status, 200, 'a different route, not GetBook');
  });

  it('a nested path field ({book.name}) with body "book" and a FieldMask from the query', async () => {
    const r = await call(gw, 'PATCH', '/v1/shelves/1/books/5?updateMask=title,pageCount', { body: { title: 'New' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'shelves/1/books/5');
    assert.equal(r.json.title, 'New [title|page_count]');
  });

  it('DELETE returns google.protobuf.Empty as {}', async () => {
    const r = await call(gw, 'DELETE', '/v1/shelves/1/books/5');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {});
  });

  it('a verb (:move) with body "*" next to a path variable', async () => {
    const r = await call(gw, 'POST', '/v1/shelves/1/books/5:move', { body: { toShelf: '8' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'shelves/8/books/5');
  });

  it('response_body returns one field of the response', async () => {
    const r = await call(gw, 'GET', '/v1/shelves/1/books/5/title');
    assert.equal(r.status, 200);
    assert.equal(r.json as unknown, 'Title of shelves/1/books/5');
  });

  it('a trailing ** captures the rest of the path', async () => {
    assert.equal((await call(gw, 'GET', '/v1/files/a/b/c.txt')).json.name, 'a/b/c.txt');
  });

  it('a custom method (SEARCH) with body "<message field>"', async () => {
    const r = await call(gw, 'SEARCH', '/v1/books', { body: { author: 'Zed', genre: 'HISTORY', minPages: 5 } });
    assert.equal(r.status, 200);
    assert.deepEqual((r.json.echo as Record<string, unknown>).filter, { author: 'Zed', genre: 'HISTORY', minPages: 5 });
  });

  it('routes methods without annotations through the route table', async () => {
    assert.deepEqual((await call(gw, 'POST', '/v1/hello', { body: { name: 'ann' } })).json, { greeting: 'hello ann' });
    assert.deepEqual((await call(gw, 'GET', '/v1/hello/bob')).json, { greeting: 'hello bob' });
    assert.deepEqual(gw.routes.find((r) => r.route === 'POST /v1/hello'), { route: 'POST /v1/hello', rpc: '/coord.gwtest.Plain/Hello' });
  });

  it('streams server-streaming methods as NDJSON by default', async () => {
    const r = await call(gw, 'GET', '/v1/shelves/4/books:stream?pageSize=3');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^application\/x-ndjson/);
    const lines = r.text.trim().split('\n').map((l) => JSON.parse(l) as { result: { name: string } });
    assert.deepEqual(lines.map((l) => l.result.name), ['shelves/4/books/0', 'shelves/4/books/1', 'shelves/4/books/2']);
    const routed = await call(gw, 'GET', '/v1/count/zed?times=2');
    assert.deepEqual(routed.text.trim().split('\n').map((l) => JSON.parse(l)), [{ result: { greeting: 'hello zed #0' } }, { result: { greeting: 'hello zed #1' } }]);
  });

  it('streams as server-sent events when the client accepts text/event-stream', async () => {
    const r = await call(gw, 'GET', '/v1/shelves/4/books:stream?pageSize=2', { headers: { accept: 'text/event-stream' } });
    assert.match(r.headers.get('content-type')!, /^text\/event-stream/);
    const events = r.text.trim().split('\n\n').map((e) => JSON.parse(e.replace(/^data: /, '')) as { name: string });
    assert.deepEqual(events.map((e) => e.name), ['shelves/4/books/0', 'shelves/4/books/1']);
  });

  it('a stream failing before its first message is an ordinary error answer; after it, an in-stream error', async () => {
    const first = await call(gw, 'GET', '/v1/shelves/4/books:stream?filter.author=fail-first');
    assert.equal(first.status, 404);
    assert.deepEqual(first.json, { code: 5, message: 'no such shelf', details: [] });
    const later = await call(gw, 'GET', '/v1/shelves/4/books:stream?pageSize=1&filter.author=fail-later');
    assert.equal(later.status, 200);
    const lines = later.text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1], { error: { code: 10, message: 'stream broke', details: [] } });
    const sse = await call(gw, 'GET', '/v1/shelves/4/books:stream?pageSize=1&filter.author=fail-later', { headers: { accept: 'text/event-stream' } });
    assert.match(sse.text, /event: error\ndata: \{"code":10,"message":"stream broke","details":\[\]\}/);
  });

  describe('proto3 JSON', () => {
    const everything = {
      doubleValue: 1.5,
      floatValue: 1.1,
      int32Value: -5,
      int64Value: '-9223372036854775808',
      uint32Value: 4294967295,
      uint64Value: '18446744073709551615',
      sint64Value: '-42',
      fixed64Value: '12345678901234567',
      boolValue: true,
      stringValue: 'héllo',
      bytesValue: 'AAEC/w==',
      genre: 'HISTORY',
      nested: { name: 'n', value: 1, children: [{ name: 'c', value: 2, children: [] }] },
      repeatedInt64: ['1', '-2'],
      repeatedNested: [{ name: 'r', value: 0, children: [] }],
      stringMap: { a: 1, b: -1 },
      intMap: { '-7': { name: 'seven', value: 7, children: [] } },
      timestamp: '1999-12-31T23:59:59.123456Z',
      duration: '-1.000000001s',
      stringWrapper: '',
      int64Wrapper: '5',
      boolWrapper: false,
      structValue: { a: 1, b: [true, null, 'x'], c: { d: {} } },
      anyJson: [1, 'two'],
      listValue: [{ k: 'v' }],
      fieldMask: 'a.bC,d',
      choiceNumber: 3,
      maybe: 0,
      genres: ['FICTION'],
      doubleWrapper: 'Infinity',
      bytesWrapper: '',
    };

    it('round-trips every type through the protobuf encoding', async () => {
      const r = await call(gw, 'POST', '/v1/echo', { body: everything });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { ...everything, doubleWrapper: 'Infinity' });
    });

    it('accepts proto field names, numbers for 64-bit integers, enum numbers and URL-safe base64; emits canonical forms', async () => {
      const r = await call(gw, 'POST', '/v1/echo', { body: { int64_value: 42, genre: 1, bytes_value: '_-8', double_value: '2.5', string_map: {} } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.int64Value, '42');
      assert.equal(r.json.genre, 'FICTION');
      assert.equal(r.json.bytesValue, '/+8=');
      assert.equal(r.json.doubleValue, 2.5);
      assert.equal('choiceText' in r.json || 'choiceNumber' in r.json || 'maybe' in r.json, false, 'unset oneof members and optional fields are left out');
      assert.equal(r.json.nested, null, 'unset message fields are null');
    });

    it('treats null as the default value', async () => {
      const r = await call(gw, 'POST', '/v1/echo', { body: { stringValue: null, nested: null, anyJson: null } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.stringValue, '');
      assert.equal(r.json.anyJson, null);
    });

    it('fills path variables and the body together (PUT additional binding), and GET with query only', async () => {
      const put = await call(gw, 'PUT', '/v1/echo/some%20text/77', { body: { boolValue: true } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.json.stringValue, 'some text');
      assert.equal(put.json.int64Value, '77');
      assert.equal(put.json.boolValue, true);
      const get = await call(gw, 'GET', '/v1/echo?timestamp=2024-01-01T00:00:00Z&duration=3s&int64Wrapper=9&nested.name=q&repeatedInt64=1&repeatedInt64=2&bytesValue=AQI%3D');
      assert.equal(get.status, 200, get.text);
      assert.equal(get.json.timestamp, '2024-01-01T00:00:00Z');
      assert.equal(get.json.duration, '3s');
      assert.equal(get.json.int64Wrapper, '9');
      assert.deepEqual(get.json.nested, { name: 'q', value: 0, children: [] });
      assert.deepEqual(get.json.repeatedInt64, ['1', '2']);
      assert.equal(get.json.bytesValue, 'AQI=');
    });

    it('body "<field>" with a nested path field', async () => {
      const r = await call(gw, 'POST', '/v1/echo/nested/from-path', { body: { value: 3, name: 'from-body' } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.nested, { name: 'from-path', value: 3, children: [] });
    });
  });
});
