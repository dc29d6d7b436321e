// The demo shop's own guarantees, against real service processes on an in-process coord store:
// concurrent reservations on both inventory instances never oversell; an unpaid order is expired
// by the elected order-service leader and its stock comes back; leadership moves when the leader
// stops; `coord demo slow` reaches the instance it names.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { connect, isCoordError, type Coord } from '../../src/index.ts';
import { client as grpcClient, setup, type ServiceClientConstructor } from '../../src/grpc/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { startShop, type Shop } from '../../examples/shop/launch.ts';
import { call, shop, type Order, type Reservation, type Stock } from '../../examples/shop/lib/proto.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './admin-fixture.ts';
import { runCli } from '../helpers/cli-process.ts';

describe('demo shop', () => {
  let store: StoreHandle;
  let coord: Coord;
  let running: Shop;
  const logDir = mkdtempSync(join(tmpdir(), 'coord-shop-'));
  const clients: grpc.Client[] = [];
  const client = <C extends grpc.Client>(Service: ServiceClientConstructor<C>, target: string) => {
    const c = grpcClient(Service, target);
    clients.push(c);
    return c;
  };
  const log = (id: string) => readFileSync(join(logDir, `${id}.log`), 'utf8');

  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
    coord = connect({ endpoints: store.endpoint });
    setup({ coord });
    // Orders expire after 5 s in this test.
    await coord.config.publish('shop', 'order-limits', { maxItemsPerOrder: 10, reservationSeconds: 5 }, { format: 'json' });
    running = await startShop({ endpoints: store.endpoint, logDir });
  });
  after(async () => {
    for (const c of clients) c.close();
    await running?.close();
    await coord?.close();
    await store?.close();
  });

  it('never oversells: 40 concurrent reservations of 5 in stock, 20 on each inventory instance', async () => {
    const instances = running.instances.filter((i) => i.service === 'inventory-service');
    assert.equal(instances.length, 2);
    const direct = instances.map((i) => client(shop().InventoryService, i.endpoint.replace('grpc://', '')));
    // A call the server sheds (RESOURCE_EXHAUSTED: a busy machine) is sent again, as a client would.
    const reserve = async (n: number): Promise<Reservation> => {
      for (;;) {
        try {
          return await call(direct[n % 2], 'Reserve', { order_id: `oversell-${n}`, items: [{ sku: 'limited', quantity: 1 }] });
        } catch (e) {
          if ((e as grpc.ServiceError).code !== grpc.status.RESOURCE_EXHAUSTED) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, n) => reserve(n)));
    const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Reservation>[];
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(ok.length, 5);
    for (const r of refused) assert.equal(r.reason.code, grpc.status.FAILED_PRECONDITION, r.reason.details);
    assert.match(refused[0].reason.details, /out of stock: limited has 0, 1 wanted/);
    const stock = await call(direct[0], 'GetStock', { sku: 'limited' });
    assert.equal(stock.available, 0);
    // Reserve is idempotent per order: the same order again changes nothing.
    const again = await call(direct[1], 'Reserve', { order_id: ok[0].value.order_id, items: [{ sku: 'limited', quantity: 1 }] });
    assert.deepEqual(again.items, [{ sku: 'limited', quantity: 1 }]);
    assert.equal((await call(direct[1], 'GetStock', { sku: 'limited' })).available, 0);
  });

  it('expires an unpaid order on the leader and releases its stock; a paid one stays', async () => {
    const orders = client(shop().OrderService, 'etcd:///order-service');
    const inventory = client(shop().InventoryService, 'etcd:///inventory-service');
    const stockOf = async () => (await call(inventory, 'GetStock', { sku: 'pen' })).available;
    const start = await stockOf();
    const unpaid = await call(orders, 'CreateOrder', { user_id: 'u3', items: [{ sku: 'pen', quantity: 3 }] });
    const paid = await call(orders, 'CreateOrder', { user_id: 'u3', items: [{ sku: 'pen', quantity: 2 }] });
    assert.equal((await call(orders, 'PayOrder', { id: paid.id })).status, 'PAID');
    assert.equal(await stockOf(), start - 5);
    // Marked expired first, then its stock is released.
    await waitFor(async () => (await stockOf()) === start - 2, 30_000, 'the unpaid order to expire and its stock to come back');
    assert.equal((await call(orders, 'GetOrder', { id: unpaid.id })).status, 'EXPIRED');
    assert.equal((await call(orders, 'GetOrder', { id: paid.id })).status, 'PAID');
    await assert.rejects(call(orders, 'PayOrder', { id: unpaid.id }), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /expired/.test(e.details));
  });

  it('refuses an order over the configured limit, and follows a new limit', async () => {
    const orders = client(shop().OrderService, 'etcd:///order-service');
    const three = { user_id: 'u1', items: [{ sku: 'book', quantity: 3 }] };
    await call(orders, 'CreateOrder', three);
    await coord.config.publish('shop', 'order-limits', { maxItemsPerOrder: 2, reservationSeconds: 5 }, { format: 'json' });
    await waitFor(() => ['order-service-1', 'order-service-2'].every((id) => log(id).includes('"maxItemsPerOrder":2')), 30_000, 'both order services to reload');
    for (let i = 0; i < 4; i++) {
      await assert.rejects(call(orders, 'CreateOrder', three), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /at most 2 items per order/.test(e.details));
    }
    // The services shared their schema: an untyped publish of a bad value is refused up front.
    await assert.rejects(
      coord.config.publish('shop', 'order-limits', { maxItemsPerOrder: 'many' }, { format: 'json' }),
      (e) => isCoordError(e, 'validation') && /schema shared at .*config-schema\/shop\/order-limits/.test(e.message) && /maxItemsPerOrder/.test(e.message),
    );
    // A writer that bypasses it (here the shared schema is deleted first) still cannot break the
    // services: they refuse the value and keep the last good one.
    await coord.etcd.delete(`${coord.namespace}config-schema/shop/order-limits`);
    await coord.config.publish('shop', 'order-limits', { maxItemsPerOrder: 'many' }, { format: 'json' });
    await waitFor(() => log('order-service-1').includes('invalid value'), 30_000, 'the bad value to be reported');
    await assert.rejects(call(orders, 'CreateOrder', three), /at most 2 items/);
  });

  it('moves the order-expiry leadership when the leader stops', async () => {
    const first = await coord.leader('shop-order-expiry');
    assert.ok(first);
    const id = first.value.toString();
    const leader = running.instances.find((i) => i.id === id)!;
    process.kill(leader.pid, 'SIGTERM');
    await waitFor(async () => {
      const now = await coord.leader('shop-order-expiry');
      return now && now.value.toString() !== id;
    }, 30_000, 'another leader');
    // It resigns as soon as it starts draining, before it deregisters.
    await waitFor(() => log(id).includes('resigned leadership of shop-order-expiry'), 30_000, `${id} to log its resignation`);
    const other = id === 'order-service-1' ? 'order-service-2' : 'order-service-1';
    await waitFor(async () => (await coord.instances('order-service')).map((i) => i.id).join() === other, 30_000, `${id} to deregister`);
  });

  it('coord demo slow adds latency to the named instance only', async () => {
    const r = await runCli(['demo', 'slow', 'inventory-service', '--id', 'inventory-service-1', '--ms', '150', '--endpoints', store.endpoint]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /inventory-service-1: 150 ms added to every call \(config shop\/faults v1\)/);
    await waitFor(() => log('inventory-service-1').includes('injected latency now 150 ms'), 30_000, 'inventory-service-1 to slow down');
    assert.doesNotMatch(log('inventory-service-2'), /injected latency/);
    const bad = await runCli(['demo', 'slow', 'inventory-service', '--id', 'nope', '--endpoints', store.endpoint]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /inventory-service has no instance nope \(instances: /);
  });
});
