// The gateway tests' backends: the services of test/fixtures/gateway-test.proto served with
// serve() from etcd-coord/grpc and registered in a coord store (in process) or real etcd, and a
// gateway in front of them. Handlers echo what they received, so tests check the transcoding
// end to end.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { gatewayClaims, requireClaims, startGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { CoordServer } from '../../src/grpc/server-handle.ts';
import { connect, type Coord } from '../../src/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';

export const GATEWAY_PROTO = new URL('../fixtures/gateway-test.proto', import.meta.url).pathname;
export const PROTO_DIR = new URL('../../proto', import.meta.url).pathname;

type Def = Record<string, grpc.MethodDefinition<unknown, unknown>>;
type Msg = Record<string, unknown>;

function definitions(): { library: Def; kitchen: Def; plain: Def } {
  const pd = protoLoader.loadSync(GATEWAY_PROTO, { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
  const kitchen = { ...(pd['coord.gwtest.Kitchen'] as unknown as Def) };
  // Kitchen echoes the request bytes untouched, so the test sees exactly what the gateway encoded.
  for (const k of Object.keys(kitchen)) kitchen[k] = { ...kitchen[k], requestDeserialize: (b: Buffer) => b, responseSerialize: (b: unknown) => b as Buffer };
  return { library: pd['coord.gwtest.Library'] as unknown as Def, kitchen, plain: pd['coord.gwtest.Plain'] as unknown as Def };
}

let errorRoot: protobuf.Root | undefined;

/** Details Fail attaches by name: google.rpc ones, and a Shelf the gateway's protos do not know under that URL. */
export const FAIL_DETAILS: Record<string, [string, Record<string, unknown>, string?]> = {
  debug: ['google.rpc.DebugInfo', { stack_entries: ['goroutine 1 [running]:', 'main.(*server).Get(0xc000123456)', '\t/srv/orders/server.go:42 +0x1d'], detail: 'dial tcp orders-db.prod.internal:5432: connection refused' }],
  'request-info': ['google.rpc.RequestInfo', { request_id: 'r-1', serving_data: 'served by payments.svc.cluster.local:8443' }],
  'bad-request': ['google.rpc.BadRequest', { field_violations: [{ field: 'items', description: 'at most 2 items per order' }] }],
  precondition: ['google.rpc.PreconditionFailure', { violations: [{ type: 'TOS', subject: 'orders', description: 'accept the terms first' }] }],
  'error-info': ['google.rpc.ErrorInfo', { reason: 'ORDER_LIMIT', domain: 'orders.example.com', metadata: { limit: '2' } }],
  localized: ['google.rpc.LocalizedMessage', { locale: 'de-DE', message: 'höchstens 2 Artikel pro Bestellung' }],
  shelf: ['Shelf', { id: 7, theme: 'detail' }, 'type.googleapis.com/coord.gwtest.Shelf'],
  unknown: ['Shelf', { id: 8, theme: 'trace in /srv/orders' }, 'type.googleapis.com/acme.internal.Trace'],
};

/** A google.rpc.Status with the named details, as grpc-status-details-bin. */
function statusDetails(code: number, message: string, names: readonly string[]): Buffer {
  if (!errorRoot) {
    errorRoot = new protobuf.Root();
    errorRoot.resolvePath = (_o, t) => (t.startsWith('/') ? t : t.startsWith('google/protobuf/') ? t : `${PROTO_DIR}/${t}`);
    errorRoot.loadSync([`${PROTO_DIR}/google/rpc/status.proto`, `${PROTO_DIR}/google/rpc/error_details.proto`], { keepCase: true });
    errorRoot.add(new protobuf.Type('Shelf').add(new protobuf.Field('id', 1, 'int64')).add(new protobuf.Field('theme', 2, 'string')));
  }
  const details = names.map((n) => {
    const [type, value, url] = FAIL_DETAILS[n];
    const t = errorRoot!.lookupType(type);
    return { type_url: url ?? `type.googleapis.com/${type}`, value: t.encode(t.fromObject(value)).finish() };
  });
  return Buffer.from(errorRoot.lookupType('google.rpc.Status').encode({ code, message, details }).finish());
}

const book = (name: string): Msg => ({
  name,
  title: `Title of ${name}`,
  author: 'Ann',
  genre: 'HISTORY',
  published: { seconds: '1700000000', nanos: 500_000_000 },
  tags: ['a', 'b'],
  page_count: '9007199254740993',
});

type Unary = (call: grpc.ServerUnaryCall<Msg, unknown>, cb: grpc.sendUnaryData<unknown>) => void;
const ok = (f: (req: Msg, call: grpc.ServerUnaryCall<Msg, unknown>) => unknown): Unary => (call, cb) => cb(null, f(call.request, call));

/** Sleep calls the backend saw cancelled (the HTTP client went away, or the deadline passed). */
export const sleepCancellations: number[] = [];
/** Sleep calls the backend received. */
export const sleepsStarted: number[] = [];

export const libraryHandlers: grpc.UntypedServiceImplementation = {
  GetShelf: ok((req) => ({ id: req.shelf_id, theme: `theme-${req.shelf_id}` })),
  ListBooks: ok((req) => ({ books: [book('shelves/1/books/1')], next_page_token: 'next', echo: req })),
  CreateBook: ok((req) => ({ ...(req.book as Msg), name: `shelves/${req.shelf_id}/books/${req.request_id || 'new'}` })),
  GetBook: ok((req) => book(req.name as string)),
  UpdateBook: ok((req) => ({ ...(req.book as Msg), title: `${(req.book as Msg).title} [${((req.update_mask as { paths?: string[] })?.paths ?? []).join('|')}]` })),
  DeleteBook: ok(() => ({})),
  MoveBook: ok((req) => ({ name: String(req.name).replace(/^shelves\/[^/]+/, `shelves/${req.to_shelf}`) })),
  GetBookTitle: ok((req) => book(req.name as string)),
  GetFile: ok((req) => ({ name: req.name })),
  SearchBooks: ok((req) => ({ echo: req })),
  StreamBooks(call: grpc.ServerWritableStream<Msg, unknown>) {
    const req = call.request;
    const author = (req.filter as Msg | undefined)?.author;
    if (author === 'fail-first') return call.emit('error', { code: grpc.status.NOT_FOUND, details: 'no such shelf' });
    const n = Number(req.page_size || 3);
    for (let i = 0; i < n; i++) call.write({ name: `shelves/${req.shelf_id}/books/${i}`, title: `Book ${i}` });
    if (author === 'fail-later') return call.emit('error', { code: grpc.status.ABORTED, details: 'stream broke' });
    call.end();
  },
  Fail(call: grpc.ServerUnaryCall<Msg, unknown>, cb: grpc.sendUnaryData<unknown>) {
    const code = Number(call.request.code);
    const md = new grpc.Metadata();
    const message = String(call.request.message || `failing with ${grpc.status[code]}`);
    const names = (call.request.details as string[] | undefined)?.length ? (call.request.details as string[]) : ['shelf'];
    md.set('grpc-status-details-bin', statusDetails(code, message, names));
    md.set('x-fail-reason', 'requested');
    cb({ code, details: message, metadata: md });
  },
  Sleep(call: grpc.ServerUnaryCall<Msg, unknown>, cb: grpc.sendUnaryData<unknown>) {
    sleepsStarted.push(Number(call.request.ms));
    const trailers = new grpc.Metadata();
    trailers.set('x-slept-ms', String(call.request.ms));
    trailers.set('x-raw-bin', Buffer.from([1, 2, 3]));
    const t = setTimeout(() => cb(null, {}, trailers), Number(call.request.ms));
    call.on('cancelled', () => {
      clearTimeout(t);
      sleepCancellations.push(Number(call.request.ms));
    });
  },
  WhoAmI: ok((_req, call) => {
    const headers = new grpc.Metadata();
    headers.set('x-served-by', 'library');
    call.sendMetadata(headers);
    const claims = gatewayClaims(call.metadata);
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : 0;
    return {
      subject: claims?.subject ?? '',
      scopes: claims?.scopes ?? [],
      claims_json: claims ? JSON.stringify(claims.claims) : '',
      request_id: String(call.metadata.get('x-request-id')[0] ?? ''),
      deadline_ms: String(Math.max(0, Math.round(ms))),
      forwarded_header: String(call.metadata.get('x-tenant')[0] ?? ''),
    };
  }),
};

const echoBytes = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request);
export const kitchenHandlers: grpc.UntypedServiceImplementation = { Echo: echoBytes, EchoNested: echoBytes };

export const plainHandlers: grpc.UntypedServiceImplementation = {
  Hello: ok((req) => ({ greeting: `hello ${req.name}` })),
  Count(call: grpc.ServerWritableStream<Msg, unknown>) {
    for (let i = 0; i < Number(call.request.times || 1); i++) call.write({ greeting: `hello ${call.request.name} #${i}` });
    call.end();
  },
};

export interface Backends {
  coord: Coord;
  servers: CoordServer[];
  store?: StoreHandle;
  close(): Promise<void>;
}

/** Library, Kitchen and Plain served and registered as `library`, `kitchen`, `plain` (Library optionally requiring gateway claims). */
export async function startBackends(endpoint?: string, options: { requireClaimsOn?: boolean; namespace?: string } = {}): Promise<Backends> {
  const store = endpoint ? undefined : await startStore({ listen: '127.0.0.1:0' });
  const coord = connect({ endpoints: endpoint ?? store!.endpoint, namespace: options.namespace ?? '/coord/' });
  const defs = definitions();
  const common = { coord, signals: false as const, drainDelayMs: 0, graceMs: 0, log: () => {} };
  const servers = [
    await serve({ ...common, name: 'library', services: [[defs.library, libraryHandlers]], interceptors: options.requireClaimsOn ? [requireClaims()] : [] }),
    await serve({ ...common, name: 'kitchen', services: [[defs.kitchen, kitchenHandlers]] }),
    await serve({ ...common, name: 'plain', services: [[defs.plain, plainHandlers]] }),
  ];
  return {
    coord,
    servers,
    store,
    async close() {
      await Promise.all(servers.map((s) => s.close({ drainDelayMs: 0, graceMs: 0 })));
      await coord.close();
      await store?.close();
    },
  };
}

/** A gateway over `backends` with the test proto, Plain routed by the route table. */
export function gatewayOver(b: Backends, extra: Partial<GatewayOptions> = {}): Promise<Gateway> {
  return startGateway({
    coord: b.coord,
    protoFiles: [GATEWAY_PROTO],
    routes: [
      { method: 'POST', path: '/v1/hello', rpc: 'coord.gwtest.Plain/Hello' },
      { method: 'GET', path: '/v1/hello/{name}', rpc: 'coord.gwtest.Plain.Hello' },
      { method: 'GET', path: '/v1/count/{name}', rpc: 'coord.gwtest.Plain/Count' },
    ],
    log: () => {},
    ...extra,
  });
}

/** fetch + parsed JSON body. */
export async function call(gw: Gateway, method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined = init.raw;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(gw.url + path, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> & { code?: number; message?: string; details?: unknown[] } };
}
