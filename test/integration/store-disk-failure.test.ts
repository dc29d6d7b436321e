// Streaming replies obey the same durability rules as unary ones: a Snapshot is sent only once
// everything in it is durable, and after a failed fsync neither Snapshot nor LeaseKeepAlive
// answers as if nothing happened — both end with etcd's "server stopped", like every other call.
// A restart after a failed fsync (no reboot: the page cache still holds what never reached the
// disk) must not build on those bytes, and a snapshot that keeps failing (disk full) is retried
// with backoff, not on every append.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startStore } from '../../src/store/index.ts';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { PowerCutFs } from '../helpers/power-cut-fs.ts';
import { RawClient } from '../helpers/raw-client.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stopped = (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && e.details === 'etcdserver: server stopped';
/** Closes a store whose disk failed or lost power: its close() rejects with that failure, already asserted. */
const closeFailed = (store: { close(): Promise<void> }) => store.close().catch(() => {});

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

  it('a restart after a failed fsync (no reboot) rewrites the log tail, so a later power cut loses nothing acknowledged', async () => {
    const disk = new PowerCutFs();
    let store = await startStore({ listen: '127.0.0.1:0', dataDir: '/d', fs: disk });
    let client = new RawClient(store.endpoint);
    await client.put({ key: 'a', value: 'acknowledged before' });
    disk.failSyncs();
    await assert.rejects(client.put({ key: 'b', value: 'never synced' }), stopped);
    client.close();
    await closeFailed(store);

    // The error was transient: the same disk, its page cache still holding b's bytes (marked clean).
    disk.healSyncs();
    const lines: string[] = [];
    store = await startStore({ listen: '127.0.0.1:0', dataDir: '/d', fs: disk, log: (l) => lines.push(l) });
    client = new RawClient(store.endpoint);
    await client.put({ key: 'c', value: 'acknowledged after' });
    client.close();

    const afterCut = disk.cut(() => 0);
    await closeFailed(store);
    store = await startStore({ listen: '127.0.0.1:0', dataDir: '/d', fs: afterCut });
    client = new RawClient(store.endpoint);
    try {
      const kvs = (await client.range({ key: 'a', range_end: 'z' })).kvs.map((kv) => `${kv.key}=${kv.value}`);
      assert.ok(kvs.includes('a=acknowledged before') && kvs.includes('c=acknowledged after'), kvs.join(', '));
      assert.ok(lines.some((l) => /^coord store: \/d\/wal-\d+\.log rewritten to a fresh file after an unclean stop/.test(l)), lines.join('\n'));
    } finally {
      client.close();
      await store.close();
    }
  });

  it('a snapshot that keeps failing (disk full) is retried with backoff, each failure logged; it succeeds once there is room', async () => {
    const disk = new PowerCutFs();
    const lines: string[] = [];
    const store = await startStore({ listen: '127.0.0.1:0', dataDir: '/d', fs: disk, snapshotBytes: 2048, log: (l) => lines.push(l) });
    const client = new RawClient(store.endpoint);
    try {
      disk.failWrites(/^snap-\d+\.snap\.tmp$/);
      const segmentsBefore = disk.stats.segmentsCreated;
      const puts = 200;
      // Past 2 KiB of log every append may snapshot; without backoff each one tries again.
      for (let i = 0; i < puts; i++) await client.put({ key: `k${i}`, value: 'v'.repeat(100) });
      const attempts = disk.stats.snapshotAttempts;
      console.log(`${puts} puts with snapshots failing: ${attempts} snapshot attempts, ${disk.stats.segmentsCreated - segmentsBefore} segments started`);
      const failed = lines.filter((l) => /^coord store: snapshot failed \(\d+ in a row\), log kept, next try in [\d.]+ s: .*ENOSPC/.test(l));
      assert.ok(attempts >= 1, 'the log passed the snapshot threshold');
      assert.equal(failed.length, attempts, 'one log line per failed snapshot');
      assert.ok(attempts <= 10, `${attempts} snapshot attempts for ${puts} puts`);
      assert.ok(disk.stats.segmentsCreated - segmentsBefore <= attempts, `${disk.stats.segmentsCreated - segmentsBefore} segments started`);

      disk.failWrites(undefined);
      const deadline = Date.now() + 120_000;
      for (let i = 0; !lines.some((l) => l.startsWith('coord store: snapshot at revision')); i++) {
        assert.ok(Date.now() < deadline, `no snapshot after the disk had room again:\n${lines.join('\n')}`);
        await client.put({ key: `more${i}`, value: 'v' });
        await sleep(50); // polling interval: the retry waits for its backoff to pass
      }
    } finally {
      client.close();
      await store.close();
    }
  });
});
