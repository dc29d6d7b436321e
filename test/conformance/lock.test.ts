import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isCoordError, type Coord, type LockHandle } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { prefixEnd, useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';

for (const backend of backends()) {
  describe(`lock on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    it('grants one holder at a time, FIFO by arrival, with strictly increasing fencing tokens', async () => {
      const { make } = coordOn(f, 'fifo', clients);
      const cs = Array.from({ length: 5 }, make);
      const first = await cs[0].lock('res', { ttl: 5 });
      const order: number[] = [];
      let holders = 0;
      let maxHolders = 0;
      const waiters: Promise<void>[] = [];
      for (let i = 1; i < cs.length; i++) {
        waiters.push(
          cs[i].lock('res', { ttl: 5 }).then(async (h) => {
            holders++;
            maxHolders = Math.max(maxHolders, holders);
            order.push(i);
            tokens.push(h.fencingToken);
            await new Promise((r) => setTimeout(r, 20));
            holders--;
            await h.release();
          }),
        );
        // Let each waiter enqueue before the next, so arrival order is defined.
        await until(async () => (await cs[0].etcd.range(`${cs[0].lockPrefix('res')}/`, { prefix: true, countOnly: true })).count === i + 1, 5000, 'enqueue');
      }
      const tokens: number[] = [first.fencingToken];
      await first.release();
      await Promise.all(waiters);
      assert.deepEqual(order, [1, 2, 3, 4]);
      assert.equal(maxHolders, 1);
      for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i] > tokens[i - 1], `token ${tokens[i]} after ${tokens[i - 1]}`);
    });

    it('uses etcd concurrency.Mutex layout: <ns>locks/<name>/<lease-hex> under the holder lease', async () => {
      const { make, ns } = coordOn(f, 'layout', clients);
      const c = make();
      const h = await c.lock('orders/42', { ttl: 5 });
      assert.match(h.key, new RegExp(`^${ns}locks/orders/42/[0-9a-f]+$`));
      const kv = await c.etcd.get(h.key);
      assert.ok(kv);
      assert.equal(BigInt(kv.lease).toString(16), h.key.split('/').pop());
      assert.equal(kv.createRevision, h.fencingToken);
      await h.release();
      assert.equal(await c.etcd.get(h.key), undefined);
    });

    it('tryLock fails fast while held and leaves no queue entry; succeeds once free', async () => {
      const { make } = coordOn(f, 'try', clients);
      const [a, b] = [make(), make()];
      const h = await a.lock('x', { ttl: 5 });
      assert.equal(await b.tryLock('x', { ttl: 5 }), undefined);
      assert.equal((await a.etcd.range(`${a.lockPrefix('x')}/`, { prefix: true, countOnly: true })).count, 1);
      await h.release();
      const h2 = await b.tryLock('x', { ttl: 5 });
      assert.ok(h2 && h2.fencingToken > h.fencingToken);
      await h2.release();
    });

    it('an aborted waiter leaves the queue and the next waiter gets the lock', async () => {
      const { make } = coordOn(f, 'abort', clients);
      const [a, b, c] = [make(), make(), make()];
      const h = await a.lock('x', { ttl: 5 });
      const ac = new AbortController();
      const bWait = b.lock('x', { ttl: 5, signal: ac.signal });
      await until(async () => (await a.etcd.range(`${a.lockPrefix('x')}/`, { prefix: true, countOnly: true })).count === 2);
      const cWait = c.lock('x', { ttl: 5 });
      ac.abort();
      await assert.rejects(bWait, (e) => isCoordError(e, 'aborted'));
      await h.release();
      const hc = await cWait;
      assert.ok(hc.fencingToken > h.fencingToken);
      await hc.release();
    });

    it('aborts the holder signal when its lease is lost, and the next waiter proceeds', async () => {
      const { make } = coordOn(f, 'lost', clients);
      const [a, b] = [make(), make()];
      const h: LockHandle = await a.lock('x', { ttl: 5 });
      const next = b.lock('x', { ttl: 5 });
      const kv = await a.etcd.get(h.key);
      await b.etcd.leaseRevoke(kv!.lease);
      await until(() => h.signal.aborted, 8000, 'holder signal to abort');
      // The key's deletion on the holder's own-key watch usually tells first; the keepalive otherwise.
      assert.ok(isCoordError(h.signal.reason, 'lock-not-held') || isCoordError(h.signal.reason, 'lease-lost'), String(h.signal.reason));
      const h2 = await next;
      assert.ok(h2.fencingToken > h.fencingToken);
      await h2.release();
    });

    it('isHeld() sees a lease that ran out while the process was paused, before any timer has run', async () => {
      const { make } = coordOn(f, 'paused', clients);
      const h = await make().lock('x', { ttl: 2 });
      assert.equal(h.isHeld(), true);
      // Block the event loop past the TTL, as a SIGSTOP or a long GC pause would.
      const end = performance.now() + 2600;
      while (performance.now() < end);
      assert.equal(h.signal.aborted, false, 'no timer has had a chance to run yet');
      assert.equal(h.isHeld(), false);
      assert.ok(isCoordError(h.signal.reason, 'lease-lost'), String(h.signal.reason));
      await h.release();
    });

    it('releases with await using', async () => {
      const { make } = coordOn(f, 'using', clients);
      const c = make();
      let key = '';
      {
        await using h = await c.lock('x', { ttl: 5 });
        key = h.key;
        assert.ok(await c.etcd.get(key));
      }
      assert.equal(await c.etcd.get(key), undefined);
    });
  });
}

for (const backend of backends()) {
  describe(`semaphore on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    it('admits at most N holders, FIFO, and rejects a bad permit count', async () => {
      const { ns, make } = coordOn(f, 'sem', clients);
      const cs = Array.from({ length: 6 }, make);
      const keysUnder = async () => Number((await f.client.range({ key: ns, range_end: prefixEnd(ns), count_only: true })).count);
      let inside = 0;
      let peak = 0;
      const order: number[] = [];
      const enter = async (i: number) => {
        const p = await cs[i].semaphore('pool', 2, { ttl: 5 });
        inside++;
        peak = Math.max(peak, inside);
        order.push(i);
        return p;
      };
      // Two holders first; then each waiter queues only once the previous one's key is in etcd, so
      // the queue order is the order of i however loaded the machine is.
      const permits = new Map<number, Awaited<ReturnType<typeof enter>>>();
      permits.set(0, await enter(0));
      permits.set(1, await enter(1));
      const base = await keysUnder();
      for (let i = 2; i < 6; i++) {
        void enter(i).then((p) => permits.set(i, p));
        await until(async () => (await keysUnder()) >= base + (i - 1), 10_000, `waiter ${i} queued`);
      }
      assert.deepEqual(order, [0, 1], 'nobody past the two permits');
      // Each release admits exactly the longest waiting one.
      for (let released = 0; released < 4; released++) {
        inside--;
        await permits.get(released)!.release();
        await until(() => order.length === 3 + released, 10_000, `an admission after release ${released}`);
        assert.deepEqual(order, [0, 1, 2, 3, 4, 5].slice(0, 3 + released));
      }
      for (const i of [4, 5]) await permits.get(i)!.release();
      assert.equal(peak, 2);
      await assert.rejects(cs[0].semaphore('pool', 0), (e) => isCoordError(e, 'invalid-argument'));
    });
  });
}
