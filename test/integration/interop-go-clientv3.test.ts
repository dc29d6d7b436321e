// coord store's compatibility claim, proven with etcd's own Go client: a fixed clientv3 script of
// KV, Txn, Watch and Lease calls (test/go/clientv3-scenario) prints the same lines against real
// etcd and against coord store (revisions relative to its first write, lease IDs left out).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { startStore } from '../../src/store/index.ts';
import { requireEtcd, startEtcd } from '../helpers/etcd-process.ts';
import { buildGoProgram, requireGo } from '../helpers/go-program.ts';

describe('etcd clientv3 (Go) against real etcd and coord store', { skip: requireEtcd() ?? requireGo() }, () => {
  it('the KV/Txn/Watch/Lease script prints the same on both', async () => {
    const bin = await buildGoProgram('clientv3-scenario');
    const run = async (endpoint: string) => (await promisify(execFile)(bin, ['-endpoint', endpoint], { timeout: 60_000 })).stdout;
    const etcd = await startEtcd();
    const store = await startStore({ listen: '127.0.0.1:0' });
    try {
      const [fromEtcd, fromStore] = [await run(etcd.endpoint), await run(store.endpoint)];
      console.log(`--- clientv3 against etcd\n${fromEtcd}--- clientv3 against coord store\n${fromStore}`);
      assert.ok(fromEtcd.split('\n').length > 15, 'the script ran to its end');
      assert.equal(fromStore, fromEtcd);
    } finally {
      await store.close();
      await etcd.stop();
    }
  });
});
