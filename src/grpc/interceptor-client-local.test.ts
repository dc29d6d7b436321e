import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { locallyFailedCall } from './interceptor-client-local.ts';

// No server at all: a call that reached the network would fail UNAVAILABLE (or hang waiting for
// a connection), so seeing the local status proves nothing was sent.
const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Unary: { path: '/t.S/Unary', requestStream: false, responseStream: false, requestSerialize: bytes.serialize, requestDeserialize: bytes.deserialize, responseSerialize: bytes.serialize, responseDeserialize: bytes.deserialize },
  Stream: { path: '/t.S/Stream', requestStream: true, responseStream: true, requestSerialize: bytes.serialize, requestDeserialize: bytes.deserialize, responseSerialize: bytes.serialize, responseDeserialize: bytes.deserialize },
};
const Client = grpc.makeGenericClientConstructor(service, 'S');

describe('locallyFailedCall', () => {
  let nextCalls = 0;
  const refuse: grpc.Interceptor = (options, nextCall) => {
    void nextCall; // never asked for: that is the point
    return locallyFailedCall(grpc.status.RESOURCE_EXHAUSTED, `refused ${options.method_definition.path}`);
  };
  const counting: grpc.Interceptor = (options, nextCall) => {
    nextCalls++;
    return new grpc.InterceptingCall(nextCall(options));
  };
  const client = new Client('127.0.0.1:1', grpc.credentials.createInsecure(), { interceptors: [refuse, counting] }) as grpc.Client &
    Record<string, (...args: unknown[]) => grpc.ClientUnaryCall & grpc.ClientDuplexStream<Buffer, Buffer>>;
  after(() => client.close());

  it('ends a unary call with its status, once, without creating the real call', async () => {
    let callbacks = 0;
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.Unary(Buffer.alloc(0), (e: grpc.ServiceError) => {
        callbacks++;
        resolve(e);
      }),
    );
    assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(err.details, 'refused /t.S/Unary');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(callbacks, 1);
    assert.equal(nextCalls, 0, 'no call was created underneath');
  });

  it('ends a stream with an error event; cancelling right after keeps the first status', async () => {
    const stream = client.Stream();
    stream.cancel();
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
    stream.write(Buffer.from('ignored'));
    stream.end();
  });
});
