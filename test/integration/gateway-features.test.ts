// Gateway features over real HTTP: rate limits (per IP, per subject) with Retry-After, CORS,
// request ids, the OpenAPI document and docs page, plugins and client interceptors (with the
// request's async context reaching them), and the `coord gateway` command line.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { context, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { SignJWT } from 'jose';
import type { Gateway } from '../../src/gateway/index.ts';
import { killAllCli, runCli, startCli } from '../helpers/cli-process.ts';
import { until } from '../helpers/coord-fixture.ts';
import { call, GATEWAY_PROTO, gatewayOver, sleepCancellations, sleepsStarted, startBackends, type Backends } from './gateway-fixture.ts';

const SECRET = 'a-shared-secret-of-at-least-32-characters!';
const token = (sub: string) => new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

describe('gateway features', () => {
  let b: Backends;
  let gw: Gateway;
  before(async () => {
    b = await startBackends();
    gw = await gatewayOver(b, { cors: { origins: ['https://app.test'], credentials: true } });
  });
  after(async () => {
    await gw?.close();
    await b?.close();
  });

  it('limits requests per client IP with 429 and Retry-After', async () => {
    const limited = await gatewayOver(b, { rateLimits: { perIp: { rate: 0.01, burst: 2 } } });
    try {
      assert.equal((await call(limited, 'GET', '/v1/shelves/1')).status, 200);
      assert.equal((await call(limited, 'GET', '/v1/shelves/2')).status, 200);
      const r = await call(limited, 'GET', '/v1/shelves/3');
      assert.equal(r.status, 429);
      assert.equal(r.json.code, 8);
      assert.match(r.json.message!, /rate limit exceeded for client address 127\.0\.0\.1/);
      const retry = Number(r.headers.get('retry-after'));
      assert.ok(retry > 1 && retry <= 100, `Retry-After ${retry}`);
    } finally {
      await limited.close();
    }
  });

  it('limits requests per token subject', async () => {
    const limited = await gatewayOver(b, { auth: { keys: [{ alg: 'HS256', secret: SECRET }] }, rateLimits: { perSubject: { rate: 0.01, burst: 1 } } });
    try {
      const as = async (sub: string) => call(limited, 'GET', '/v1/whoami', { headers: { authorization: `Bearer ${await token(sub)}` } });
      assert.equal((await as('alice')).status, 200);
      const again = await as('alice');
      assert.equal(again.status, 429);
      assert.match(again.json.message!, /subject alice/);
      assert.ok(Number(again.headers.get('retry-after')) >= 1);
      assert.equal((await as('bob')).status, 200, 'another subject has its own bucket');
    } finally {
      await limited.close();
    }
  });

  it('answers CORS preflights for allowed origins and refuses others', async () => {
    const ok = await fetch(`${gw.url}/v1/shelves/1`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.test');
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(ok.headers.get('access-control-allow-methods'), 'GET, OPTIONS');
    assert.equal(ok.headers.get('access-control-allow-headers'), 'authorization, content-type');
    assert.equal(ok.headers.get('access-control-max-age'), '600');
    assert.match(ok.headers.get('vary')!, /Origin/);
    const multi = await fetch(`${gw.url}/v1/shelves/1/books/2`, { method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'PATCH' } });
    assert.deepEqual(multi.headers.get('access-control-allow-methods')!.split(', ').sort(), ['DELETE', 'GET', 'OPTIONS', 'PATCH']);
    const evil = await fetch(`${gw.url}/v1/shelves/1`, { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const get = await fetch(`${gw.url}/v1/shelves/1`, { headers: { origin: 'https://app.test' } });
    assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.test');
    assert.match(get.headers.get('access-control-expose-headers')!, /x-request-id/);
    const plain = await fetch(`${gw.url}/v1/shelves/1`);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
  });

  it('echoes a given request id, generates one otherwise, and forwards it to the backend', async () => {
    const given = await call(gw, 'GET', '/v1/whoami', { headers: { 'x-request-id': 'abc-123', 'grpc-metadata-x-request-id': 'forged' } });
    assert.equal(given.headers.get('x-request-id'), 'abc-123');
    assert.equal(given.json.requestId, 'abc-123');
    const generated = await call(gw, 'GET', '/v1/whoami');
    const id = generated.headers.get('x-request-id')!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(generated.json.requestId, id);
    const junk = await call(gw, 'GET', '/v1/whoami', { headers: { 'x-request-id': 'x'.repeat(300) } });
    assert.match(junk.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/, 'an unusable id is replaced');
    assert.equal(given.headers.get('grpc-metadata-x-served-by'), 'library', 'backend response metadata comes back as grpc-metadata-* headers');
    const onError = await call(gw, 'GET', '/v1/nothing', { headers: { 'x-request-id': 'err-1' } });
    assert.equal(onError.headers.get('x-request-id'), 'err-1');
  });

  it('cancels the gRPC call when the HTTP client goes away', async () => {
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/v1/sleep/7777`, { signal: controller.signal }).catch((e: Error) => e);
    await until(() => sleepsStarted.includes(7777), 5000, 'the call to reach the backend');
    controller.abort();
    assert.ok((await pending) instanceof Error);
    await until(() => sleepCancellations.includes(7777), 5000, 'the backend to see the cancellation');
  });

  it('serves an OpenAPI 3 document generated from the protos', async () => {
    const r = await call(gw, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    const doc = r.json as unknown as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string; parameters: Array<{ name: string; in: string; schema: Record<string, unknown>; description?: string }>; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, { content: Record<string, { schema: unknown }> }>; 'x-grpc-method': string }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown>; enum?: string[] }> };
    };
    assert.equal(doc.openapi, '3.0.3');
    const getShelf = doc.paths['/v1/shelves/{shelf_id}'].get;
    assert.equal(getShelf['x-grpc-method'], '/coord.gwtest.Library/GetShelf');
    assert.deepEqual(getShelf.parameters, [{ name: 'shelf_id', in: 'path', required: true, schema: { type: 'string', format: 'int64' } }]);
    assert.deepEqual(getShelf.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/coord.gwtest.Shelf' });
    const list = doc.paths['/v1/shelves/{shelf_id}/books'];
    const query = Object.fromEntries(list.get.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema]));
    assert.deepEqual(Object.keys(query).sort(), ['filter.author', 'filter.genre', 'filter.minPages', 'genres', 'includeDrafts', 'pageSize', 'pageToken', 'tags']);
    assert.deepEqual(query.tags, { type: 'array', items: { type: 'string' } });
    assert.deepEqual(query.genres, { type: 'array', items: { $ref: '#/components/schemas/coord.gwtest.Genre' } });
    assert.deepEqual(query['filter.minPages'], { type: 'integer', format: 'int32', nullable: true });
    assert.deepEqual(list.post.requestBody!.content['application/json'].schema, { $ref: '#/components/schemas/coord.gwtest.Book' });
    const getBook = doc.paths['/v1/{name}'].get;
    assert.equal(getBook.parameters[0].description, 'matches shelves/*/books/*');
    assert.ok(doc.paths['/v1/books/{name}'].get && doc.paths['/v1/books:get'].post, 'additional bindings are operations');
    assert.ok(doc.paths['/v1/books'].search, 'custom method');
    assert.ok(doc.paths['/v1/shelves/{shelf_id}/books:stream'].get.responses['200'].content['application/x-ndjson']);
    assert.ok(doc.paths['/v1/hello'].post, 'route table entries are documented');
    const book = doc.components.schemas['coord.gwtest.Book'].properties!;
    assert.deepEqual(book.pageCount, { type: 'string', format: 'int64' });
    assert.deepEqual(book.published, { type: 'string', format: 'date-time' });
    assert.deepEqual(book.genre, { $ref: '#/components/schemas/coord.gwtest.Genre' });
    assert.deepEqual(doc.components.schemas['coord.gwtest.Genre'].enum, ['GENRE_UNSPECIFIED', 'FICTION', 'HISTORY']);
    const everything = doc.components.schemas['coord.gwtest.Everything'].properties!;
    assert.deepEqual(everything.intMap, { type: 'object', additionalProperties: { $ref: '#/components/schemas/coord.gwtest.Nested' } });
    assert.deepEqual(everything.bytesValue, { type: 'string', format: 'byte' });
    assert.equal((doc.components as Record<string, unknown>).securitySchemes, undefined, 'no auth, no security scheme');
  });

  it('documents security when auth is on', async () => {
    const secured = await gatewayOver(b, { auth: { keys: [{ alg: 'HS256', secret: SECRET }], methods: { 'coord.gwtest.Library/GetShelf': 'public', 'coord.gwtest.Library/DeleteBook': { scopes: ['books:write'] } } } });
    try {
      const doc = secured.openApi as { paths: Record<string, Record<string, { security: unknown }>>; components: { securitySchemes: unknown } };
      assert.deepEqual(doc.components.securitySchemes, { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
      assert.deepEqual(doc.paths['/v1/shelves/{shelf_id}'].get.security, []);
      assert.deepEqual(doc.paths['/v1/whoami'].get.security, [{ bearer: [] }]);
      assert.deepEqual(doc.paths['/v1/{name}'].delete.security, [{ bearer: ['books:write'] }]);
    } finally {
      await secured.close();
    }
  });

  it('serves a self-contained docs page', async () => {
    const r = await fetch(`${gw.url}/docs`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    const html = await r.text();
    assert.match(html, /fetch\('openapi\.json'\)/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from elsewhere');
  });

  it('applies plugins before its routes and runs gRPC calls inside the request async context', async () => {
    const store = new AsyncLocalStorage<string>();
    const OTEL_KEY = createContextKey('gateway-test');
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const seenByInterceptor: Array<string | undefined> = [];
    const otelSeen: unknown[] = [];
    const responses: string[] = [];
    const interceptor: grpc.Interceptor = (options, next) => {
      seenByInterceptor.push(store.getStore());
      otelSeen.push(context.active().getValue(OTEL_KEY));
      return new grpc.InterceptingCall(next(options));
    };
    const withPlugins = await gatewayOver(b, {
      plugins: [
        (app) => {
          app.addHook('onRequest', (req, _reply, done) => {
            store.enterWith(`ctx-${req.id}`);
            done();
          });
          // How OpenTelemetry instrumentation does it: the rest of the request runs in context.with().
          app.addHook('onRequest', (req, _reply, done) => context.with(context.active().setValue(OTEL_KEY, `otel-${req.id}`), done));
          app.addHook('onResponse', async (req, reply) => {
            responses.push(`${req.gatewayRoute} ${req.grpcMethod} ${reply.statusCode}`);
          });
          app.get('/plugin-route', async () => ({ plugin: true }));
        },
      ],
      grpcInterceptors: [interceptor],
    });
    try {
      assert.deepEqual((await call(withPlugins, 'GET', '/plugin-route')).json, { plugin: true });
      await call(withPlugins, 'GET', '/v1/shelves/5', { headers: { 'x-request-id': 'r-5' } });
      await call(withPlugins, 'GET', '/v1/shelves/1/books:stream', { headers: { 'x-request-id': 'r-6' } });
      assert.deepEqual(seenByInterceptor, ['ctx-r-5', 'ctx-r-6']);
      assert.deepEqual(otelSeen, ['otel-r-5', 'otel-r-6']);
      assert.ok(responses.includes('GET /v1/shelves/{shelf_id} /coord.gwtest.Library/GetShelf 200'), responses.join('; '));
    } finally {
      await withPlugins.close();
      context.disable();
      manager.disable();
    }
  });

  it('rejects bad options with a clear error', async () => {
    const bad = (extra: object) => gatewayOver(b, extra as never);
    await assert.rejects(bad({ listen: 'nowhere' }), /gateway: invalid options: listen: expected host:port/);
    await assert.rejects(bad({ auth: { keys: [{ alg: 'none', secret: 'x' }] } }), /auth\.keys\.0\.alg/);
    await assert.rejects(bad({ auth: { keys: [{ alg: 'HS256', secret: 'short' }] } }), /HS256 secret must be at least 32 characters/);
    await assert.rejects(bad({ routes: [{ method: 'GET', path: '/x', rpc: 'coord.gwtest.Plain/Nope' }] }), /no method coord\.gwtest\.Plain\/Nope/);
    await assert.rejects(bad({ routes: [{ method: 'GET', path: '/x/{nope}', rpc: 'coord.gwtest.Plain/Hello' }] }), /nope is not a field of coord\.gwtest\.HelloRequest/);
    await assert.rejects(bad({ routes: [{ method: 'GET', path: '/v1/shelves/{name}', rpc: 'coord.gwtest.Plain/Hello' }] }), /match the same requests/);
    await assert.rejects(bad({ services: { 'coord.gwtest.Nope': 'x' } }), /coord\.gwtest\.Nope, which is not a service/);
    await assert.rejects(bad({ protoFiles: ['/no/such.proto'] }), /proto file \/no\/such\.proto does not exist/);
    await assert.rejects(bad({ auth: { keys: [{ alg: 'HS256', secret: SECRET }], methods: { 'coord.gwtest.Library/Nope': 'public' } } }), /auth\.methods names coord\.gwtest\.Library\/Nope/);
    await assert.rejects(bad({ timeoutMs: 5000, maxTimeoutMs: 1000 }), /timeoutMs \(5000\) is above maxTimeoutMs \(1000\)/);
  });

  describe('coord gateway (CLI)', () => {
    after(killAllCli);
    const run = (args: string[]) => runCli(['gateway', ...args]);

    it('exits 2 with one line on bad arguments', async () => {
      const cases: Array<[string[], RegExp]> = [
        [[], /--proto is required/],
        [['--proto', GATEWAY_PROTO, '--route', 'GET nope'], /--route must be "METHOD \/path pkg\.Service\/Method \[body\]"/],
        [['--proto', GATEWAY_PROTO, '--rate-limit-ip', 'fast'], /--rate-limit-ip must be <rate>\[\/<burst>\]/],
        [['--proto', GATEWAY_PROTO, '--issuer', 'x'], /--issuer, --audience and --auth-policy need/],
        [['--proto', '/no/such.proto'], /proto file \/no\/such\.proto does not exist/],
      ];
      for (const [args, message] of cases) {
        const r = await run(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
    });

    it('serves the protos over the registry until interrupted', async () => {
      const p = startCli(['gateway', '--endpoints', b.store!.endpoint, '--proto', GATEWAY_PROTO, '--listen', '127.0.0.1:0', '--route', 'POST /v1/hi coord.gwtest.Plain/Hello *']);
      const gatewayUrl = /coord gateway on (http:\/\/\S+)\s/;
      const url = gatewayUrl.exec(await p.printed((out) => gatewayUrl.test(out)))![1];
      assert.deepEqual(await (await fetch(`${url}/v1/shelves/3`)).json(), { id: '3', theme: 'theme-3' });
      const hi = await fetch(`${url}/v1/hi`, { method: 'POST', body: JSON.stringify({ name: 'cli' }) });
      assert.deepEqual(await hi.json(), { greeting: 'hello cli' });
      assert.equal((await p.interrupt('SIGINT')).code, 0);
    });
  });
});
