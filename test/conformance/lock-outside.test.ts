// Locks and permits when their keys are taken from outside (an operator's `etcdctl lease revoke`
// or `etcdctl del`): a waiter whose key vanished does not win when its turn comes (etcd's
// Mutex.Lock re-reads its own key), a holder learns of it at once rather than at its next keepalive
// reply, and a semaphore entry whose key already exists queues at that key's create revision.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isCoordError, type Coord, type LockHandle } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';

/** The lease id (decimal) of a concurrency key `<prefix>/<lease-hex>`. */
const leaseOf = (key: string) => BigInt(`0x${key.split('/').pop()}`).toString();

/** Resolves with the abort reason once `h` is no longer held. */
const lostReason = (h: LockHandle) =>
  new Promise<unknown>((resolve) => (h.signal.aborted ? resolve(h.signal.reason) : h.signal.addEventListener('abort', () => resolve(h.signal.reason), { once: true })));

for (const backend of backends()) {
  describe(`locks taken from outside on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    it('a waiter whose lease is revoked while it waits fails with lease-lost instead of winning', async () => {
      const { make } = coordOn(f, 'revoked-waiter', clients);
      const [a, b, operator] = [make(), make(), make()];
      const held = await a.lock('res', { ttl: 30 });
      const prefix = `${a.lockPrefix('res')}/`;
      const waiting = b.lock('res', { ttl: 30 }).then(
        (h) => ({ won: h.key }),
        (e: unknown) => ({ error: e }),
      );
      const keys = await until(async () => {
        const r = await operator.etcd.range(prefix, { prefix: true, keysOnly: true });
        return r.kvs.length === 2 ? r.kvs.map((kv) => kv.key) : undefined;
      }, 5000, 'the waiter enqueued');
      const waiterKey = keys!.find((k) => k !== held.key)!;
      await operator.etcd.leaseRevoke(leaseOf(waiterKey));
      await held.release();
      const outcome = await waiting;
      assert.ok('error' in outcome, `the waiter won with ${JSON.stringify(outcome)}`);
      assert.ok(isCoordError(outcome.error, 'lease-lost'), String(outcome.error));
      assert.match((outcome.error as Error).message, /vanished while waiting/);
    });

    for (const how of ['lease revoke', 'key delete'] as const) {
      it(`a holder learns of an outside ${how} from its watch, long before its keepalive (ttl 30 s)`, async () => {
        const { make } = coordOn(f, `holder-${how.replace(' ', '-')}`, clients);
        const [a, operator] = [make(), make()];
        const h = await a.lock('res', { ttl: 30 });
        assert.equal(h.isHeld(), true);
        if (how === 'lease revoke') await operator.etcd.leaseRevoke(leaseOf(h.key));
        else await operator.etcd.delete(h.key);
        // Keepalives of a 30 s lease go out every 10 s; the watch must tell well before that.
        const reason = await Promise.race([lostReason(h), new Promise((resolve) => setTimeout(() => resolve('still held after 5 s'), 5000))]);
        assert.ok(isCoordError(reason, 'lock-not-held'), String(reason));
        assert.equal(h.isHeld(), false);
        await h.release();
      });
    }

    it('a semaphore entry whose key already exists under our lease queues at that key, not at the current revision', async () => {
      const { make } = coordOn(f, 'sem-existing', clients);
      const [c, operator] = [make(), make()];
      const first = await c.semaphore('pool', 1, { ttl: 30 });
      const key = first.key;
      await first.release(); // the pooled session (and its lease) stays for the next entry
      const put = await operator.etcd.put(key, 'put by an operator', { lease: leaseOf(key) });
      await operator.etcd.put(`${f.prefix('sem-existing')}unrelated`, 'moves the revision on');
      const again = await c.semaphore('pool', 1, { ttl: 30, signal: AbortSignal.timeout(5000) });
      assert.equal(again.key, key);
      assert.equal(again.fencingToken, put.revision);
      await again.release();
    });
  });
}
