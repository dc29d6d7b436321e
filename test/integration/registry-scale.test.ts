// A short version of `npm run chaos -- registry-scale`: 1,000 instances of one client on one
// shared lease, discovery watchers on another client, then the server stopped with SIGTERM and
// restarted, then killed with SIGKILL and restarted, on real etcd and on coord store (with a data
// dir). Asserts that everything comes back (every instance listed, every watcher current), not
// how fast: timings are the bench's (`npm run bench -- registry-scale`).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect, type Coord, type Discovery, type Registration } from '../../src/index.ts';
import { requireEtcd } from '../helpers/etcd-process.ts';
import { until } from '../helpers/coord-fixture.ts';
import { killAllRestartable, startRestartable, type ServerKind } from '../helpers/restartable-server.ts';

const N = 1000;
const SERVICES = 10;
const ns = '/scale/';

after(() => killAllRestartable());

for (const kind of ['etcd', 'coord store'] as ServerKind[]) {
  describe(`1,000 registrations through server restarts on ${kind}`, { skip: kind === 'etcd' ? requireEtcd() : undefined }, () => {
    it('every instance comes back and every watcher is current after a SIGTERM and a SIGKILL restart', { timeout: 300_000 }, async () => {
      const server = await startRestartable(kind);
      const clients: Coord[] = [];
      try {
        const registrar = connect({ endpoints: [server.endpoint], namespace: ns });
        const watcher = connect({ endpoints: [server.endpoint], namespace: ns });
        const admin = connect({ endpoints: [server.endpoint], namespace: ns });
        clients.push(registrar, watcher, admin);
        const discoveries: Discovery[] = [];
        for (let s = 0; s < SERVICES; s++) discoveries.push(watcher.discover(`svc${s}`));
        await Promise.all(discoveries.map((d) => d.ready));
        const regs: Registration[] = [];
        for (let i = 0; i < N; i += 200) {
          const batch = Array.from({ length: Math.min(200, N - i) }, (_, j) => i + j);
          regs.push(...(await Promise.all(batch.map((k) => registrar.register({ id: `i${k}`, name: `svc${k % SERVICES}`, endpoints: [`grpc://127.0.0.1:${10000 + k}`] })))));
        }
        const listed = async () => (await admin.etcd.range(`${ns}services/`, { prefix: true, countOnly: true })).count;
        const current = () => discoveries.every((d) => !d.snapshot().stale && d.snapshot().instances.length === N / SERVICES);
        assert.equal(await listed(), N);
        await until(current, 60_000, 'every watcher to list every instance');
        const lease = (await admin.etcd.get(`${ns}services/svc0/i0`))!.lease;
        const leases = new Set((await admin.etcd.range(`${ns}services/`, { prefix: true })).kvs.map((kv) => kv.lease));
        assert.deepEqual([...leases], [lease], 'one shared lease for all of the client\'s instances');

        for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
          await server.stop(signal);
          await server.start();
          await until(async () => (await listed().catch(() => 0)) === N, 120_000, `every instance back after ${signal}`);
          await until(current, 120_000, `every watcher current after ${signal}`);
        }
        for (const r of regs.slice(0, 10)) await r.deregister();
        await until(async () => (await listed()) === N - 10, 30_000, 'deregistered instances to go');
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await server.close();
      }
    });
  });
}
