// The admin API's default instance probe against real servers: grpc.health.v1 answers from a
// serve()d instance and from a plain server reporting NOT_SERVING, and traffic figures from an
// instance's advertised Prometheus endpoint.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { startAdmin, type AdminHandle, type ServicesView, type TopologyView } from '../../src/admin/index.ts';
import { serve } from '../../src/grpc/index.ts';
import { connect, type Coord } from '../../src/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { echoHandlers, echoService, startEchoServer } from '../helpers/echo.ts';
import { http, waitFor } from './admin-fixture.ts';

describe('admin instance probe', () => {
  let store: StoreHandle;
  let coord: Coord;
  let admin: AdminHandle;
  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
    coord = connect({ endpoints: [store.endpoint], namespace: '/probe/' });
    admin = await startAdmin({ coord, dashboard: false });
  });
  after(async () => {
    await admin.close();
    await coord.close();
    await store.close();
  });

  const instance = async (service: string, id: string) => {
    const r = await http<ServicesView>(admin.url, 'GET', '/api/services');
    return r.body.services.find((s) => s.name === service)?.instances.find((i) => i.id === id);
  };

  it('reports a serve()d instance as serving, from its grpc.health.v1 answer', async () => {
    const server = await serve({ coord, name: 'echo', id: 'e1', services: [[echoService().service, echoHandlers('e1')]], signals: false, log: () => {} });
    try {
      const m = await waitFor(async () => {
        const i = await instance('echo', 'e1');
        return i?.metrics?.health === 'serving' ? i.metrics : undefined;
      }, 20_000, 'health serving');
      // It advertises no Prometheus endpoint: figures are unknown, not zero.
      assert.deepEqual(m, { health: 'serving', requestsPerSecond: null, errorRate: null, p99Ms: null });
    } finally {
      await server.close({ drainDelayMs: 0 });
    }
  });

  it('reports NOT_SERVING from the health service, and not-serving when nothing answers', async () => {
    const echo = await startEchoServer('h1');
    const require = createRequire(import.meta.url);
    const { HealthImplementation } = require('grpc-health-check') as { HealthImplementation: new (s: Record<string, string>) => { addToServer(s: unknown): void } };
    new HealthImplementation({ '': 'NOT_SERVING' }).addToServer(echo.server);
    const regs = await Promise.all([
      coord.register({ name: 'plain', id: 'down', endpoints: [`grpc://${echo.address}`] }),
      coord.register({ name: 'plain', id: 'gone', endpoints: ['grpc://127.0.0.1:9'] }),
    ]);
    try {
      for (const id of ['down', 'gone']) {
        await waitFor(async () => (await instance('plain', id))?.metrics?.health === 'not-serving', 20_000, `${id} not-serving`);
      }
    } finally {
      await Promise.all(regs.map((r) => r.deregister()));
      await echo.close();
    }
  });

  it('turns two scrapes of an advertised /metrics endpoint into rps, error rate and p99', async () => {
    // A stand-in exporter whose counters grow by 30 OK + 10 failed calls, all under 50 ms, per scrape.
    let scrapes = 0;
    const exporter = createServer((req, res) => {
      scrapes++;
      const ok = 30 * scrapes;
      const bad = 10 * scrapes;
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(
        [
          `grpc_server_handled_total{grpc_service="shop.Orders",grpc_method="Create",grpc_code="OK"} ${ok}`,
          `grpc_server_handled_total{grpc_service="shop.Orders",grpc_method="Create",grpc_code="INTERNAL"} ${bad}`,
          `grpc_server_handling_seconds_bucket{grpc_service="shop.Orders",grpc_method="Create",le="0.05"} ${ok + bad}`,
          `grpc_server_handling_seconds_bucket{grpc_service="shop.Orders",grpc_method="Create",le="+Inf"} ${ok + bad}`,
          // Its own outgoing calls: 20 per scrape to inventory through etcd:///, none failed.
          `grpc_client_handled_total{target="etcd:///inventory",grpc_service="shop.Inventory",grpc_method="Reserve",grpc_code="OK"} ${20 * scrapes}`,
        ].join('\n'),
      );
    });
    await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(exporter.address() as AddressInfo).port}/metrics`;
    const reg = await coord.register({ name: 'scraped', id: 's1', endpoints: ['grpc://127.0.0.1:9', url] });
    try {
      const m = await waitFor(async () => {
        const i = await instance('scraped', 's1');
        return i?.metrics?.requestsPerSecond != null ? i.metrics : undefined;
      }, 20_000, 'figures from two scrapes');
      assert.ok(m.requestsPerSecond! > 0);
      assert.equal(m.errorRate, 0.25);
      assert.ok(m.p99Ms! > 0 && m.p99Ms! <= 50, String(m.p99Ms));
      const topo = await http<TopologyView>(admin.url, 'GET', '/api/topology');
      assert.equal(topo.body.available, true);
      assert.deepEqual(topo.body.edges.map((e) => [e.from, e.to, e.errorRate]), [['scraped', 'inventory', 0]]);
      assert.ok(topo.body.edges[0]!.requestsPerSecond > 0);
    } finally {
      await reg.deregister();
      exporter.close();
    }
  });
});
