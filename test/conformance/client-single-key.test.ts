// The library client's single-key operations touch exactly one key on both backends. etcd reads a
// range_end that is present but empty as "every key >= key", so a client that sends one turns a
// Get of a missing key into "the next key" and a Delete of one key into "delete everything after".
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EtcdClient, op } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';

for (const backend of backends()) {
  describe(`client single-key operations on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: EtcdClient[] = [];
    after(() => clients.forEach((c) => c.close()));
    const seeded = async (name: string) => {
      const c = new EtcdClient({ endpoints: [f.endpoint] });
      clients.push(c);
      const p = `/${f.prefix(name)}`;
      await c.put(`${p}a`, '1');
      await c.put(`${p}c`, '3');
      return { c, p };
    };

    it('get of a missing key is undefined even with keys after it', async () => {
      const { c, p } = await seeded('get');
      assert.equal(await c.get(`${p}b`), undefined);
      assert.equal((await c.get(`${p}a`))?.value.toString(), '1');
      assert.deepEqual((await c.txn({ success: [op.get(`${p}b`)] })).responses[0].kvs, []);
    });

    it('delete of one key deletes only that key', async () => {
      const { c, p } = await seeded('delete');
      assert.equal((await c.delete(`${p}b`)).deleted, 0);
      await c.txn({ success: [op.delete(`${p}0`)] });
      assert.equal((await c.delete(`${p}a`)).deleted, 1);
      assert.deepEqual((await c.range(p, { prefix: true })).kvs.map((kv) => kv.key), [`${p}c`]);
    });
  });
}
