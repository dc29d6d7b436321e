// The recorder itself: it must tell a GOAWAY that answers the client's own close from one a server
// sends unasked (here a grpc-js server with a short max connection age, which drops clients on its own).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { echoHandlers, echoService } from './echo.ts';
import { recordGoaways } from './goaway-recorder.ts';

type Echo = grpc.Client & { Echo(req: object, cb: (err: grpc.ServiceError | null) => void): void };

async function serve(options: grpc.ServerOptions): Promise<{ address: string; stop(): void }> {
  const server = new grpc.Server(options);
  server.addService(echoService().service, echoHandlers('recorder'));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

const call = (c: Echo) => new Promise<grpc.ServiceError | null>((resolve) => c.Echo({ message: 'x' }, resolve));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GOAWAY recorder', () => {
  it('calls a GOAWAY from a server that drops a client on its own unprovoked', async () => {
    const server = await serve({ 'grpc.max_connection_age_ms': 300, 'grpc.max_connection_age_grace_ms': 100 });
    const rec = recordGoaways();
    const { Client } = echoService();
    const client = new Client(server.address, grpc.credentials.createInsecure()) as unknown as Echo;
    try {
      assert.equal(await call(client), null);
      await sleep(700);
      assert.ok(rec.sessions.length >= 1);
      assert.ok(rec.unprovoked().length >= 1, `sessions: ${JSON.stringify(rec.sessions)}`);
      assert.equal(rec.unprovoked()[0]?.code, 0);
    } finally {
      rec.stop();
      client.close();
      server.stop();
    }
  });

  it('calls the answer to a client closing a session with a stream open provoked', async () => {
    const server = await serve({});
    const rec = recordGoaways();
    const { Client } = echoService();
    const client = new Client(server.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as Echo;
    try {
      // A call still waiting for its answer keeps the session open after the client lets go of it.
      const pending = new Promise<void>((resolve) => client.Echo({ message: 'x', sleep_ms: 500 }, () => resolve()));
      await sleep(100);
      client.close();
      await pending;
      assert.equal(rec.sessions.length, 1);
      assert.deepEqual(rec.unprovoked(), []);
      assert.equal(rec.provokedCount(), 1, `sessions: ${JSON.stringify(rec.sessions)}`);
    } finally {
      rec.stop();
      server.stop();
    }
  });
});
