// The gateway on both registry backends (real etcd and coord store), reached the way the CLI
// does it: `endpoints` + `namespace` (`etcd://<endpoints>/<name>?namespace=…` targets), not a
// shared Coord. Instances registered later are found; deregistered ones leave a 503.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../../src/gateway/index.ts';
import { backends } from '../helpers/backends.ts';
import { useBackend } from '../helpers/conformance.ts';
import { until } from '../helpers/coord-fixture.ts';
import { call, GATEWAY_PROTO, startBackends, type Backends } from './gateway-fixture.ts';

for (const backend of backends()) {
  describe(`gateway over ${backend.name}`, { skip: backend.skip }, () => {
    const f = useBackend(backend);
    let services: Backends | undefined;
    let gw: Gateway;
    const ns = `/gw-${backend.name.replace(' ', '-')}/`;
    before(async () => {
      gw = await startGateway({ endpoints: f.endpoint, namespace: ns, protoFiles: [GATEWAY_PROTO], log: () => {} });
    });
    after(async () => {
      await gw?.close();
      await services?.close();
    });

    it('is 503 with no instances, then routes to instances as they register', async () => {
      const before = await call(gw, 'GET', '/v1/shelves/1');
      assert.equal(before.status, 503);
      assert.match(before.json.message!, /no instances of library/);
      services = await startBackends(f.endpoint, { namespace: ns });
      const r = await until(async () => {
        const x = await call(gw, 'GET', '/v1/shelves/12');
        return x.status === 200 ? x : undefined;
      }, 10_000, 'library reachable through the gateway');
      assert.deepEqual(r!.json, { id: '12', theme: 'theme-12' });
      assert.equal((await call(gw, 'POST', '/v1/echo', { body: { int64Value: '5' } })).json.int64Value, '5');
      await services.close();
      services = undefined;
      await until(async () => (await call(gw, 'GET', '/v1/shelves/1')).status === 503, 10_000, '503 once deregistered');
    });
  });
}
