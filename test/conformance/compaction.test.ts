// Compact: what stays readable, the errors for compacted and future revisions, and compacting
// twice. Compaction is global, so every test compacts at or after the revision it started at.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { backends } from '../helpers/backends.ts';
import { op, rev, useBackend } from '../helpers/conformance.ts';
import { callError } from '../helpers/raw-client.ts';

const COMPACTED = { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' };
const FUTURE = { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' };

describe('compaction', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);

      it('compact answers with the current revision and does not bump it', async () => {
        const p = t.prefix('header');
        await t.client.put({ key: p + 'k', value: 'v' });
        const r0 = await t.client.revision();
        const res = await t.client.compact({ revision: r0 });
        assert.equal(rev(res.header), r0);
        assert.notEqual(res.header.cluster_id, '0');
        assert.equal(await t.client.revision(), r0);
      });

      it('revisions below the compact revision are gone; the compact revision itself is readable', async () => {
        const p = t.prefix('readable');
        const r0 = await t.client.revision();
        for (const value of ['a', 'b', 'c']) await t.client.put({ key: p + 'k', value });
        await t.client.compact({ revision: r0 + 2 });
        assert.deepEqual(await callError(t.client.range({ key: p + 'k', revision: r0 + 1 })), COMPACTED);
        const at = await t.client.range({ key: p + 'k', revision: r0 + 2 });
        assert.deepEqual(at.kvs.map((kv) => [kv.value.toString(), kv.mod_revision]), [['b', String(r0 + 2)]]);
        assert.equal(rev(at.header), r0 + 3);
        const latest = await t.client.range({ key: p + 'k' });
        assert.deepEqual(latest.kvs.map((kv) => [kv.value.toString(), kv.version]), [['c', '3']], 'version survives compaction');
        assert.deepEqual(
          await callError(t.client.txn({ success: [op.get(p + 'k', { revision: r0 + 1 })] })),
          COMPACTED,
          'a range inside a txn fails the same way',
        );
      });

      it('compacting at or below an earlier compaction fails as compacted', async () => {
        const p = t.prefix('twice');
        await t.client.put({ key: p + 'k', value: 'a' });
        await t.client.put({ key: p + 'k', value: 'b' });
        const r0 = await t.client.revision();
        await t.client.compact({ revision: r0 });
        assert.deepEqual(await callError(t.client.compact({ revision: r0 })), COMPACTED);
        assert.deepEqual(await callError(t.client.compact({ revision: r0 - 1 })), COMPACTED);
      });

      it('a future revision fails for Range and for Compact', async () => {
        const p = t.prefix('future');
        const r0 = await t.client.revision();
        assert.deepEqual(await callError(t.client.range({ key: p + 'k', revision: r0 + 1 })), FUTURE);
        assert.deepEqual(await callError(t.client.compact({ revision: r0 + 1 })), FUTURE);
        assert.deepEqual(await callError(t.client.compact({ revision: r0 + 1000 })), FUTURE);
      });

      it('a deleted key stays readable at revisions between its last write and the compaction', async () => {
        const p = t.prefix('tombstone');
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'k', value: 'v' });
        await t.client.put({ key: p + 'other', value: 'v' });
        await t.client.deleteRange({ key: p + 'k' });
        await t.client.compact({ revision: r0 + 2, physical: true });
        const at = await t.client.range({ key: p + 'k', revision: r0 + 2 });
        assert.deepEqual(at.kvs.map((kv) => kv.value.toString()), ['v']);
        assert.equal((await t.client.range({ key: p + 'k' })).count, '0');
        await t.client.compact({ revision: r0 + 3 });
        assert.equal((await t.client.range({ key: p + 'k', revision: r0 + 3 })).count, '0');
      });
    });
  }
});
