// Durability of coord store across restarts, as a user of the `coord store` process sees it:
// what comes back after a clean stop or a kill -9, leases, snapshots bounding the data dir, how
// damaged data files and bad start-up conditions are reported, and malformed requests.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startStore } from '../../src/store/index.ts';
import { EventType, RawClient, callError } from '../helpers/raw-client.ts';
import {
  dirBytes,
  dirContents,
  makeTempDir,
  removeTempDir,
  runStoreToExit,
  startStoreProcess,
  stopAllStoreProcesses,
  type StoreProcess,
} from '../helpers/store-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rev = (r: { header: { revision: string } }) => Number(r.header.revision);
const wal1 = 'wal-0000000000000001.log';

/** Asserts `stderr` is exactly one line and returns it. */
function oneLine(stderr: string): string {
  assert.match(stderr, /^[^\n]+\n$/, `expected exactly one line on stderr, got:\n${stderr}`);
  return stderr.trimEnd();
}

describe('coord store durability across restarts', () => {
  const root = makeTempDir('coord-durability-');
  let n = 0;
  /** A data dir path (not created) private to one test. */
  const dataDir = () => join(root, `data-${++n}`);
  const clients: RawClient[] = [];

  /** Starts `coord store` on `dir` and connects a client to it. */
  async function open(dir: string): Promise<{ store: StoreProcess; client: RawClient }> {
    const store = await startStoreProcess(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    const client = new RawClient(store.endpoint);
    clients.push(client);
    return { store, client };
  }

  after(async () => {
    for (const c of clients) c.close();
    await stopAllStoreProcesses();
    removeTempDir(root);
  });

  it('recovers keys, history and compaction state; revisions continue', async () => {
    const dir = dataDir();
    let { store, client } = await open(dir);
    const r2 = rev(await client.put({ key: 'a', value: '1' }));
    const r3 = rev(await client.put({ key: 'a', value: '2' }));
    const r4 = rev(await client.put({ key: 'b', value: 'x' }));
    const r5 = rev(await client.deleteRange({ key: 'b' }));
    const r6 = rev(await client.put({ key: 'c', value: 'y' }));
    await client.compact({ revision: r3 });
    const r7 = rev(await client.put({ key: 'a', value: '3' }));
    assert.deepEqual([r2, r3, r4, r5, r6, r7], [2, 3, 4, 5, 6, 7]);
    assert.deepEqual(await store.kill('SIGTERM'), { code: 0, signal: null });

    ({ store, client } = await open(dir));
    const now = await client.range({ key: 'a', range_end: 'z' });
    assert.equal(rev(now), r7);
    assert.deepEqual(
      now.kvs.map((kv) => [kv.key.toString(), kv.value.toString(), Number(kv.create_revision), Number(kv.mod_revision), Number(kv.version)]),
      [
        ['a', '3', r2, r7, 3],
        ['c', 'y', r6, r6, 1],
      ],
    );
    const old = await client.range({ key: 'a', range_end: 'z', revision: r4 });
    assert.deepEqual(
      old.kvs.map((kv) => [kv.key.toString(), kv.value.toString(), Number(kv.mod_revision)]),
      [
        ['a', '2', r3],
        ['b', 'x', r4],
      ],
    );
    const compacted = await callError(client.range({ key: 'a', revision: r2 }));
    assert.deepEqual(compacted, { code: grpc.status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
    assert.deepEqual(await callError(client.compact({ revision: r3 })), compacted);

    // The event history is back too: a watch from an old revision replays it.
    const watch = client.watchStream();
    await watch.watch({ key: 'a', range_end: 'z', start_revision: r4 });
    const { events } = await watch.collect((e) => e.length >= 4);
    assert.deepEqual(
      events.map((e) => [e.type, e.kv?.key.toString(), Number(e.kv?.mod_revision)]),
      [
        [EventType.PUT, 'b', r4],
        [EventType.DELETE, 'b', r5],
        [EventType.PUT, 'c', r6],
        [EventType.PUT, 'a', r7],
      ],
    );
    watch.close();

    assert.equal(rev(await client.put({ key: 'd', value: 'z' })), r7 + 1);
    await store.kill('SIGTERM');
  });

  it('brings leases back with a full TTL, then expires them', async () => {
    const dir = dataDir();
    let { store, client } = await open(dir);
    const lease = await client.leaseGrant({ TTL: 5 });
    await client.put({ key: 'leased', value: 'v', lease: lease.ID });
    await sleep(3000);
    assert.ok(Number((await client.leaseTimeToLive({ ID: lease.ID })).TTL) <= 2);
    await store.kill('SIGKILL');

    ({ store, client } = await open(dir));
    const restarted = Date.now();
    const ttl = await client.leaseTimeToLive({ ID: lease.ID, keys: true });
    assert.ok(Number(ttl.TTL) >= 4 && Number(ttl.TTL) <= 5, `TTL after restart is ${ttl.TTL}, expected about 5`);
    assert.equal(ttl.grantedTTL, '5');
    assert.deepEqual(ttl.keys.map(String), ['leased']);

    // Past the lease's original deadline (2 s after the restart) the key must still be there...
    await sleep(2500);
    assert.equal((await client.range({ key: 'leased' })).count, '1', 'the lease expired on its pre-restart deadline');
    // ...and gone once the refreshed TTL has run out.
    let gone = false;
    while (!gone && Date.now() - restarted < 8000) {
      await sleep(200);
      gone = (await client.range({ key: 'leased' })).count === '0';
    }
    assert.ok(gone, `key still present ${Date.now() - restarted} ms after the restart with a 5 s lease`);
    assert.equal((await client.leaseTimeToLive({ ID: lease.ID })).TTL, '-1');
    await store.kill('SIGKILL');

    // The expiry itself was durable.
    ({ store, client } = await open(dir));
    assert.equal((await client.range({ key: 'leased' })).count, '0');
    assert.deepEqual((await client.leaseLeases()).leases, []);
    await store.kill('SIGTERM');
  });

  it('keeps the data dir bounded with snapshots, and recovers from them', async (t) => {
    const dir = dataDir();
    const lines: string[] = [];
    const options = { dataDir: dir, listen: '127.0.0.1:0', snapshotBytes: 64 * 1024, log: (l: string) => lines.push(l) };
    const keys = 20;
    const value = (i: number) => Buffer.alloc(8 * 1024, `value ${i} `);
    let written = 0;
    let maxDirBytes = 0;
    const latest = new Map<string, { i: number; rev: number }>();
    let lastCompact = 0;
    {
      await using store = await startStore(options);
      const client = new RawClient(store.endpoint);
      try {
        for (let round = 0; round < 40; round++) {
          // 20 puts at a time (sharing fsyncs), then compact as etcd's auto-compaction would.
          await Promise.all(
            Array.from({ length: keys }, async (_, k) => {
              const i = round * keys + k;
              const r = await client.put({ key: `snap/${k}`, value: value(i) });
              written += value(i).length;
              latest.set(`snap/${k}`, { i, rev: rev(r) });
            }),
          );
          lastCompact = await client.revision();
          await client.compact({ revision: lastCompact });
          maxDirBytes = Math.max(maxDirBytes, dirBytes(dir));
        }
      } finally {
        client.close();
      }
    }
    const files = readdirSync(dir);
    // Live data stays under ~330 KB (20 keys, compacted every round); the log alone would be > 6 MB.
    assert.ok(written >= 6 * 1024 * 1024, `wrote only ${written} bytes`);
    assert.ok(maxDirBytes < 1.5 * 1024 * 1024, `data dir reached ${maxDirBytes} bytes after writing ${written}`);
    assert.ok(lines.some((l) => /snapshot .* written/.test(l)), `no snapshot was logged:\n${lines.join('\n')}`);
    assert.equal(files.filter((f) => f.endsWith('.snap')).length, 1, files.join(' '));
    assert.ok(files.filter((f) => f.endsWith('.log')).length <= 2, files.join(' '));
    assert.ok(!files.includes(wal1), `the first segment was never removed: ${files.join(' ')}`);

    await using store = await startStore(options);
    const client = new RawClient(store.endpoint);
    try {
      const all = await client.range({ key: 'snap/', range_end: 'snap0' });
      assert.equal(all.kvs.length, keys);
      for (const kv of all.kvs) {
        const want = latest.get(kv.key.toString());
        assert.ok(want, kv.key.toString());
        assert.equal(Number(kv.mod_revision), want.rev, kv.key.toString());
        assert.ok(kv.value.equals(value(want.i)), `${kv.key} has the wrong value after reopening`);
      }
      assert.equal(rev(all), Math.max(...[...latest.values()].map((l) => l.rev)));
      assert.equal((await client.range({ key: 'snap/0', revision: lastCompact })).kvs.length, 1);
      assert.equal((await callError(client.range({ key: 'snap/0', revision: lastCompact - 1 }))).code, grpc.status.OUT_OF_RANGE);
      assert.equal(rev(await client.put({ key: 'snap/after', value: 'x' })), rev(all) + 1);
    } finally {
      client.close();
    }
    t.diagnostic(`wrote ${written} bytes of values; the data dir peaked at ${maxDirBytes} bytes`);
  });

  it('refuses to start on a corrupt record in the middle of the log, naming file and offset', async () => {
    const dir = dataDir();
    const { store, client } = await open(dir);
    for (let i = 0; i < 5; i++) await client.put({ key: `k${i}`, value: `value-${i}` }); // one batch each
    await store.kill('SIGKILL');

    // Segment header (28 bytes), then the first batch's header (16), then its first record:
    // crc (4) | length (4) | payload. Flip a payload byte of that first record.
    const file = join(dir, wal1);
    const buf = readFileSync(file);
    assert.deepEqual([...buf.subarray(28, 32)], [0xc7, 0x57, 0x42, 0x01], 'no batch at offset 28');
    const recordAt = 28 + 16;
    assert.ok(buf.length > recordAt + 200, 'expected several batches after the first');
    buf[recordAt + 8 + 2] ^= 0xff;
    writeFileSync(file, buf);
    // The lock file names whoever holds the dir: not data.
    const data = () => new Map([...dirContents(dir)].filter(([name]) => name !== 'coord-store.lock'));
    const before = data();

    const run = await runStoreToExit(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    assert.notEqual(run.code, 0);
    const line = oneLine(run.stderr);
    assert.ok(line.includes(file), `the error does not name ${file}: ${line}`);
    assert.match(line, new RegExp(`corrupt at offset ${recordAt}\\b`));
    assert.equal(run.stdout, '');
    assert.deepEqual(data(), before, 'the data dir was modified');
  });

  it('cuts a torn tail, keeping every write acknowledged before the last batch', async () => {
    const dir = dataDir();
    let { store, client } = await open(dir);
    const acked: [string, number][] = [];
    for (let i = 0; i < 10; i++) acked.push([`k${i}`, rev(await client.put({ key: `k${i}`, value: `value-${i}` }))]);
    await client.put({ key: 'last', value: 'in the last batch' });
    await store.kill('SIGKILL');
    const file = join(dir, wal1);
    truncateSync(file, readFileSync(file).length - 3);

    ({ store, client } = await open(dir));
    const log = await store.waitForStderr(/recovered revision/);
    assert.match(log, new RegExp(`torn tail in ${file.replace(/[.]/g, '\\.')} at offset \\d+ .*truncated \\d+ bytes`));
    const all = await client.range({ key: 'k', range_end: 'm' });
    assert.deepEqual(
      all.kvs.map((kv) => [kv.key.toString(), Number(kv.mod_revision)]),
      acked,
    );
    assert.equal((await client.range({ key: 'last' })).count, '0', 'the torn write survived');
    const lastAcked = acked[acked.length - 1][1];
    assert.equal(rev(all), lastAcked);
    const next = rev(await client.put({ key: 'k-after', value: 'x' }));
    assert.equal(next, lastAcked + 1);
    await store.kill('SIGTERM');

    // The repaired segment takes appends and reads back cleanly.
    ({ store, client } = await open(dir));
    assert.doesNotMatch(await store.waitForStderr(/recovered revision/), /torn tail|corrupt/);
    assert.equal(Number((await client.range({ key: 'k-after' })).kvs[0]?.mod_revision), next);
    assert.equal((await client.range({ key: 'k', range_end: 'm' })).kvs.length, acked.length + 1);
    await store.kill('SIGTERM');
  });

  it('a value holding a copy of a log batch cannot make a torn tail look like corruption', async () => {
    const dir = dataDir();
    let { store, client } = await open(dir);
    const acked: [string, number][] = [];
    for (let i = 0; i < 5; i++) acked.push([`k${i}`, rev(await client.put({ key: `k${i}`, value: `value-${i}` }))]);
    await store.kill('SIGTERM'); // a clean stop: the next store appends to the same segment
    const file = join(dir, wal1);
    const segment = readFileSync(file);
    // A real batch of this very segment (the last put's), stored by a client as a value.
    const batch = Buffer.from(segment.subarray(segment.lastIndexOf(Buffer.from([0xc7, 0x57, 0x42, 0x01]))));
    ({ store, client } = await open(dir));
    await client.put({ key: 'payload', value: Buffer.concat([Buffer.alloc(5000, 'x'), batch, Buffer.from(' and more')]) });
    await store.kill('SIGKILL');
    // The crash tore that put's batch: its first page never reached the disk, a later one (with
    // the copy in it) did. Only that unacknowledged put may go.
    const torn = readFileSync(file);
    torn.fill(0, segment.length, segment.length + 4096);
    writeFileSync(file, torn);

    ({ store, client } = await open(dir));
    const log = await store.waitForStderr(/recovered revision/);
    assert.match(log, new RegExp(`torn tail in ${file.replace(/[.]/g, '\\.')} at offset \\d+`));
    const all = await client.range({ key: 'k', range_end: 'z' });
    assert.deepEqual(
      all.kvs.map((kv) => [kv.key.toString(), Number(kv.mod_revision)]),
      acked,
    );
    await store.kill('SIGTERM');
  });

  it('exits with one clear line when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const dir = dataDir();
      const run = await runStoreToExit(['--data-dir', dir, '--listen', `127.0.0.1:${port}`]);
      assert.notEqual(run.code, 0);
      assert.equal(oneLine(run.stderr), `coord store: cannot listen on 127.0.0.1:${port}: address already in use`);
      assert.ok(!existsSync(dir), 'a store that cannot listen still created its data dir');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('exits with one clear line when the data dir cannot be created', async () => {
    const file = join(root, 'not-a-dir');
    writeFileSync(file, 'x');
    const dir = join(file, 'data');
    const run = await runStoreToExit(['--data-dir', dir, '--listen', '127.0.0.1:0']);
    assert.notEqual(run.code, 0);
    const line = oneLine(run.stderr);
    assert.ok(line.includes(`cannot use data dir ${dir}`), line);
    assert.match(line, /not a directory/);
  });

  it('rejects malformed and oversized requests clearly and keeps serving', async () => {
    const dir = dataDir();
    let { store, client } = await open(dir);
    const acked: [string, number][] = [];
    for (let i = 0; i < 5; i++) acked.push([`k${i}`, rev(await client.put({ key: `k${i}`, value: `v${i}` }))]);
    const before = acked[acked.length - 1][1];

    const raw = new grpc.Client(store.endpoint, grpc.credentials.createInsecure());
    try {
      const identity = (b: Buffer) => b;
      const garbage = [
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a tag varint that never ends
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), // key: length far past the end
        Buffer.from([0x7f, 0x00]), // field 15 with wire type 7, which does not exist
      ];
      for (const bytes of garbage) {
        const err = await callError(
          new Promise((resolve, reject) =>
            raw.makeUnaryRequest('/etcdserverpb.KV/Put', identity, identity, bytes, { deadline: Date.now() + 5000 }, (e, v) =>
              e ? reject(e) : resolve(v),
            ),
          ),
        );
        assert.equal(err.code, grpc.status.INTERNAL, `${bytes.toString('hex')}: ${err.details}`);
        assert.match(err.details, /deserializ/i);
      }
    } finally {
      raw.close();
    }

    const tooLarge = await callError(client.put({ key: 'big', value: Buffer.alloc(1.5 * 1024 * 1024 + 1, 'x') }));
    assert.deepEqual(tooLarge, { code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' });
    const overLimit = await callError(client.put({ key: 'big', value: Buffer.alloc(2 * 1024 * 1024 + 1, 'x') }));
    assert.equal(overLimit.code, grpc.status.RESOURCE_EXHAUSTED, overLimit.details);
    // Just under the limit is still accepted.
    acked.push(['k5', rev(await client.put({ key: 'k5', value: Buffer.alloc(1.5 * 1024 * 1024 - 64, 'y') }))]);
    assert.equal(acked[5][1], before + 1, 'a rejected request used up a revision');

    const check = async () => {
      const all = await client.range({ key: 'k', range_end: 'l', keys_only: true });
      assert.deepEqual(all.kvs.map((kv) => [kv.key.toString(), Number(kv.mod_revision)]), acked);
      assert.equal((await client.range({ key: 'big' })).count, '0');
    };
    await check();
    await store.kill('SIGKILL');
    ({ store, client } = await open(dir));
    await check();
    await store.kill('SIGTERM');
  });
});
