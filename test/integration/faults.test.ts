// Network faults between the coord client and the server, on real etcd and on coord store. The
// client under test talks through a TCP fault proxy; admin clients that set up and verify state
// talk to the server directly. Measured figures are printed as test diagnostics ("figure: …").
import assert from 'node:assert/strict';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { connect, type Coord, type KeyValue, type DiscoverySnapshot, type LockHandle, type ServiceInstance } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';
import { FaultProxy } from '../helpers/fault-proxy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inst = (id: string): ServiceInstance => ({ id, name: 'orders', version: '1.0.0', endpoints: [`grpc://127.0.0.1:${5000 + Number(id.slice(1))}`] });
const ids = (s: DiscoverySnapshot) => s.instances.map((i) => i.id).sort();
const since = (t0: number) => Math.round(performance.now() - t0);

/** Outage long enough for a 2 s lease to expire on the server and for the client to retry into it. */
const OUTAGE_MS = 5000;
/** How long after the outage ends recovery may take: reconnect backoff (≤ 2 s) + lease re-grant backoff. */
const RECOVERY_BOUND_MS = 8000;

// The two backends run side by side: each suite is mostly waiting on timers.
describe('network faults between client and server', { concurrency: 2 }, () => {
  for (const backend of backends()) {
    describe(`through a fault proxy to ${backend.name}`, { skip: backend.skip, concurrency: 1 }, () => {
      const f = useBackend(backend);
      const clients: Coord[] = [];
      const proxies: FaultProxy[] = [];
      const cleanups: Array<() => Promise<unknown>> = [];
      afterEach(async () => {
        for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
        for (const c of clients.splice(0)) c.close();
        await Promise.all(proxies.splice(0).map((p) => p.close()));
      });

      /** A client through a fresh proxy and an admin client straight to the server, in one namespace. */
      async function setup(t: TestContext, name: string) {
        const { ns, make } = coordOn(f, name, clients);
        const proxy = await FaultProxy.start(f.endpoint);
        proxies.push(proxy);
        const log: string[] = [];
        const start = performance.now();
        const client = connect({ endpoints: [proxy.endpoint], namespace: ns, log: (l) => log.push(`${since(start)} ms ${l}`) });
        clients.push(client);
        const figure = (line: string) => t.diagnostic(`figure: ${backend.name}: ${line}`);
        return { ns, proxy, client, admin: make(), log, figure };
      }

      for (const fault of ['blackhole', 'reset'] as const) {
        it(`a registration comes back under a new lease after a ${fault} longer than its TTL`, async (t) => {
          const { ns, proxy, client, admin, log, figure } = await setup(t, `reg-${fault}`);
          const key = `${ns}services/orders/i1`;
          const reg = await client.register(inst('i1'), { ttl: 2 });
          cleanups.push(() => reg.deregister());
          const events: string[] = [];
          reg.onLost(() => events.push('lost'));
          reg.onRegistered(({ lease }) => events.push(`registered ${lease}`));
          const before = await admin.etcd.get(key);
          assert.ok(before && before.lease !== '0');

          proxy[fault]();
          const t0 = performance.now();
          await until(async () => !(await admin.etcd.get(key)), OUTAGE_MS, 'the server to expire the registration lease');
          const expiredMs = since(t0);
          await sleep(OUTAGE_MS - since(t0));
          assert.deepEqual(events, ['lost'], 'the client noticed the loss during the outage');

          proxy.pass();
          const t1 = performance.now();
          const after: KeyValue = await until<KeyValue | undefined>(
            async () => {
              const kv = await admin.etcd.get(key);
              return kv && kv.lease !== before.lease ? kv : undefined;
            },
            RECOVERY_BOUND_MS,
            're-registration',
          ).then((kv) => kv!);
          const backMs = since(t1);
          figure(`${fault} ${OUTAGE_MS} ms, ttl 2 s: key expired on the server ${expiredMs} ms in; re-registered ${backMs} ms after the outage ended`);
          assert.deepEqual(JSON.parse(after.value.toString()), { ...inst('i1'), status: 'serving' });
          await until(() => events.length === 2, 2000, 'onRegistered');
          assert.deepEqual(events, ['lost', `registered ${after.lease}`], log.join('\n'));
          assert.ok((await admin.etcd.leaseTimeToLive(after.lease)).ttl > 0, 'the new lease is alive');
          await reg.deregister();
          assert.equal(await admin.etcd.get(key), undefined);
        });
      }

      it('discovery keeps the last known set through a blackhole and converges after it, missing and repeating nothing', async (t) => {
        const { proxy, client, admin, figure } = await setup(t, 'discovery');
        const regs = await Promise.all(['i1', 'i2', 'i3'].map((id) => admin.register(inst(id), { ttl: 30 })));
        for (const r of regs) cleanups.push(() => r.deregister());
        const d = client.discover('orders');
        const seen: DiscoverySnapshot[] = [];
        d.onChange((s) => seen.push(s));
        await d.ready;
        assert.deepEqual(ids(d.snapshot()), ['i1', 'i2', 'i3']);

        proxy.blackhole();
        const t0 = performance.now();
        // The watch stream goes silent without erroring: only the progress probe can tell.
        await until(() => d.snapshot().stale, 15_000, 'discovery to mark its set stale');
        const staleMs = since(t0);
        const i4 = await admin.register(inst('i4'), { ttl: 30 });
        cleanups.push(() => i4.deregister());
        await regs[1].deregister();
        await regs[2].setStatus('draining');
        await sleep(300);
        const during = d.snapshot();
        assert.equal(during.stale, true);
        assert.deepEqual(ids(during), ['i1', 'i2', 'i3'], 'the last known set is kept, not emptied');

        proxy.pass();
        const t1 = performance.now();
        const server = await admin.instances('orders');
        await until(() => !d.snapshot().stale && JSON.stringify(sorted(d.snapshot().instances)) === JSON.stringify(sorted(server)), RECOVERY_BOUND_MS, 'discovery to converge');
        figure(`discovery marked stale ${staleMs} ms into a blackhole; converged ${since(t1)} ms after it ended`);
        assert.equal(d.snapshot().instances.find((i) => i.id === 'i3')?.status, 'draining');

        // Each instance is listed in one unbroken run of snapshots: nothing removed comes back,
        // nothing added flickers.
        for (const id of ['i1', 'i2', 'i3', 'i4']) {
          const listed = seen.map((s) => s.instances.some((i) => i.id === id));
          const first = listed.indexOf(true);
          const last = listed.lastIndexOf(true);
          assert.ok(first >= 0 && listed.slice(first, last + 1).every(Boolean), `${id} listed in one run: ${listed.map(Number).join('')}`);
        }
        assert.equal(seen.at(-1)?.instances.some((i) => i.id === 'i2'), false);
        // No event applied twice or out of order. Fresh snapshots that carry changes have strictly
        // increasing revisions; the only snapshot allowed to repeat a revision is a stale/fresh flip
        // of the same set (the library announces both transitions, and the set did not change).
        const trail = seen.map((s) => `${s.revision}${s.stale ? 's' : ''}[${ids(s).join(',')}]`).join(' ');
        t.diagnostic(`${backend.name}: snapshots ${trail}`);
        for (let i = 1; i < seen.length; i++) {
          const [a, b] = [seen[i - 1], seen[i]];
          assert.ok(b.revision >= a.revision, `revision went back: ${trail}`);
          if (b.revision === a.revision) {
            assert.notEqual(b.stale, a.stale, `a snapshot repeated: ${trail}`);
            assert.deepEqual(b.instances, a.instances, `the set changed without a new revision: ${trail}`);
          }
        }
        const fresh = seen.filter((s, i) => !s.stale && (i === 0 || s.revision !== seen[i - 1].revision));
        const revs = fresh.map((s) => s.revision);
        for (let i = 1; i < revs.length; i++) assert.ok(revs[i] > revs[i - 1], `fresh revisions strictly increase: ${trail}`);
        d.close();
      });

      const lockFaults = [
        { name: 'blackhole', apply: (p: FaultProxy) => p.blackhole() },
        { name: 'delay(5000 ms), longer than the TTL', apply: (p: FaultProxy) => p.delay(5000) },
      ];
      for (const fault of lockFaults) {
        it(`a lock holder's signal aborts within its TTL under ${fault.name}, before anyone else can take the lock`, async (t) => {
          const { proxy, client, admin, figure } = await setup(t, `lock-${fault.name.split('(')[0]}`);
          const held = await client.lock('res', { ttl: 3 });
          let abortedAt = 0;
          held.signal.addEventListener('abort', () => (abortedAt = performance.now()), { once: true });
          // A contender straight on the server, queued behind the holder.
          const giveUp = new AbortController();
          const contender = admin.lock('res', { ttl: 5, signal: giveUp.signal }).then((h) => ({ h, at: performance.now() }));
          contender.catch(() => {});
          cleanups.push(async () => {
            giveUp.abort();
            await (await contender).h.release();
          });
          await until(async () => (await admin.etcd.range(`${admin.lockPrefix('res')}/`, { prefix: true, countOnly: true })).count === 2, 5000, 'the contender to queue');

          fault.apply(proxy);
          const t0 = performance.now();
          await until(() => held.signal.aborted, 5000, 'the holder to learn it lost the lock');
          const abortMs = Math.round(abortedAt - t0);
          const taken = await Promise.race([contender, sleep(5000).then(() => undefined)]);
          assert.ok(taken, 'the server expired the holder lease and the contender got the lock');
          const takenMs = Math.round(taken.at - t0);
          figure(`lock ttl 3 s under ${fault.name}: holder signal aborted after ${abortMs} ms; contender took the lock after ${takenMs} ms`);
          assert.ok(abortMs <= 3500, `signal aborted ${abortMs} ms after the fault began (TTL 3000 ms)`);
          assert.ok(abortedAt < taken.at, `the holder gave up (${abortMs} ms) before the contender took over (${takenMs} ms)`);
          assert.ok(taken.h.fencingToken > held.fencingToken);
          await held.release(); // after a loss: must neither throw nor hang
        });
      }

      it('delay(200 ms) slows locks, registration and discovery down but breaks nothing', async (t) => {
        const { ns, proxy, client, admin, figure } = await setup(t, 'slow');
        proxy.delay(200);

        let t0 = performance.now();
        const held: LockHandle = await client.lock('res', { ttl: 2 });
        const lockMs = since(t0);
        assert.ok(lockMs >= 800, `lock took ${lockMs} ms: grant and txn each cross the 400 ms round trip`);
        assert.ok(await admin.etcd.get(held.key));
        assert.equal(await admin.tryLock('res'), undefined, 'held through the slow link');

        t0 = performance.now();
        const d = client.discover('orders');
        await d.ready;
        const reg = await admin.register(inst('i1'), { ttl: 5 });
        cleanups.push(() => reg.deregister());
        await until(() => ids(d.snapshot()).includes('i1'), 5000, 'discovery to see i1');
        await reg.setStatus('draining');
        await until(() => d.snapshot().instances[0]?.status === 'draining', 5000, 'discovery to see the status change');
        const mine = await client.register(inst('i2'), { ttl: 2 });
        cleanups.push(() => mine.deregister());
        await until(() => ids(d.snapshot()).includes('i2'), 5000, 'discovery to see i2');
        const leaseBefore = (await admin.etcd.get(`${ns}services/orders/i2`))!.lease;

        // Outlive both TTLs: keepalives must keep up with the latency.
        await sleep(Math.max(0, 2600 - since(t0)));
        assert.equal(held.signal.aborted, false, 'the lock is still held');
        assert.ok(await admin.etcd.get(held.key));
        assert.equal((await admin.etcd.get(`${ns}services/orders/i2`))?.lease, leaseBefore, 'the registration kept its lease');

        t0 = performance.now();
        await held.release();
        const releaseMs = since(t0);
        assert.equal(await admin.etcd.get(held.key), undefined);
        const next = await admin.tryLock('res');
        assert.ok(next, 'free again after release');
        await next.release();
        await reg.deregister();
        await until(() => !ids(d.snapshot()).includes('i1'), 5000, 'discovery to see i1 go');
        assert.equal(d.snapshot().stale, false);
        figure(`delay 200 ms: lock ${lockMs} ms, release ${releaseMs} ms`);
        d.close();
      });
    });
  }
});

function sorted(list: ServiceInstance[]): ServiceInstance[] {
  return [...list].sort((a, b) => a.id.localeCompare(b.id));
}
