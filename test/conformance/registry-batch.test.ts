// A client's registrations write together: register() calls made in the same tick under the
// shared lease go to etcd as one txn of up to 128 operations (src/registry/write-batcher.ts).
// On real etcd and coord store alike: the server's revision moves once per batch, not once per
// instance; a server with a lower --max-txn-ops gets smaller batches; and a write the server
// refuses for itself (a permission) fails only its own register(), not the others of its batch.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { setUpAuth } from '../helpers/auth-setup.ts';

const inst = (i: number, name = 'orders') => ({ id: `i${i}`, name, endpoints: [`grpc://127.0.0.1:${20000 + i}`] });

describe('registrations written in batches', () => {
  for (const b of backends()) {
    describe(b.name, { skip: b.skip }, () => {
      const clients: Coord[] = [];
      after(async () => {
        for (const c of clients) await c.close();
      });
      const client = (endpoint: string, ns: string, o: { auth?: { username: string; password: string }; log?: string[] } = {}) => {
        const c = connect({ endpoints: [endpoint], namespace: ns, ...(o.auth ? { auth: o.auth } : {}), ...(o.log ? { log: (l: string) => o.log!.push(l) } : {}) });
        clients.push(c);
        return c;
      };

      describe('default server', () => {
        const t = useBackend(b);
        it('300 register() calls at once: every instance listed, the revision moves once per batch of up to 128', async () => {
          const c = client(t.endpoint, '/batch/');
          await c.register(inst(0), { ttl: 10 });
          const before = (await c.etcd.range('/batch/', { prefix: true, countOnly: true })).revision;
          const regs = await Promise.all(Array.from({ length: 300 }, (_, i) => c.register(inst(i + 1), { ttl: 10 })));
          const now = await c.etcd.range('/batch/services/orders/', { prefix: true });
          assert.equal(now.kvs.length, 301);
          assert.equal(new Set(now.kvs.map((kv) => kv.lease)).size, 1, 'one shared lease');
          // One revision per txn: 300 writes in batches of at most 128 are at least 3 txns; unbatched they were 300.
          const txns = now.revision - before;
          assert.ok(txns >= 3 && txns <= 10, `300 registrations took ${txns} revisions`);
          await Promise.all(regs.map((r) => r.deregister()));
          assert.equal((await c.etcd.range('/batch/services/orders/', { prefix: true, countOnly: true })).count, 1);
        });
      });

      describe('server with --max-txn-ops 16', () => {
        const t = useBackend(b, { maxTxnOps: 16 });
        it('a batch the server finds too large is written again in smaller ones: every register() succeeds', async () => {
          const log: string[] = [];
          const c = client(t.endpoint, '/small/', { log });
          await Promise.all(Array.from({ length: 100 }, (_, i) => c.register(inst(i), { ttl: 10 })));
          assert.equal((await c.etcd.range('/small/services/orders/', { prefix: true, countOnly: true })).count, 100);
          assert.ok(log.some((l) => /registry: etcd refused a txn of \d+ operations \(.*too many operations in txn request.*\); writing at most \d+ per txn from now on/.test(l)), log.join('\n'));
        });
      });

      describe('server with auth', () => {
        const t = useBackend(b);
        it('a write refused for its own key fails only its register(); the rest of its batch is registered', async () => {
          await setUpAuth(t.endpoint, { user: 'app', password: 'apppw', prefix: '/app/' });
          const c = client(t.endpoint, '/app/', { auth: { username: 'app', password: 'apppw' } });
          await c.register(inst(0), { ttl: 10 });
          // grpc-go's key is `<name>/<host:port>`, outside the user's /app/ prefix.
          const results = await Promise.allSettled([
            ...Array.from({ length: 20 }, (_, i) => c.register(inst(i + 1), { ttl: 10 })),
            c.register(inst(99, 'payments'), { ttl: 10, formats: ['grpc-go'] }),
          ]);
          assert.deepEqual(results.slice(0, 20).map((r) => r.status), Array(20).fill('fulfilled'));
          const last = results[20];
          assert.equal(last.status, 'rejected');
          assert.ok(isCoordError((last as PromiseRejectedResult).reason, 'permission-denied'), String((last as PromiseRejectedResult).reason));
          assert.equal((await c.etcd.range('/app/services/orders/', { prefix: true, countOnly: true })).count, 21);
          assert.equal(await c.etcd.get('/app/services/payments/i99'), undefined, 'nothing of the refused registration stays');
        });
      });
    });
  }
});
