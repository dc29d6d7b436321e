import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isCoordError, type Coord, type DiscoverySnapshot } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';

const inst = (id: string, extra: object = {}) => ({ id, name: 'orders', version: '1.0.0', endpoints: [`grpc://127.0.0.1:${5000 + Number(id.replace(/\D/g, '') || 0)}`], ...extra });

for (const backend of backends()) {
  describe(`registry and discovery on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    it('writes <ns>services/<name>/<id> as JSON under a lease and removes it on deregister', async () => {
      const { make, ns } = coordOn(f, 'layout', clients);
      const c = make();
      const reg = await c.register(inst('i1', { metadata: { zone: 'a', weight: 3 } }), { ttl: 5 });
      const kv = await c.etcd.get(`${ns}services/orders/i1`);
      assert.ok(kv && kv.lease !== '0');
      assert.deepEqual(JSON.parse(kv.value.toString()), { ...inst('i1', { metadata: { zone: 'a', weight: 3 } }), status: 'serving' });
      assert.deepEqual((await c.instances('orders')).map((i) => i.id), ['i1']);
      await reg.deregister();
      assert.equal(await c.etcd.get(`${ns}services/orders/i1`), undefined);
      assert.deepEqual(await c.instances('orders'), []);
    });

    it("closing the client deregisters its instances (lease revoked) and ends their loops", async () => {
      const { make, ns } = coordOn(f, 'close', clients);
      const [c, o] = [make(), make()];
      const reg = await c.register(inst('i1'), { ttl: 30 });
      const lease = (await o.etcd.get(`${ns}services/orders/i1`))!.lease;
      const lost: string[] = [];
      reg.onLost((e) => lost.push(e.message));
      await c.close();
      assert.equal(await o.etcd.get(`${ns}services/orders/i1`), undefined, 'gone now, not after the 30 s TTL');
      assert.equal((await o.etcd.leaseTimeToLive(lease)).ttl, -1, 'the lease is revoked');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(lost, [], 'no lease loss and no re-registration after close');
      await reg.deregister(); // still fine
    });

    it('rejects names and ids with a slash', async () => {
      const { make } = coordOn(f, 'bad', clients);
      await assert.rejects(make().register({ id: 'a/b', name: 'x', endpoints: [] }), (e) => isCoordError(e, 'invalid-argument'));
    });

    it('discovery follows adds, status and metadata changes and removals, in order', async () => {
      const { make } = coordOn(f, 'follow', clients);
      const [c, o] = [make(), make()];
      const d = o.discover('orders');
      const seen: DiscoverySnapshot[] = [];
      d.onChange((s) => seen.push(s));
      await d.ready;
      assert.deepEqual(d.snapshot().instances, []);
      const r1 = await c.register(inst('i1'), { ttl: 5 });
      const r2 = await c.register(inst('i2'), { ttl: 5 });
      await until(() => d.snapshot().instances.length === 2);
      await r1.setStatus('draining');
      await until(() => d.snapshot().instances.find((i) => i.id === 'i1')?.status === 'draining');
      await r2.setMetadata({ zone: 'b' });
      await until(() => d.snapshot().instances.find((i) => i.id === 'i2')?.metadata?.zone === 'b');
      await r1.deregister();
      await until(() => d.snapshot().instances.length === 1);
      assert.deepEqual(d.snapshot().instances.map((i) => i.id), ['i2']);
      const revs = seen.map((s) => s.revision);
      assert.deepEqual(revs, [...revs].sort((a, b) => a - b), 'snapshots arrive in revision order');
      await r2.deregister();
      d.close();
    });

    it('re-registers by itself after its lease is lost, and says so', async () => {
      const { make, ns } = coordOn(f, 'recover', clients);
      const [c, admin] = [make(), make()];
      const reg = await c.register(inst('i1'), { ttl: 5 });
      let lost = 0;
      let registered = 0;
      reg.onLost(() => lost++);
      reg.onRegistered(() => registered++);
      const before = await admin.etcd.get(`${ns}services/orders/i1`);
      await admin.etcd.leaseRevoke(before!.lease);
      await until(async () => {
        const kv = await admin.etcd.get(`${ns}services/orders/i1`);
        return kv && kv.lease !== before!.lease;
      }, 10_000, 're-registration');
      // The new key can be visible to another client a moment before this client has processed
      // its own put response and emitted the event, so wait for the event rather than race it.
      await until(() => registered >= 1, 5_000, 'registered event');
      assert.equal(lost, 1);
      await reg.deregister();
    });

    it('keeps a status or weight changed from outside through its own updates and re-registration', async () => {
      const { make, ns } = coordOn(f, 'external', clients);
      const [c, admin] = [make(), make()];
      const reg = await c.register(inst('i1', { metadata: { zone: 'a', weight: 1 } }), { ttl: 5 });
      const { patchInstance } = await import('../../src/admin/instance-actions.ts');
      await patchInstance(admin.etcd, ns, 'orders', 'i1', { status: 'draining', weight: 7 });
      await until(() => reg.current.status === 'draining', 5_000, 'the owner to adopt the outside change');
      assert.equal(reg.current.metadata?.weight, 7);
      // The owner's own update rewrites the whole record: the outside change must survive it.
      await reg.update({ version: '1.0.1' });
      const read = async () => JSON.parse((await admin.etcd.get(`${ns}services/orders/i1`))!.value.toString());
      assert.deepEqual(await read().then((v) => [v.status, v.metadata.weight, v.version]), ['draining', 7, '1.0.1']);
      // And so must a re-registration after the lease is lost.
      const before = await admin.etcd.get(`${ns}services/orders/i1`);
      await admin.etcd.leaseRevoke(before!.lease);
      await until(async () => {
        const kv = await admin.etcd.get(`${ns}services/orders/i1`);
        return kv && kv.lease !== before!.lease;
      }, 10_000, 're-registration');
      assert.deepEqual(await read().then((v) => [v.status, v.metadata.weight]), ['draining', 7]);
      // The owner can still change it back itself.
      await reg.setStatus('serving');
      assert.equal((await read()).status, 'serving');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(reg.current.status, 'serving', 'its own write is not mistaken for an outside one');
      await reg.deregister();
    });

    it('skips a malformed record with a log line instead of failing', async () => {
      const { ns } = coordOn(f, 'malformed', clients);
      const lines: string[] = [];
      const { connect } = await import('../../src/index.ts');
      const c = connect({ endpoints: [f.endpoint], namespace: ns, log: (l) => lines.push(l) });
      clients.push(c);
      await c.etcd.put(`${ns}services/orders/bad`, '{not json');
      await c.etcd.put(`${ns}services/orders/ok`, JSON.stringify(inst('ok')));
      const list = await c.instances('orders');
      assert.deepEqual(list.map((i) => i.id), ['ok']);
      assert.ok(lines.some((l) => l.includes('malformed') && l.includes('bad')), lines.join('\n'));
    });

    it('iterates snapshots as an async iterator', async () => {
      const { make } = coordOn(f, 'iter', clients);
      const [c, o] = [make(), make()];
      const d = o.discover('orders');
      const got: number[] = [];
      const done = (async () => {
        for await (const s of d) {
          got.push(s.instances.length);
          if (s.instances.length === 2) break;
        }
      })();
      const r1 = await c.register(inst('i1'), { ttl: 5 });
      const r2 = await c.register(inst('i2'), { ttl: 5 });
      await done;
      assert.equal(got[0], 0);
      assert.equal(got.at(-1), 2);
      await r1.deregister();
      await r2.deregister();
      d.close();
    });
  });
}
