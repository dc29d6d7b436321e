// serve()'s registry lifecycle with identical assertions on real etcd and on coord store:
// registered only once listening (under a lease), `draining` while shutting down, gone after.
// Without an etcd binary the etcd half is skipped with one line on a laptop and fails under CI=true.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { connect, type Coord } from '../../src/index.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { CoordServer } from '../../src/grpc/server-handle.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { until } from '../helpers/coord-fixture.ts';
import { echoHandlers, echoService } from '../helpers/echo.ts';
import { callWhenListed, recordRegistry } from './grpc-serve-helpers.ts';

for (const backend of backends()) {
  describe(`serve() registry lifecycle on ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    const coords: Coord[] = [];
    const closers: Array<{ close(): void }> = [];
    const servers: CoordServer[] = [];
    afterEach(async () => {
      for (const c of closers.splice(0)) c.close();
      await Promise.all(servers.splice(0).map((s) => s.close({ drainDelayMs: 0, graceMs: 0 })));
      await Promise.all(coords.splice(0).map((c) => c.close()));
    });

    it('registers under a lease once listening, is draining while it shuts down, then is gone', async () => {
      const coord = connect({ endpoints: [f.endpoint], namespace: `/${f.prefix('serve')}` });
      coords.push(coord);
      const trail = recordRegistry(coord, 'orders', 'r1');
      closers.push(trail);
      const discovery = coord.discover('orders');
      closers.push(discovery);
      await discovery.ready;
      const firstCall = callWhenListed(discovery, 'r1');

      const server = await serve({ coord, name: 'orders', id: 'r1', ttl: 5, services: [[echoService().service, echoHandlers('r1')]], signals: false, drainDelayMs: 300, log: () => {} });
      servers.push(server);
      assert.equal(await firstCall, true, 'answered as soon as it was listed');
      const kv = await coord.etcd.get(server.registration!.key);
      assert.ok(kv && kv.lease !== '0', 'the key lives under a lease');
      assert.deepEqual(JSON.parse(kv.value.toString()), { id: 'r1', name: 'orders', endpoints: [server.endpoint], status: 'serving' });

      await server.close();
      await until(() => trail.states.at(-1) === 'gone', 10_000, 'instance gone');
      assert.deepEqual(trail.states, ['serving', 'draining', 'gone']);
      assert.equal(await coord.etcd.get(server.registration!.key), undefined);
    });
  });
}
