// Put and DeleteRange: the global revision, per-key create/mod/version, prev_kv, leases on keys,
// ignore_value / ignore_lease, and deleting ranges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { backends } from '../helpers/backends.ts';
import { kvView, prefixEnd, rev, useBackend } from '../helpers/conformance.ts';
import { callError } from '../helpers/raw-client.ts';

describe('kv put / delete', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);

      it('each put is one new global revision; create_revision, mod_revision and version follow', async () => {
        const p = t.prefix('revisions');
        const r0 = await t.client.revision();
        const first = await t.client.put({ key: p + 'k', value: 'v' });
        assert.equal(rev(first.header), r0 + 1, 'the reply carries the revision of the write');
        await t.client.put({ key: p + 'other', value: 'x' });
        const third = await t.client.put({ key: p + 'k', value: 'v' });
        assert.equal(rev(third.header), r0 + 3, 'writing the same value again is still a write');
        const { kvs } = await t.client.range({ key: p + 'k' });
        assert.deepEqual(kvs.map(kvView), [
          { key: p + 'k', value: 'v', create_revision: r0 + 1, mod_revision: r0 + 3, version: 2, lease: '0' },
        ]);
      });

      it('delete then re-create starts a new generation: version 1, new create_revision', async () => {
        const p = t.prefix('generation');
        const r0 = await t.client.revision();
        await t.client.put({ key: p + 'k', value: 'a' });
        await t.client.put({ key: p + 'k', value: 'b' });
        await t.client.deleteRange({ key: p + 'k' });
        await t.client.put({ key: p + 'k', value: 'c' });
        const { kvs } = await t.client.range({ key: p + 'k' });
        assert.deepEqual(kvs.map(kvView), [
          { key: p + 'k', value: 'c', create_revision: r0 + 4, mod_revision: r0 + 4, version: 1, lease: '0' },
        ]);
      });

      it('prev_kv returns the overwritten key-value, null for a new key or when not asked', async () => {
        const p = t.prefix('prev-kv');
        const r0 = await t.client.revision();
        const created = await t.client.put({ key: p + 'k', value: 'one', prev_kv: true });
        assert.equal(created.prev_kv, null);
        const updated = await t.client.put({ key: p + 'k', value: 'two', prev_kv: true });
        assert.ok(updated.prev_kv);
        assert.deepEqual(kvView(updated.prev_kv), {
          key: p + 'k', value: 'one', create_revision: r0 + 1, mod_revision: r0 + 1, version: 1, lease: '0',
        });
        const silent = await t.client.put({ key: p + 'k', value: 'three' });
        assert.equal(silent.prev_kv, null);
      });

      it('a lease attaches to the key; a later put without lease detaches it', async () => {
        const p = t.prefix('lease');
        const lease = await t.client.leaseGrant({ TTL: 60 });
        await t.client.put({ key: p + 'k', value: 'v', lease: lease.ID });
        assert.equal((await t.client.range({ key: p + 'k' })).kvs[0].lease, lease.ID);
        await t.client.put({ key: p + 'k', value: 'v2' });
        assert.equal((await t.client.range({ key: p + 'k' })).kvs[0].lease, '0');
        const ttl = await t.client.leaseTimeToLive({ ID: lease.ID, keys: true });
        assert.deepEqual(ttl.keys, [], 'the lease no longer lists the key');
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('ignore_lease keeps the current lease and writes the new value', async () => {
        const p = t.prefix('ignore-lease');
        const r0 = await t.client.revision();
        const lease = await t.client.leaseGrant({ TTL: 60 });
        await t.client.put({ key: p + 'k', value: 'a', lease: lease.ID });
        await t.client.put({ key: p + 'k', value: 'b', ignore_lease: true });
        assert.deepEqual((await t.client.range({ key: p + 'k' })).kvs.map(kvView), [
          { key: p + 'k', value: 'b', create_revision: r0 + 1, mod_revision: r0 + 2, version: 2, lease: lease.ID },
        ]);
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('ignore_value keeps the value but takes the lease of the request (none = detach)', async () => {
        const p = t.prefix('ignore-value');
        const r0 = await t.client.revision();
        const lease = await t.client.leaseGrant({ TTL: 60 });
        await t.client.put({ key: p + 'k', value: 'kept' });
        await t.client.put({ key: p + 'k', ignore_value: true, lease: lease.ID });
        assert.deepEqual((await t.client.range({ key: p + 'k' })).kvs.map(kvView), [
          { key: p + 'k', value: 'kept', create_revision: r0 + 1, mod_revision: r0 + 2, version: 2, lease: lease.ID },
        ]);
        await t.client.put({ key: p + 'k', ignore_value: true });
        assert.deepEqual((await t.client.range({ key: p + 'k' })).kvs.map(kvView), [
          { key: p + 'k', value: 'kept', create_revision: r0 + 1, mod_revision: r0 + 3, version: 3, lease: '0' },
        ]);
        await t.client.put({ key: p + 'k', ignore_value: true, ignore_lease: true });
        assert.equal((await t.client.range({ key: p + 'k' })).kvs[0].version, '4');
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('ignore_value / ignore_lease fail on a missing key or when a value / lease is given', async () => {
        const p = t.prefix('ignore-errors');
        await t.client.put({ key: p + 'k', value: 'v' });
        const r0 = await t.client.revision();
        assert.deepEqual(await callError(t.client.put({ key: p + 'missing', ignore_value: true })), {
          code: status.INVALID_ARGUMENT,
          details: 'etcdserver: key not found',
        });
        assert.deepEqual(await callError(t.client.put({ key: p + 'missing', value: 'v', ignore_lease: true })), {
          code: status.INVALID_ARGUMENT,
          details: 'etcdserver: key not found',
        });
        assert.deepEqual(await callError(t.client.put({ key: p + 'k', value: 'v', ignore_value: true })), {
          code: status.INVALID_ARGUMENT,
          details: 'etcdserver: value is provided',
        });
        assert.deepEqual(await callError(t.client.put({ key: p + 'k', lease: 5, ignore_lease: true })), {
          code: status.INVALID_ARGUMENT,
          details: 'etcdserver: lease is provided',
        });
        assert.equal(await t.client.revision(), r0, 'rejected puts do not bump the revision');
      });

      it('put with an unknown lease fails with NotFound and writes nothing', async () => {
        const p = t.prefix('unknown-lease');
        const r0 = await t.client.revision();
        assert.deepEqual(await callError(t.client.put({ key: p + 'k', value: 'v', lease: '7587861231243' })), {
          code: status.NOT_FOUND,
          details: 'etcdserver: requested lease not found',
        });
        assert.equal((await t.client.range({ key: p + 'k' })).count, '0');
        assert.equal(await t.client.revision(), r0);
      });

      it('deletes one key: deleted 1, one new revision, key gone', async () => {
        const p = t.prefix('delete-one');
        await t.client.put({ key: p + 'k', value: 'v' });
        await t.client.put({ key: p + 'k2', value: 'v' });
        const r0 = await t.client.revision();
        const res = await t.client.deleteRange({ key: p + 'k' });
        assert.equal(res.deleted, '1');
        assert.deepEqual(res.prev_kvs, [], 'prev_kvs only when asked');
        assert.equal(rev(res.header), r0 + 1);
        assert.equal((await t.client.range({ key: p + 'k' })).count, '0');
        assert.equal((await t.client.range({ key: p + 'k2' })).count, '1', 'key is exact, not a prefix');
      });

      it('deletes a range in one revision and returns prev_kvs in key order', async () => {
        const p = t.prefix('delete-range');
        for (const k of ['c', 'a', 'b', 'd']) await t.client.put({ key: p + k, value: k.toUpperCase() });
        const r0 = await t.client.revision();
        const res = await t.client.deleteRange({ key: p + 'a', range_end: p + 'd', prev_kv: true });
        assert.equal(res.deleted, '3');
        assert.equal(rev(res.header), r0 + 1, 'a range delete is one revision');
        assert.deepEqual(
          res.prev_kvs.map((kv) => [kv.key.toString(), kv.value.toString()]),
          [[p + 'a', 'A'], [p + 'b', 'B'], [p + 'c', 'C']],
        );
        const left = await t.client.range({ key: p, range_end: prefixEnd(p) });
        assert.deepEqual(left.kvs.map((kv) => kv.key.toString()), [p + 'd']);
        assert.equal(await t.client.revision(), r0 + 1);
      });

      it("deletes every key >= key with range_end '\\0'", async () => {
        // '~' sorts after the t<n>- prefixes of every other test in this suite.
        const p = '~delete-from/';
        for (const k of ['a', 'b', 'c']) await t.client.put({ key: p + k, value: 'v' });
        const res = await t.client.deleteRange({ key: p + 'b', range_end: '\0' });
        assert.equal(res.deleted, '2');
        const left = await t.client.range({ key: p, range_end: prefixEnd(p) });
        assert.deepEqual(left.kvs.map((kv) => kv.key.toString()), [p + 'a']);
      });

      it('deleting a missing key or an empty range deletes 0 and does not bump the revision', async () => {
        const p = t.prefix('delete-missing');
        const r0 = await t.client.revision();
        const single = await t.client.deleteRange({ key: p + 'nope', prev_kv: true });
        assert.equal(single.deleted, '0');
        assert.deepEqual(single.prev_kvs, []);
        assert.equal(rev(single.header), r0);
        const range = await t.client.deleteRange({ key: p, range_end: prefixEnd(p) });
        assert.equal(range.deleted, '0');
        assert.equal(rev(range.header), r0);
        assert.equal(await t.client.revision(), r0);
      });
    });
  }
});
