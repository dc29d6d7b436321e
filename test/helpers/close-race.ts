// A client that closes its channel while its last call is starting, as the etcd3 npm client does
// when close() races the call it just made: on grpc-js 1.8.x (the `grpc-js-18` alias) or today's
// grpc-js. `sameTick` closes the channel in the very step that submits the call's HTTP/2 stream,
// so the client's GOAWAY reaches the server ahead of the call's HEADERS (nghttp2 queues a new
// stream behind other frames); otherwise it closes on the next macrotask, with the call on the wire.
import http2 from 'node:http2';
import * as grpc14 from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc18 from 'grpc-js-18';
import { loaderOptions } from '../../src/protocol/etcd-proto.ts';
import { TLS_BY_NAME } from './certs.ts';

export type GrpcJs = '1.8' | '1.14';
export interface CloseRaceResult {
  calls: number;
  failures: Map<string, number>;
}

type Kv = { Put(r: object, cb: (e: Error | null) => void): void; DeleteRange(r: object, cb: (e: Error | null) => void): void; close(): void };

const definition = protoLoader.loadSync('rpc.proto', loaderOptions);
let onRequest: (() => void) | undefined;
let hooked = 0;
/** What http2.connect was when hooked (another recorder may have wrapped it: it stays underneath). */
let original = http2.connect;
let patched: typeof http2.connect | undefined;

/** Runs `calls` rounds: a fresh client puts a key, then deletes it and closes its channel at once. */
export async function closeRace(opts: { grpcJs: GrpcJs; endpoint: string; ca?: Buffer; calls: number; sameTick: boolean; prefix: string }): Promise<CloseRaceResult> {
  const grpc = (opts.grpcJs === '1.8' ? grpc18 : grpc14) as unknown as typeof grpc14;
  const pkg = (grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: { KV: new (t: string, c: grpc14.ChannelCredentials, o: object) => Kv } }).etcdserverpb;
  const failures = new Map<string, number>();
  hook();
  try {
    for (let i = 0; i < opts.calls; i++) {
      const client = new pkg.KV(opts.endpoint, opts.ca ? grpc.credentials.createSsl(opts.ca) : grpc.credentials.createInsecure(), opts.ca ? TLS_BY_NAME : {});
      const key = Buffer.from(`${opts.prefix}/${i}`);
      const call = (m: 'Put' | 'DeleteRange', req: object) => new Promise<void>((resolve, reject) => client[m](req, (e) => (e ? reject(e) : resolve())));
      try {
        await call('Put', { key, value: Buffer.from('v') }); // connected: the race is about the call, not the handshake
        if (opts.sameTick) onRequest = () => client.close();
        const pending = call('DeleteRange', { key });
        if (!opts.sameTick) setTimeout(() => client.close(), 0);
        await pending;
      } catch (e) {
        const msg = (e as Error).message;
        failures.set(msg, (failures.get(msg) ?? 0) + 1);
      } finally {
        onRequest = undefined;
        client.close();
      }
    }
  } finally {
    unhook();
  }
  return { calls: opts.calls, failures };
}

/** Failed calls in a result. */
export function failed(r: CloseRaceResult): number {
  return [...r.failures.values()].reduce((a, b) => a + b, 0);
}

function hook(): void {
  if (hooked++ > 0) return;
  original = http2.connect;
  http2.connect = patched = ((...args: Parameters<typeof http2.connect>) => {
    const session = original(...args);
    const request = session.request.bind(session);
    session.request = ((...a: Parameters<typeof session.request>) => {
      const stream = request(...a);
      const f = onRequest;
      onRequest = undefined;
      f?.();
      return stream;
    }) as typeof session.request;
    return session;
  }) as typeof http2.connect;
}

function unhook(): void {
  if (--hooked === 0 && http2.connect === patched) http2.connect = original;
}
