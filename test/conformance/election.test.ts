import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isCoordError, type Coord, type Leader } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { coordOn, until } from '../helpers/coord-fixture.ts';

for (const backend of backends()) {
  describe(`election on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const clients: Coord[] = [];
    afterEach(() => clients.splice(0).forEach((c) => c.close()));

    it('elects the first candidate; the next takes over on resign with a higher fencing token', async () => {
      const { make } = coordOn(f, 'basic', clients);
      const [a, b] = [make(), make()];
      const la = await a.campaign('svc', 'a', { ttl: 5 });
      let bWon = false;
      const lbP = b.campaign('svc', 'b', { ttl: 5 }).then((l) => {
        bWon = true;
        return l;
      });
      await until(async () => (await a.etcd.range(`${a.electionPrefix('svc')}/`, { prefix: true, countOnly: true })).count === 2);
      assert.equal(bWon, false);
      assert.equal((await a.leader('svc'))?.value.toString(), 'a');
      await la.resign();
      const lb = await lbP;
      assert.ok(lb.fencingToken > la.fencingToken);
      assert.equal((await b.leader('svc'))?.value.toString(), 'b');
      assert.ok(la.signal.aborted);
      await lb.resign();
      assert.equal(await b.leader('svc'), undefined);
    });

    it('proclaim changes the value in place; observe sees every leader and value', async () => {
      const { make } = coordOn(f, 'observe', clients);
      const [a, b, o] = [make(), make(), make()];
      const ac = new AbortController();
      const seen: Array<string | undefined> = [];
      const watching = (async () => {
        for await (const l of o.observe('svc', ac.signal)) seen.push((l as Leader | undefined)?.value.toString());
      })();
      await until(() => seen.length === 1);
      const la = await a.campaign('svc', 'a1', { ttl: 5 });
      await until(() => seen.at(-1) === 'a1');
      await la.proclaim('a2');
      await until(() => seen.at(-1) === 'a2');
      const lbP = b.campaign('svc', 'b1', { ttl: 5 });
      await until(async () => (await a.etcd.range(`${a.electionPrefix('svc')}/`, { prefix: true, countOnly: true })).count === 2);
      await la.resign();
      const lb = await lbP;
      await until(() => seen.at(-1) === 'b1');
      await lb.resign();
      await until(() => seen.at(-1) === undefined && seen.length > 4);
      ac.abort();
      await watching;
      assert.deepEqual(seen.filter((v, i) => i === 0 || v !== seen[i - 1]), [undefined, 'a1', 'a2', 'b1', undefined]);
      await assert.rejects(la.proclaim('late'), (e) => isCoordError(e, 'not-leader') || isCoordError(e, 'aborted'));
    });

    it('loses leadership (signal aborts) when its lease is revoked, and the next candidate wins', async () => {
      const { make } = coordOn(f, 'lost', clients);
      const [a, b] = [make(), make()];
      const la = await a.campaign('svc', 'a', { ttl: 5 });
      const lbP = b.campaign('svc', 'b', { ttl: 5 });
      const kv = await a.etcd.get(la.key);
      await b.etcd.leaseRevoke(kv!.lease);
      await until(() => la.signal.aborted, 8000, 'leader signal');
      assert.ok(isCoordError(la.signal.reason, 'lease-lost'));
      const lb = await lbP;
      assert.ok(lb.fencingToken > la.fencingToken);
      await lb.resign();
    });
  });
}
