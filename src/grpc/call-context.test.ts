import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import { bindCallContext, currentCallContext, detachCallContext, type CallContext } from './call-context.ts';

// A raw-bytes service with one method of each kind, so every handler shape is exercised.
const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/test.Ctx/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
  originalName: name.toLowerCase(),
});
const service: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  ClientStream: method('ClientStream', true, false),
  ServerStream: method('ServerStream', false, true),
  Bidi: method('Bidi', true, true),
  Missing: method('Missing', false, false),
};
const Client = grpc.makeGenericClientConstructor(service, 'Ctx');

/** What a handler saw of its context, sent back as JSON. */
const describeContext = (c: CallContext | undefined) => Buffer.from(JSON.stringify(c ? { method: c.method, deadline: c.deadline, tag: c.metadata.get('tag')[0] } : null));

describe('bindCallContext', () => {
  let server: grpc.Server;
  let client: grpc.Client & Record<string, (...args: unknown[]) => grpc.ClientUnaryCall & grpc.ClientDuplexStream<Buffer, Buffer>>;
  const seenSignals: AbortSignal[] = [];
  let heldOpen: ((signal: AbortSignal) => void) | undefined;

  before(async () => {
    server = new grpc.Server();
    server.addService(
      service,
      bindCallContext(service, {
        // Asynchronous on purpose: the context must survive awaits.
        async Unary(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
          await new Promise((r) => setTimeout(r, 1));
          const ctx = currentCallContext();
          if (ctx && heldOpen) return heldOpen(ctx.signal);
          if (ctx) seenSignals.push(ctx.signal);
          cb(null, describeContext(ctx));
        },
        // Bound by the proto's original (lower-case) name, as grpc-js allows.
        clientstream(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
          let seen: CallContext | undefined;
          call.on('data', () => (seen = currentCallContext()));
          call.on('end', () => cb(null, describeContext(seen)));
        },
        ServerStream(call: grpc.ServerWritableStream<Buffer, Buffer>) {
          setImmediate(() => {
            call.write(describeContext(currentCallContext()));
            call.write(Buffer.from(JSON.stringify(detachCallContext(() => currentCallContext()) ?? null)));
            call.end();
          });
        },
        Bidi(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
          call.on('data', () => call.write(describeContext(currentCallContext())));
          call.on('end', () => call.end());
        },
      }),
    );
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as typeof client;
  });
  after(() => {
    client.close();
    server.forceShutdown();
  });

  const md = () => {
    const m = new grpc.Metadata();
    m.set('tag', 'abc');
    return m;
  };

  it('unary handlers see the method, the absolute deadline and the metadata across awaits', async () => {
    const deadline = Date.now() + 60_000;
    const reply = await new Promise<Buffer>((res, rej) => client.Unary(Buffer.alloc(0), md(), { deadline }, (e: Error | null, r: Buffer) => (e ? rej(e) : res(r))));
    const seen = JSON.parse(reply.toString());
    assert.equal(seen.method, '/test.Ctx/Unary');
    assert.equal(seen.tag, 'abc');
    // The deadline crosses the wire as a relative timeout, so the server's clock reads it later by
    // the transit time; within a second is all a loaded machine guarantees.
    assert.ok(Math.abs(seen.deadline - deadline) < 1000, `deadline ${seen.deadline} vs sent ${deadline}`);
  });

  it('a call without a deadline has deadline Infinity (JSON null) and its signal aborts once answered', async () => {
    seenSignals.length = 0;
    const reply = await new Promise<Buffer>((res, rej) => client.Unary(Buffer.alloc(0), md(), (e: Error | null, r: Buffer) => (e ? rej(e) : res(r))));
    assert.equal(JSON.parse(reply.toString()).deadline, null);
    const [signal] = seenSignals;
    if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    assert.ok(isCoordError(signal.reason, 'aborted'));
  });

  it('client-stream data listeners run inside the context', async () => {
    const fromClientStream = await new Promise<Buffer>((res, rej) => {
      const call = client.ClientStream(md(), (e: Error | null, r: Buffer) => (e ? rej(e) : res(r)));
      call.write(Buffer.from('x'));
      call.end();
    });
    assert.equal(JSON.parse(fromClientStream.toString()).method, '/test.Ctx/ClientStream');
  });

  it('bidi data listeners see the context', async () => {
    const bidi = client.Bidi(md());
    const got = new Promise<Buffer>((res) => bidi.once('data', res));
    bidi.write(Buffer.from('x'));
    const seen = JSON.parse((await got).toString());
    bidi.end();
    assert.equal(seen.method, '/test.Ctx/Bidi');
    assert.equal(seen.tag, 'abc');
  });

  it('server streaming handlers see it; detachCallContext hides it', async () => {
    const call = client.ServerStream(Buffer.alloc(0), md());
    const [inside, detached] = (await call.toArray()) as Buffer[];
    assert.equal(JSON.parse(inside.toString()).method, '/test.Ctx/ServerStream');
    assert.equal(JSON.parse(detached.toString()), null);
  });

  it('the signal aborts when the caller cancels', async () => {
    const held = new Promise<AbortSignal>((resolve) => (heldOpen = resolve));
    const call = client.Unary(Buffer.alloc(0), md(), () => {});
    const signal = await held;
    heldOpen = undefined;
    assert.equal(signal.aborted, false);
    call.cancel();
    await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    assert.ok(isCoordError(signal.reason, 'aborted'));
  });

  it('methods the implementation lacks stay UNIMPLEMENTED', async () => {
    const err = await new Promise<grpc.ServiceError>((res) => client.Missing(Buffer.alloc(0), (e: grpc.ServiceError) => res(e)));
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  });

  it('code outside a handler has no context', () => {
    assert.equal(currentCallContext(), undefined);
  });
});
