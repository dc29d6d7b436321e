// Clients for the grpc-serve tests: Echo calls as settled results, grpc.health.v1 Check/Watch,
// server reflection, a raw HTTP/2 gRPC call (to send what grpc-js clients never send), and a
// recorder of one instance's registry states.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Coord, Discovery, DiscoverySnapshot } from '../../src/index.ts';
import { echoService, type EchoReply, type EchoRequest } from '../helpers/echo.ts';

const require = createRequire(import.meta.url);

export type Outcome<T> = { ok: true; value: T; trailers: grpc.Metadata } | { ok: false; code: grpc.status; details: string; trailers: grpc.Metadata };

type EchoStub = grpc.Client & {
  Echo(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply: EchoReply) => void): grpc.ClientUnaryCall;
  EchoStream(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions): grpc.ClientReadableStream<EchoReply>;
};

export class EchoClient {
  readonly stub: EchoStub;
  constructor(address: string, options: grpc.ClientOptions = {}) {
    this.stub = new (echoService().Client)(address, grpc.credentials.createInsecure(), options) as unknown as EchoStub;
  }

  /** One Echo call, settled: never rejects. */
  echo(req: EchoRequest, options: grpc.CallOptions = {}): Promise<Outcome<EchoReply>> {
    return new Promise((resolve) => {
      let trailers = new grpc.Metadata();
      const call = this.stub.Echo(req, new grpc.Metadata(), options, (err, value) =>
        resolve(err ? { ok: false, code: err.code, details: err.details, trailers: err.metadata ?? trailers } : { ok: true, value, trailers }),
      );
      call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
    });
  }

  /** One EchoStream call: the replies, or the error it ended with. */
  stream(req: EchoRequest, options: grpc.CallOptions = {}): Promise<Outcome<EchoReply[]>> {
    return new Promise((resolve) => {
      const replies: EchoReply[] = [];
      const call = this.stub.EchoStream(req, new grpc.Metadata(), options);
      call.on('data', (r: EchoReply) => replies.push(r));
      call.on('error', (e: grpc.ServiceError) => resolve({ ok: false, code: e.code, details: e.details, trailers: e.metadata }));
      call.on('status', (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) resolve({ ok: true, value: replies, trailers: s.metadata });
      });
    });
  }

  close(): void {
    this.stub.close();
  }
}

type HealthStub = grpc.Client & {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

export class HealthClient {
  private readonly stub: HealthStub;
  constructor(address: string) {
    const { service } = require('grpc-health-check') as { service: grpc.ServiceDefinition };
    const Ctor = grpc.makeGenericClientConstructor(service, 'grpc.health.v1.Health');
    this.stub = new Ctor(address, grpc.credentials.createInsecure()) as unknown as HealthStub;
  }

  /** The status, or `error <code>`. */
  check(service = ''): Promise<string> {
    return new Promise((resolve) => this.stub.Check({ service }, { deadline: Date.now() + 10_000 }, (err, reply) => resolve(err ? `error ${grpc.status[err.code]}` : reply.status)));
  }

  /** Opens a Watch; `statuses` collects what it reports, `ended` resolves with how the stream ended. */
  watch(service = ''): { statuses: string[]; ended: Promise<string>; cancel(): void } {
    const call = this.stub.Watch({ service });
    const statuses: string[] = [];
    call.on('data', (r: { status: string }) => statuses.push(r.status));
    const ended = new Promise<string>((resolve) => {
      call.on('error', (e: grpc.ServiceError) => resolve(grpc.status[e.code]));
      call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve('OK'));
    });
    return { statuses, ended, cancel: () => call.cancel() };
  }

  close(): void {
    this.stub.close();
  }
}

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/** Asks the server's reflection service (v1) one question. */
export function reflect(address: string, request: { list_services: string } | { file_containing_symbol: string }): Promise<ReflectionResponse> {
  const proto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(proto, { keepCase: true })) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo(opts: grpc.CallOptions): grpc.ClientDuplexStream<object, ReflectionResponse>;
  };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: Date.now() + 10_000 });
    call.on('data', (r: ReflectionResponse) => {
      resolve(r);
      call.end();
    });
    call.on('error', reject);
    call.on('close', () => client.close());
    call.write(request);
  });
}

/**
 * A gRPC call over plain HTTP/2, for requests grpc-js clients never send (a zero timeout) or
 * send differently (several in one write). Resolves with the grpc-status.
 */
export function rawEchoCall(session: http2.ClientHttp2Session, message: string, timeout?: string): Promise<number> {
  const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': '/coord.test.Echo/Echo', 'content-type': 'application/grpc', te: 'trailers' };
  if (timeout) headers['grpc-timeout'] = timeout;
  const req = session.request(headers);
  let status = -1;
  req.on('response', (h) => h['grpc-status'] !== undefined && (status = Number(h['grpc-status'])));
  req.on('trailers', (t) => (status = Number(t['grpc-status'])));
  req.resume();
  // EchoRequest { message } is field 1, length-delimited; short messages only.
  const body = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(message)]), Buffer.from(message)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  req.end(Buffer.concat([prefix, body]));
  return new Promise((resolve) => req.on('close', () => resolve(status)));
}

/**
 * Records the registry states one instance goes through (`serving`, `draining`, `gone`), each
 * listed once per change, starting from when the recorder was made.
 */
export function recordRegistry(coord: Coord, name: string, id: string): { states: string[]; close(): void } {
  const discovery = coord.discover(name);
  const states: string[] = [];
  const note = (snap: DiscoverySnapshot) => {
    const i = snap.instances.find((x) => x.id === id);
    const state = i ? (i.status ?? 'serving') : 'gone';
    if (states.length === 0 && state === 'gone') return;
    if (states.at(-1) !== state) states.push(state);
  };
  void discovery.ready.then(() => note(discovery.snapshot()));
  const sub = discovery.onChange(note);
  return {
    states,
    close: () => {
      sub.dispose();
      discovery.close();
    },
  };
}

/**
 * Calls instance `id` with one Echo the moment `discovery` lists it; resolves with whether that
 * call was answered. A registration made before the server listens fails it.
 */
export function callWhenListed(discovery: Discovery, id: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const sub = discovery.onChange((snap) => {
      const i = snap.instances.find((x) => x.id === id);
      if (!i) return;
      sub.dispose();
      const c = new EchoClient(i.endpoints[0].replace('grpc://', ''));
      void c.echo({ message: 'first' }, { deadline: Date.now() + 10_000 }).then((r) => {
        c.close();
        resolve(r.ok);
      });
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
