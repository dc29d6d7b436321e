// Typed services at run time, on real etcd and on coord store: serve() given a generated client
// constructor (proto-loader-gen-types) or a ts-proto style definition serves it and registers it,
// and client() on `etcd:///<name>` is that generated client, reaching it through the registry
// with the policy its serviceConfig names. The compile-time half is test/typecheck/.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, it } from 'node:test';
import { connect, type Coord } from '../../src/index.ts';
import { client, serve, setup, type CoordServer } from '../../src/grpc/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { ECHO_PROTO } from '../helpers/echo.ts';
import type { ProtoGrpcType } from '../typecheck/generated/echo.ts';
import { EchoClient, EchoService } from '../typecheck/fixtures/ts-proto-echo.ts';

/** echo.proto, typed by the types `npm run gen:types` generated from it (the same loader options). */
function echoProto(): ProtoGrpcType {
  const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: true, longs: String, defaults: true });
  return grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
}

for (const backend of backends()) {
  describe(`typed services on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const coords: Coord[] = [];
    const clients: grpc.Client[] = [];
    const servers: CoordServer[] = [];
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await Promise.all(servers.splice(0).map((s) => s.close({ drainDelayMs: 0, graceMs: 0 })));
      await Promise.all(coords.splice(0).map((c) => c.close()));
    });
    const start = async (name: string) => {
      const coord = connect({ endpoints: [f.endpoint], namespace: `/${f.prefix(name)}` });
      coords.push(coord);
      setup({ coord, log: () => {} });
      return coord;
    };

    it('serves a proto-loader-gen-types constructor; client() is its generated client through etcd:///', async () => {
      const coord = await start('gen-types');
      const Echo = echoProto().coord.test.Echo;
      servers.push(
        await serve({
          coord,
          name: 'typed-echo',
          id: 't1',
          services: [
            [
              Echo,
              {
                Echo: (call, callback) => callback(null, { message: call.request.message, server_id: 't1' }),
                EchoStream: (call) => {
                  for (let i = 0; i < call.request.count; i++) call.write({ message: `${call.request.message} ${i}`, server_id: 't1' });
                  call.end();
                },
              },
            ],
          ],
          signals: false,
          log: () => {},
        }),
      );
      const echo = client(Echo, 'etcd:///typed-echo', { serviceConfig: { policy: { round_robin: {} }, methodConfig: [{ name: [{}], waitForReady: true }] } });
      clients.push(echo);
      const reply = await new Promise((resolve, reject) => echo.Echo({ message: 'hi' }, { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r))));
      assert.deepEqual(reply, { message: 'hi', server_id: 't1' });
      const streamed: string[] = [];
      const stream = echo.EchoStream({ message: 'n', count: 3 }, { deadline: Date.now() + 15_000 });
      for await (const r of stream) streamed.push((r as { message: string }).message);
      assert.deepEqual(streamed, ['n 0', 'n 1', 'n 2']);
    });

    it('serves a ts-proto style definition (literal streaming flags) and its client class', async () => {
      const coord = await start('ts-proto');
      servers.push(
        await serve({
          coord,
          name: 'typed-echo-ts-proto',
          id: 'p1',
          services: [[EchoService, { echo: (call, callback) => callback(null, { message: call.request.message, serverId: 'p1' }), echoStream: (call) => call.end() }]],
          reflection: false,
          signals: false,
          log: () => {},
        }),
      );
      const echo = client(EchoClient, 'etcd:///typed-echo-ts-proto', { serviceConfig: { methodConfig: [{ name: [{}], waitForReady: true }] } });
      clients.push(echo);
      const reply = await new Promise((resolve, reject) =>
        echo.echo({ message: 'hi', sleepMs: 0, failCode: 0, count: 0 }, new grpc.Metadata(), (e, r) => (e ? reject(e) : resolve(r))),
      );
      assert.deepEqual(reply, { message: 'hi', serverId: 'p1' });
    });
  });
}
