// Leases: grant (IDs, TTL bounds), expiry and revoke (keys deleted in one revision, seen by
// watchers), keepalive, TimeToLive and LeaseLeases. Expiry is awaited by polling, never a sleep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { backends } from '../helpers/backends.ts';
import { eventually, eventView, prefixEnd, rev, useBackend } from '../helpers/conformance.ts';
import { callError, type Int64 } from '../helpers/raw-client.ts';

const LEASE_NOT_FOUND = { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' };
/** etcd's floor on TTLs with the default 1 s election timeout: ceil(1.5 × election timeout). */
const MIN_TTL = 2;

describe('lease', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const t = useBackend(b);

      async function leaseGone(id: Int64): Promise<true | undefined> {
        const res = await t.client.leaseTimeToLive({ ID: id });
        return res.TTL === '-1' ? true : undefined;
      }

      it('grants a lease with a server-chosen ID; the reply has the current revision', async () => {
        const r0 = await t.client.revision();
        const res = await t.client.leaseGrant({ TTL: 60 });
        assert.match(res.ID, /^[1-9][0-9]*$/, 'a positive int64');
        assert.equal(res.TTL, '60');
        assert.equal(res.error, '');
        assert.equal(rev(res.header), r0, 'granting does not bump the revision');
        assert.notEqual(res.header.cluster_id, '0');
        const other = await t.client.leaseGrant({ TTL: 60 });
        assert.notEqual(other.ID, res.ID);
        assert.equal(await t.client.revision(), r0);
        await t.client.leaseRevoke({ ID: res.ID });
        await t.client.leaseRevoke({ ID: other.ID });
      });

      it('grants a requested ID; granting it again fails with FailedPrecondition', async () => {
        const res = await t.client.leaseGrant({ TTL: 60, ID: 4242 });
        assert.equal(res.ID, '4242');
        assert.deepEqual(await callError(t.client.leaseGrant({ TTL: 60, ID: 4242 })), {
          code: status.FAILED_PRECONDITION,
          details: 'etcdserver: lease already exists',
        });
        await t.client.leaseRevoke({ ID: 4242 });
      });

      it(`raises a TTL below the minimum to ${MIN_TTL} s`, async () => {
        for (const ttl of [1, 0]) {
          const res = await t.client.leaseGrant({ TTL: ttl });
          assert.equal(res.TTL, String(MIN_TTL), `TTL ${ttl}`);
          const live = await t.client.leaseTimeToLive({ ID: res.ID });
          assert.equal(live.grantedTTL, String(MIN_TTL));
          await t.client.leaseRevoke({ ID: res.ID });
        }
      });

      it('accepts a TTL up to 9000000000 s and rejects a larger one with OutOfRange', async () => {
        const max = await t.client.leaseGrant({ TTL: '9000000000' });
        assert.equal(max.TTL, '9000000000');
        await t.client.leaseRevoke({ ID: max.ID });
        assert.deepEqual(await callError(t.client.leaseGrant({ TTL: '9000000001' })), {
          code: status.OUT_OF_RANGE,
          details: 'etcdserver: too large lease TTL',
        });
      });

      it('expiry deletes all keys of the lease in one revision, seen by a watcher', async () => {
        const p = t.prefix('expiry');
        const watch = t.client.watchStream();
        await watch.watch({ key: p, range_end: prefixEnd(p), prev_kv: true });
        const lease = await t.client.leaseGrant({ TTL: MIN_TTL });
        await t.client.put({ key: p + 'a', value: '1', lease: lease.ID });
        await t.client.put({ key: p + 'b', value: '2', lease: lease.ID });
        await t.client.put({ key: p + 'keep', value: '3' });
        await watch.collect((events) => events.length === 3);
        const attached = await t.client.leaseTimeToLive({ ID: lease.ID, keys: true });
        assert.ok(Number(attached.TTL) > 0, 'not expired yet');
        const r0 = await t.client.revision();

        await eventually('lease expiry', () => leaseGone(lease.ID), { timeoutMs: 15_000 });
        const { events, responses } = await watch.collect((events) => events.length === 2, 5000);
        assert.equal(responses.length, 1, 'one response for the one revision');
        assert.deepEqual(events.map(eventView), [
          { type: 'DELETE', key: p + 'a', value: '', mod_revision: r0 + 1, prev_value: '1' },
          { type: 'DELETE', key: p + 'b', value: '', mod_revision: r0 + 1, prev_value: '2' },
        ]);
        assert.equal(events[0].prev_kv?.lease, lease.ID);
        assert.equal(rev(responses[0].header), r0 + 1);
        assert.equal(await t.client.revision(), r0 + 1);
        const left = await t.client.range({ key: p, range_end: prefixEnd(p) });
        assert.deepEqual(left.kvs.map((kv) => kv.key.toString()), [p + 'keep']);

        // After expiry the lease is unknown everywhere.
        const ttl = await t.client.leaseTimeToLive({ ID: lease.ID, keys: true });
        assert.deepEqual({ ID: ttl.ID, TTL: ttl.TTL, grantedTTL: ttl.grantedTTL, keys: ttl.keys }, {
          ID: lease.ID, TTL: '-1', grantedTTL: '0', keys: [],
        });
        assert.ok(!(await t.client.leaseLeases()).leases.some((l) => l.ID === lease.ID));
        const keepAlive = t.client.keepAliveStream();
        keepAlive.send(lease.ID);
        const renewed = await keepAlive.next();
        assert.equal(renewed.TTL, '0');
        assert.deepEqual(await callError(t.client.leaseRevoke({ ID: lease.ID })), LEASE_NOT_FOUND);
        keepAlive.close();
        watch.close();
      });

      it('expiry of a lease without keys does not bump the revision', async () => {
        const lease = await t.client.leaseGrant({ TTL: MIN_TTL });
        const r0 = await t.client.revision();
        await eventually('lease expiry', () => leaseGone(lease.ID), { timeoutMs: 15_000 });
        assert.equal(await t.client.revision(), r0);
      });

      it('revoke deletes all keys of the lease in one revision; the reply carries it', async () => {
        const p = t.prefix('revoke');
        const watch = t.client.watchStream();
        await watch.watch({ key: p, range_end: prefixEnd(p) });
        const lease = await t.client.leaseGrant({ TTL: 60 });
        await t.client.put({ key: p + 'a', value: '1', lease: lease.ID });
        await t.client.put({ key: p + 'b', value: '2', lease: lease.ID });
        await watch.collect((events) => events.length === 2);
        const r0 = await t.client.revision();
        const res = await t.client.leaseRevoke({ ID: lease.ID });
        assert.equal(rev(res.header), r0 + 1);
        const { events, responses } = await watch.collect((events) => events.length === 2);
        assert.equal(responses.length, 1);
        assert.deepEqual(events.map(eventView), [
          { type: 'DELETE', key: p + 'a', value: '', mod_revision: r0 + 1 },
          { type: 'DELETE', key: p + 'b', value: '', mod_revision: r0 + 1 },
        ]);
        assert.equal((await t.client.range({ key: p, range_end: prefixEnd(p) })).count, '0');
        assert.deepEqual(await callError(t.client.leaseRevoke({ ID: lease.ID })), LEASE_NOT_FOUND);
        watch.close();
      });

      it('revoking a lease without keys does not bump the revision', async () => {
        const lease = await t.client.leaseGrant({ TTL: 60 });
        const r0 = await t.client.revision();
        const res = await t.client.leaseRevoke({ ID: lease.ID });
        assert.equal(rev(res.header), r0);
        assert.equal(await t.client.revision(), r0);
      });

      it('revoking an unknown lease fails with NotFound', async () => {
        assert.deepEqual(await callError(t.client.leaseRevoke({ ID: '123456789' })), LEASE_NOT_FOUND);
      });

      it('keepalive answers with the granted TTL; an unknown lease gets TTL 0', async () => {
        const lease = await t.client.leaseGrant({ TTL: 30 });
        const r0 = await t.client.revision();
        const stream = t.client.keepAliveStream();
        stream.send(lease.ID);
        const first = await stream.next();
        assert.deepEqual({ ID: first.ID, TTL: first.TTL }, { ID: lease.ID, TTL: '30' });
        assert.equal(rev(first.header), r0);
        assert.notEqual(first.header.cluster_id, '0');
        stream.send('987654321');
        const unknown = await stream.next();
        assert.deepEqual({ ID: unknown.ID, TTL: unknown.TTL }, { ID: '987654321', TTL: '0' });
        assert.equal(rev(unknown.header), r0);
        stream.send(lease.ID);
        assert.equal((await stream.next()).TTL, '30', 'one stream serves many keepalives');
        stream.close();
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('keepalives keep a short lease and its keys alive past its TTL', async () => {
        const p = t.prefix('kept-alive');
        const lease = await t.client.leaseGrant({ TTL: MIN_TTL });
        await t.client.put({ key: p + 'k', value: 'v', lease: lease.ID });
        const stream = t.client.keepAliveStream();
        const until = Date.now() + (MIN_TTL + 1.5) * 1000;
        while (Date.now() < until) {
          stream.send(lease.ID);
          assert.equal((await stream.next()).TTL, String(MIN_TTL));
          await new Promise((r) => setTimeout(r, 500));
        }
        assert.equal((await t.client.range({ key: p + 'k' })).count, '1');
        assert.ok(Number((await t.client.leaseTimeToLive({ ID: lease.ID })).TTL) > 0);
        stream.close();
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('TimeToLive reports remaining and granted TTL, and the keys only when asked', async () => {
        const p = t.prefix('ttl');
        const lease = await t.client.leaseGrant({ TTL: 60 });
        await t.client.put({ key: p + 'b', value: 'v', lease: lease.ID });
        await t.client.put({ key: p + 'a', value: 'v', lease: lease.ID });
        const r0 = await t.client.revision();
        const withKeys = await t.client.leaseTimeToLive({ ID: lease.ID, keys: true });
        assert.equal(withKeys.ID, lease.ID);
        assert.equal(withKeys.grantedTTL, '60');
        // etcd truncates the remaining time: 59 right after granting 60.
        assert.ok(Number(withKeys.TTL) >= 58 && Number(withKeys.TTL) <= 60, `TTL ${withKeys.TTL}`);
        assert.deepEqual(withKeys.keys.map((k) => k.toString()).sort(), [p + 'a', p + 'b']);
        assert.equal(rev(withKeys.header), r0);
        const withoutKeys = await t.client.leaseTimeToLive({ ID: lease.ID });
        assert.deepEqual(withoutKeys.keys, []);
        await t.client.leaseRevoke({ ID: lease.ID });
      });

      it('TimeToLive of an unknown lease succeeds with TTL -1 and grantedTTL 0', async () => {
        const r0 = await t.client.revision();
        const res = await t.client.leaseTimeToLive({ ID: '55555', keys: true });
        assert.deepEqual({ ID: res.ID, TTL: res.TTL, grantedTTL: res.grantedTTL, keys: res.keys }, {
          ID: '55555', TTL: '-1', grantedTTL: '0', keys: [],
        });
        assert.equal(rev(res.header), r0);
      });

      it('LeaseLeases lists live leases and drops revoked ones', async () => {
        const a = await t.client.leaseGrant({ TTL: 60 });
        const b2 = await t.client.leaseGrant({ TTL: 60 });
        const r0 = await t.client.revision();
        const listed = await t.client.leaseLeases();
        const ids = listed.leases.map((l) => l.ID);
        assert.ok(ids.includes(a.ID) && ids.includes(b2.ID), JSON.stringify(ids));
        assert.equal(rev(listed.header), r0);
        await t.client.leaseRevoke({ ID: a.ID });
        const after = (await t.client.leaseLeases()).leases.map((l) => l.ID);
        assert.ok(!after.includes(a.ID) && after.includes(b2.ID), JSON.stringify(after));
        await t.client.leaseRevoke({ ID: b2.ID });
      });
    });
  }
});
