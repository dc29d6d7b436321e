// Streaming replies obey the same durability rules as unary ones: a Snapshot is sent only once
// everything in it is durable, and after a failed fsync neither Snapshot nor LeaseKeepAlive
// answers as if nothing happened — both end with etcd's "server stopped", like every other call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startStore } from '../../src/store/index.ts';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { PowerCutFs } from '../helpers/power-cut-fs.ts';
import { RawClient } from '../helpers/raw-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function snapshot(endpoint: string): Promise<Buffer> {
  const client = new (etcdProto().Maintenance)(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Snapshot(req: object): grpc.ClientReadableStream<{ blob: Buffer }>;
  };
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    const call = client.Snapshot({});
    call.on('data', (r: { blob: Buffer }) => parts.push(r.blob));
    call.on('error', (e) => {
      client.close();
      reject(e);
    });
    call.on('end', () => {
      client.close();
      resolve(Buffer.concat(parts));
    });
  });
}

describe('coord store streaming replies and the disk', () => {
  it('a Snapshot taken while a write awaits its fsync is not sent if that fsync never completes', async () => {
    const disk = new PowerCutFs({ syncMs: 300 });
    const store = await startStore({ listen: '127.0.0.1:0', dataDir: '/d', fs: disk });
    const client = new RawClient(store.endpoint);
    try {
      await client.put({ key: 'k', value: 'durable' });
      const pending = client.put({ key: 'k', value: 'never-durable' }).then(() => 'acknowledged', (e: grpc.ServiceError) => e.details);
      await sleep(50); // the put is applied in memory, its fsync under way
      const snap = snapshot(store.endpoint).then((b) => `sent ${b.includes('never-durable') ? 'with' : 'without'} the pending write`, (e: grpc.ServiceError) => e.details);
      await sleep(50);
      disk.cut(() => 0);
      assert.equal(await pending, 'etcdserver: server stopped');
      assert.equal(await snap, 'etcdserver: server stopped');
    } finally {
      client.close();
      await store.close().catch(() => {});
    }
  });

  it('after a failed fsync, Snapshot and LeaseKeepAlive end with "server stopped"', async () => {
    const disk = new PowerCutFs();
    const store = await startStore({ listen: '127.0.0.1:0', dataDir: '/d', fs: disk });
    const client = new RawClient(store.endpoint);
    try {
      const lease = await client.leaseGrant({ TTL: 30 });
      const keepAlive = client.keepAliveStream();
      keepAlive.send(lease.ID);
      assert.equal((await keepAlive.next()).TTL, '30');
      disk.failSyncs();
      await assert.rejects(client.put({ key: 'k', value: 'v' }), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && e.details === 'etcdserver: server stopped');
      keepAlive.send(lease.ID);
      await assert.rejects(keepAlive.next(), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && e.details === 'etcdserver: server stopped');
      await assert.rejects(snapshot(store.endpoint), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && e.details === 'etcdserver: server stopped');
    } finally {
      client.close();
      await store.close().catch(() => {});
    }
  });
});
