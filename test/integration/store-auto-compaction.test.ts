// Issue 22 item 4: coord store compacts old history by itself, as etcd's
// `--auto-compaction-mode periodic --auto-compaction-retention`. With one second of retention and
// no writes after revision 6, history is compacted to 6: a watch from revision 2 is cancelled with
// compact_revision 6 (etcd's answer to a watch from a compacted revision, checked against etcd in
// test/conformance/watch.test.ts), and the store logs the compaction. A bad flag is one clear line.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { runStoreToExit, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

after(() => stopAllStoreProcesses());

type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

/** The first reply to a watch from `start` that is not its created message. */
function watchFrom(client: Client, start: number): Promise<{ canceled: boolean; compact_revision: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.Watch() as grpc.ClientDuplexStream<object, { created: boolean; canceled: boolean; compact_revision: string }>;
    stream.on('error', reject);
    stream.on('data', (r) => {
      if (r.created && !r.canceled) return;
      stream.cancel();
      resolve(r);
    });
    stream.write({ create_request: { key: Buffer.from('k'), range_end: Buffer.from('l'), start_revision: String(start) } });
  });
}

describe('coord store auto-compaction', () => {
  it('periodic, 1s: history before the window is compacted; a watch from it gets compact_revision', async () => {
    const store = await startStoreProcess(['--memory', '--listen', '127.0.0.1:0', '--auto-compaction-retention', '1s']);
    const { KV, Watch } = etcdProto();
    const kv = new KV(store.endpoint, grpc.credentials.createInsecure()) as Client;
    const watch = new Watch(store.endpoint, grpc.credentials.createInsecure()) as Client;
    try {
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve, reject) => kv.Put({ key: Buffer.from(`k${i}`), value: Buffer.from('v') }, (e: Error | null) => (e ? reject(e) : resolve())));
      }
      await store.waitForStderr(/^coord store: auto-compaction to revision 6 \(/m, 30_000);
      const r = await watchFrom(watch, 2);
      assert.equal(r.canceled, true);
      assert.equal(Number(r.compact_revision), 6);
    } finally {
      kv.close();
      watch.close();
      await store.kill('SIGTERM');
    }
  });

  it('a bad retention is refused with one line', async () => {
    const r = await runStoreToExit(['--memory', '--listen', '127.0.0.1:0', '--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^coord: --auto-compaction-retention: expected a number of revisions, got 1h$/m);
  });
});
