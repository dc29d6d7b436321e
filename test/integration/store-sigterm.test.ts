// Issue 22 item 4: SIGTERM stops coord store while clients hold streams open. One `etcdctl watch`
// kept it up over 30 s and a LeaseKeepAlive stream over 12 minutes: grpc-js 1.14's forceShutdown()
// destroys only the sessions channelz tracks, and the store turns channelz off, so the forced stop
// scheduled after the grace period closed nothing. For each kind of open stream (watch, lease
// keepalive, a stream of unary puts in flight), on plaintext and TLS: the process exits by itself
// (the bound below is a hang guard, not a timing), and every put it acknowledged is there after a
// restart on the same data dir.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { makePki, TLS_BY_NAME } from '../helpers/certs.ts';
import { makeTempDir, removeTempDir, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

/** Far above the store's 1 s grace; the old code needed 30 s to 12 min. */
const HANG_GUARD_MS = 20_000;

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

const pki = makePki();
const dirs: string[] = [];
after(async () => {
  await stopAllStoreProcesses();
  for (const d of dirs) removeTempDir(d);
});

async function start(dataDir: string, tls: boolean) {
  const args = ['--data-dir', dataDir, '--listen', '127.0.0.1:0'];
  if (tls) {
    writeFileSync(join(dataDir, '..', `${process.pid}-cert.pem`), pki.serverCert);
    writeFileSync(join(dataDir, '..', `${process.pid}-key.pem`), pki.serverKey);
    args.push('--cert', join(dataDir, '..', `${process.pid}-cert.pem`), '--key', join(dataDir, '..', `${process.pid}-key.pem`));
  }
  const store = await startStoreProcess(args);
  const creds = tls ? grpc.credentials.createSsl(pki.ca) : grpc.credentials.createInsecure();
  const { KV, Watch, Lease } = etcdProto();
  const o = tls ? TLS_BY_NAME : {};
  const clients = { kv: new KV(store.endpoint, creds, o) as Client, watch: new Watch(store.endpoint, creds, o) as Client, lease: new Lease(store.endpoint, creds, o) as Client };
  return { store, ...clients, close: () => Object.values(clients).forEach((c) => c.close()) };
}

function unary<T>(client: Client, method: string, req: object): Promise<T> {
  return new Promise((resolve, reject) => client[method](req, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))));
}

/** A stream's first message, or the error that ended it first. */
function firstMessage(stream: grpc.ClientDuplexStream<object, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
  });
}

const kinds = {
  /** A watch, created and acknowledged before the signal. */
  watch: async (c: Awaited<ReturnType<typeof start>>) => {
    const stream = c.watch.Watch() as grpc.ClientDuplexStream<object, unknown>;
    stream.on('error', () => {}); // the store going away ends it; that is the point
    const created = firstMessage(stream);
    stream.write({ create_request: { key: Buffer.from('w'), range_end: Buffer.alloc(0) } });
    assert.equal((await created as { created: boolean }).created, true);
  },
  /** A lease keepalive stream with one answered keepalive. */
  keepalive: async (c: Awaited<ReturnType<typeof start>>) => {
    const lease = await unary<{ ID: string }>(c.lease, 'LeaseGrant', { TTL: 60 });
    const stream = c.lease.LeaseKeepAlive() as grpc.ClientDuplexStream<object, unknown>;
    stream.on('error', () => {}); // as above
    const first = firstMessage(stream);
    stream.write({ ID: lease.ID });
    assert.equal((await first as { ID: string }).ID, lease.ID);
  },
  /** Nothing long-lived: the puts below are in flight when the signal lands. */
  unary: async () => {},
};

for (const tls of [false, true]) {
  describe(`coord store stops on SIGTERM with clients connected (${tls ? 'TLS' : 'plaintext'})`, () => {
    for (const [kind, open] of Object.entries(kinds)) {
      it(`${kind}: exits, and every acknowledged put survives`, async () => {
        const dataDir = makeTempDir('coord-sigterm-');
        dirs.push(dataDir);
        const c = await start(dataDir, tls);
        try {
          await open(c);
          // Puts one after another until the store stops answering; each acknowledged one is recorded.
          const acked: string[] = [];
          let i = 0;
          let firstAck!: () => void;
          const oneAcked = new Promise<void>((resolve) => (firstAck = resolve));
          const writer = (async () => {
            for (;;) {
              const key = `k${i++}`;
              try {
                await unary(c.kv, 'Put', { key: Buffer.from(key), value: Buffer.from('v') });
              } catch {
                return;
              }
              acked.push(key);
              firstAck();
            }
          })();
          await oneAcked;
          c.store.kill('SIGTERM').catch(() => {}); // the exit is awaited below, with the guard
          let guard: NodeJS.Timeout | undefined;
          const exit = await Promise.race([
            c.store.exited,
            new Promise<'hung'>((resolve) => (guard = setTimeout(() => resolve('hung'), HANG_GUARD_MS))),
          ]);
          clearTimeout(guard);
          if (exit === 'hung') {
            await c.store.kill('SIGKILL');
            assert.fail(`coord store had not exited ${HANG_GUARD_MS} ms after SIGTERM with a ${kind} open`);
          }
          assert.equal(exit.code, 0, c.store.stderr());
          await writer;
          c.close();
          assert.ok(acked.length > 0);
          const again = await start(dataDir, tls);
          try {
            const r = await unary<{ kvs: { key: Buffer }[] }>(again.kv, 'Range', { key: Buffer.from('k'), range_end: Buffer.from('l') });
            const stored = new Set(r.kvs.map((kv) => kv.key.toString()));
            assert.deepEqual(acked.filter((k) => !stored.has(k)), [], 'acknowledged puts missing after the restart');
          } finally {
            again.close();
            await again.store.kill('SIGTERM');
          }
        } finally {
          c.close();
        }
      });
    }
  });
}
